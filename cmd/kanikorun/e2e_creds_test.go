package main

// End-to-end tests of issue 3 (credentials resolved on the host) against
// the real Docker Engine, the stand-in executor and the basic-auth
// loopback registry: the whole CLI runs in-process (or as the built binary
// where a signal is needed), the executor runs as a real container, and
// the registry tells what the executor was able to do.

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/image"

	"github.com/kanikorun/kanikorun/creds/credstest"
	"github.com/kanikorun/kanikorun/internal/spec"
	"github.com/kanikorun/kanikorun/internal/testbed"
)

// ecStore is the credential store the tests install on PATH.
const ecStore = "kanikorun-e2e"

// The test credential helper is built once per test process, into a
// directory of its own under binDir (which TestMain removes), before any
// test points TMPDIR elsewhere.
var (
	ecHelperOnce sync.Once
	ecHelperBin  string
	ecHelperErr  error
)

// ecHelperBinary returns the built test credential helper.
func ecHelperBinary(t *testing.T) string {
	t.Helper()
	ecHelperOnce.Do(func() {
		dir, err := os.MkdirTemp(binDir, "e2e-creds-helper-")
		if err != nil {
			ecHelperErr = err
			return
		}
		ecHelperBin, ecHelperErr = credstest.BuildTo(dir)
	})
	if ecHelperErr != nil {
		t.Fatal(ecHelperErr)
	}
	return ecHelperBin
}

// ecSetup builds what every build test needs before it isolates the
// environment (go build must not write into the test's TMPDIR), then
// isolates it, installs the test helper under names and returns the
// isolated TMPDIR.
func ecSetup(t *testing.T, names ...string) (tmp string) {
	t.Helper()
	bin := ecHelperBinary(t)
	tmp = isolate(t)
	t.Setenv("DOCKER_AUTH_CONFIG", "")
	if len(names) > 0 {
		credstest.Install(t, bin, names...)
	}
	return tmp
}

// ecConfigDir writes config.json with content into a fresh directory
// and returns the directory, for --docker-config.
func ecConfigDir(t *testing.T, content string) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "config.json"), []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return dir
}

// ecJSON encodes v as JSON for building config files.
func ecJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// ecBasicAuth is the "auth" value of an inline config.json entry.
func ecBasicAuth(user, pass string) string {
	return base64.StdEncoding.EncodeToString([]byte(user + ":" + pass))
}

// ecPushBase pushes a base image with /bin/sh (so RUN works) and a marker
// file to r, and returns its reference.
func ecPushBase(t *testing.T, r *testbed.Registry, repo string) string {
	t.Helper()
	ref, err := r.PushBase(context.Background(), repo, map[string]string{"bin/sh": "#!", "etc/base.txt": "base of " + repo}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	return ref
}

// ecImageFiles fetches ref from reg and returns its flattened filesystem and
// digest.
func ecImageFiles(t *testing.T, r *testbed.Registry, ref string) (map[string]string, string) {
	t.Helper()
	img, err := r.Image(ref)
	if err != nil {
		t.Fatalf("fetching %s: %v", ref, err)
	}
	files, err := testbed.Files(img)
	if err != nil {
		t.Fatal(err)
	}
	d, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return files, d.String()
}

// ecSecretForms returns every way secret can show up in text: as is, and
// base64-encoded (standard and URL alphabets) inside any larger encoded
// value such as an "auth" field or an X-Registry-Auth header. For each of
// the three byte alignments it keeps the run of base64 characters that
// depends on the secret alone, so an embedded encoding matches too.
func ecSecretForms(secret string) []string {
	forms := []string{secret}
	for skip := 0; skip < 3; skip++ {
		rest := secret[skip:]
		rest = rest[:len(rest)/3*3]
		if len(rest) < 6 {
			continue
		}
		forms = append(forms,
			base64.StdEncoding.EncodeToString([]byte(rest)),
			base64.URLEncoding.EncodeToString([]byte(rest)))
	}
	return forms
}

// ecAssertNoSecret fails when text holds secret in any form of ecSecretForms.
func ecAssertNoSecret(t *testing.T, where, text, secret string) {
	t.Helper()
	for _, f := range ecSecretForms(secret) {
		if strings.Contains(text, f) {
			t.Errorf("the secret (as %q) appears in %s:\n%s", f, where, text)
			return
		}
	}
}

// ecLinesWith returns the lines of text that start with prefix.
func ecLinesWith(text, prefix string) []string {
	var out []string
	for _, l := range strings.Split(text, "\n") {
		if strings.HasPrefix(l, prefix) {
			out = append(out, l)
		}
	}
	return out
}

// ecFilesUnder returns every regular file under dir with its content, by
// path relative to dir.
func ecFilesUnder(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Type().IsRegular() {
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			rel, _ := filepath.Rel(dir, p)
			out[rel] = string(b)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// ecRequestsSince returns the registry's requests after the first n.
func ecRequestsSince(r *testbed.Registry, n int) []testbed.Request {
	return r.Requests()[n:]
}

// A config whose secrets live in a credential store (credsStore) pushes
// through kanikorun, which resolves them on the host; the same raw config
// mounted into the executor, as everyone does, fails: the helper program
// does not exist inside the executor image (kaniko issue 664).
func TestE2ECredsStorePushWhereRawConfigFails(t *testing.T) {
	cli := testbed.RequireDocker(t)
	tmp := ecSetup(t, ecStore)
	credstest.Store(t, ecStore, map[string]credstest.Cred{reg.Addr: {Username: reg.Username, Secret: reg.Password}})
	cfgDir := ecConfigDir(t, ecJSON(t, map[string]any{"credsStore": ecStore}))
	ctxDir := buildContext(t, map[string]string{
		"Dockerfile": "FROM scratch\nCOPY hello.txt /hello.txt\n",
		"hello.txt":  "hello from credsStore",
	})
	dest := reg.Ref("e2e-creds/store:1")

	res := kanikorun(t, "build", "-t", dest, "--executor-image", executorImage, "--executor-pull", "never", "--docker-config", cfgDir, ctxDir)
	if res.code != 0 {
		t.Fatalf("build through kanikorun failed:\n%s", res)
	}
	files, digest := ecImageFiles(t, reg, dest)
	if files["hello.txt"] != "hello from credsStore" {
		t.Errorf("pushed image files = %v, want hello.txt", files)
	}
	if got := res.lastLine(); got != digest {
		t.Errorf("kanikorun printed digest %q, registry has %q", got, digest)
	}
	assertNothingLeft(t, ctxDir, tmp)

	// The contrast: the stand-in run directly with exactly the arguments
	// kanikorun gave it, but the user's raw config.json mounted.
	argv, err := testbed.ParseArgv(res.stderr)
	if err != nil {
		t.Fatal(err)
	}
	before := len(reg.Requests())
	raw, err := testbed.Run(context.Background(), cli, testbed.RunOptions{
		Image: executorImage,
		Args:  argv,
		Binds: []testbed.Bind{
			{Source: ctxDir, Target: spec.WorkspaceDir, ReadOnly: true},
			{Source: filepath.Join(cfgDir, "config.json"), Target: spec.DockerConfigPath, ReadOnly: true},
		},
		Labels: testbed.Labels(t),
	})
	if err != nil {
		t.Fatal(err)
	}
	if raw.ExitCode != 1 {
		t.Errorf("raw config mounted: exit %d, want 1\n%s", raw.ExitCode, raw.Stderr)
	}
	if !strings.Contains(raw.Stderr, `exec: "docker-credential-`+ecStore+`": executable file not found`) || !strings.Contains(raw.Stderr, "error checking push permissions") {
		t.Errorf("raw config mounted: stderr does not blame the missing helper at the push check:\n%s", raw.Stderr)
	}
	for _, q := range ecRequestsSince(reg, before) {
		if q.Method == http.MethodPut && strings.HasPrefix(q.Path, "/v2/e2e-creds/store/") {
			t.Errorf("the executor with the raw config pushed something: %+v", q)
		}
	}
	if ids, err := testbed.Leftovers(context.Background(), cli, testbed.Labels(t)); err != nil || len(ids) > 0 {
		t.Errorf("reference containers left: %v %v", ids, err)
	}
}

// Per-registry credHelpers win over credsStore (here a helper that fails
// and prints its store), and inline auths work alone; both push for real.
func TestE2ECredsHelpersAndInlineAuthsPush(t *testing.T) {
	testbed.RequireDocker(t)
	const perRegistry = "kanikorun-e2e-reg"
	tests := []struct {
		name   string
		config func(t *testing.T) string
		want   string // the CREDENTIALS column of the registry's row
	}{{
		name: "credHelpers",
		config: func(t *testing.T) string {
			credstest.Store(t, perRegistry, map[string]credstest.Cred{reg.Addr: {Username: reg.Username, Secret: reg.Password}})
			credstest.Store(t, "kanikorun-e2e-broken", map[string]credstest.Cred{reg.Addr: {Username: reg.Username, Secret: "from-the-store"}})
			return ecJSON(t, map[string]any{
				"credsStore":  "kanikorun-e2e-broken",
				"credHelpers": map[string]string{reg.Addr: perRegistry, "other.example.com": "kanikorun-e2e-broken"},
			})
		},
		want: "helper " + perRegistry,
	}, {
		name: "inline auths",
		config: func(t *testing.T) string {
			return ecJSON(t, map[string]any{"auths": map[string]any{
				reg.Addr:            map[string]string{"auth": ecBasicAuth(reg.Username, reg.Password)},
				"other.example.com": map[string]string{"auth": ecBasicAuth("other", "other-secret")},
			}})
		},
		want: "inline",
	}}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tmp := ecSetup(t, perRegistry, "kanikorun-e2e-broken")
			cfgDir := ecConfigDir(t, tt.config(t))
			content := "pushed with " + tt.name
			ctxDir := buildContext(t, map[string]string{"Dockerfile": "FROM scratch\nCOPY f.txt /f.txt\n", "f.txt": content})
			dest := reg.Ref("e2e-creds/helpers:" + string(rune('a'+i)))

			table := kanikorun(t, "creds", "-t", dest, "--executor-image", executorImage, "--docker-config", cfgDir, ctxDir)
			if table.code != 0 {
				t.Fatalf("creds:\n%s", table)
			}
			if row := ecTableRow(t, table.stdout, reg.Addr); row[3] != tt.want || row[1] != "push" {
				t.Errorf("creds row for %s = %q, want push from %q", reg.Addr, row, tt.want)
			}
			if strings.Contains(table.stdout, "other.example.com") {
				t.Errorf("creds lists a registry the build does not touch:\n%s", table.stdout)
			}

			res := kanikorun(t, "build", "-t", dest, "--executor-image", executorImage, "--executor-pull", "never", "--docker-config", cfgDir, ctxDir)
			if res.code != 0 {
				t.Fatalf("build:\n%s", res)
			}
			if files, _ := ecImageFiles(t, reg, dest); files["f.txt"] != content {
				t.Errorf("pushed files = %v, want f.txt %q", files, content)
			}
			for _, s := range []string{"from-the-store", "exploded", "other-secret"} {
				if strings.Contains(res.stdout+res.stderr, s) {
					t.Errorf("output holds %q:\n%s", s, res)
				}
			}
			ecAssertNoSecret(t, "build output", res.stdout+res.stderr, reg.Password)
			assertNothingLeft(t, ctxDir, tmp)
		})
	}
}

// ecTableRow returns the fields of the row of the registries table that
// starts with registry: REGISTRY, ACCESS, FOR, CREDENTIALS (the last two
// may contain spaces; columns are separated by two or more spaces).
func ecTableRow(t *testing.T, table, registry string) []string {
	t.Helper()
	lines := strings.Split(strings.TrimRight(table, "\n"), "\n")
	if len(lines) == 0 || strings.Join(strings.Fields(lines[0]), " ") != "REGISTRY ACCESS FOR CREDENTIALS" {
		t.Fatalf("no registries table header in:\n%s", table)
	}
	// Column starts, from the header.
	h := lines[0]
	cols := []int{0, strings.Index(h, "ACCESS"), strings.Index(h, "FOR"), strings.Index(h, "CREDENTIALS")}
	for _, l := range lines[1:] {
		if !strings.HasPrefix(l, registry+" ") {
			continue
		}
		row := make([]string, 4)
		for i := range cols {
			end := len(l)
			if i+1 < len(cols) {
				end = min(cols[i+1], len(l))
			}
			row[i] = strings.TrimSpace(l[min(cols[i], len(l)):end])
		}
		return row
	}
	t.Fatalf("no row for %s in:\n%s", registry, table)
	return nil
}

// Docker Hub's key spellings all give the FROM image's registry its
// credentials. There is no Hub here, so this is checked where it is
// decided: the registries table of `kanikorun creds`.
func TestE2ECredsDockerHubSpellings(t *testing.T) {
	const hubHelper = "kanikorun-e2e-hub"
	ctxDir := buildContext(t, map[string]string{"Dockerfile": "FROM alpine:3.20 AS a\nFROM docker.io/library/busybox\nCOPY --from=a /etc/os-release /x\n"})
	spellings := []string{"docker.io", "index.docker.io", "https://index.docker.io/v1/", "registry-1.docker.io", "https://registry-1.docker.io"}
	type tc struct {
		name, config, want string
		store              map[string]credstest.Cred
	}
	var tests []tc
	for _, s := range spellings {
		tests = append(tests,
			tc{name: "auths " + s, config: ecJSON(t, map[string]any{"auths": map[string]any{s: map[string]string{"auth": ecBasicAuth("hubuser", "hub-secret-1")}}}), want: "inline"},
			tc{name: "credHelpers " + s, config: ecJSON(t, map[string]any{"credHelpers": map[string]string{s: hubHelper}}), want: "helper " + hubHelper,
				store: map[string]credstest.Cred{"https://index.docker.io/v1/": {Username: "hubuser", Secret: "hub-secret-2"}}},
			tc{name: "credsStore keyed " + s, config: ecJSON(t, map[string]any{"credsStore": hubHelper}), want: "helper " + hubHelper,
				store: map[string]credstest.Cred{s: {Username: "hubuser", Secret: "hub-secret-3"}}},
		)
	}
	// Desktop-style token keys name no registry password.
	tests = append(tests, tc{name: "access-token key is not a credential", config: ecJSON(t, map[string]any{"auths": map[string]any{"https://index.docker.io/v1/access-token": map[string]string{"auth": ecBasicAuth("hubuser", "hub-secret-4")}}}), want: "none"})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ecSetup(t, hubHelper)
			credstest.Store(t, hubHelper, tt.store)
			cfgDir := ecConfigDir(t, tt.config)
			res := kanikorun(t, "creds", "--no-push", "--executor-image", spec.DefaultExecutorImage, "--docker-config", cfgDir, ctxDir)
			if res.code != 0 {
				t.Fatalf("creds:\n%s", res)
			}
			lines := strings.Split(strings.TrimRight(res.stdout, "\n"), "\n")
			if len(lines) != 2 {
				t.Errorf("want the header and one row for Docker Hub, got:\n%s", res.stdout)
			}
			row := ecTableRow(t, res.stdout, "index.docker.io")
			if row[1] != "pull" || row[3] != tt.want {
				t.Errorf("Docker Hub row = %q, want pull from %q", row, tt.want)
			}
			if strings.Contains(res.stdout+res.stderr, "hub-secret") || strings.Contains(res.stdout+res.stderr, "hubuser") {
				t.Errorf("creds output holds a credential:\n%s", res)
			}
		})
	}
}

// A wrong password reaches the registry, which answers 401: the build
// exits with the executor's code 1, its UNAUTHORIZED line is passed
// through, and kanikorun adds one hint line.
func TestE2ECredsWrongPassword(t *testing.T) {
	testbed.RequireDocker(t)
	tmp := ecSetup(t)
	wrong := "wrong-" + testbed.RandomPassword()
	cfgDir := ecConfigDir(t, ecJSON(t, map[string]any{"auths": map[string]any{reg.Addr: map[string]string{"auth": ecBasicAuth(reg.Username, wrong)}}}))
	ctxDir := buildContext(t, map[string]string{"Dockerfile": "FROM scratch\nCOPY f /f\n", "f": "f"})
	before := reg.Unauthorized()

	res := kanikorun(t, "build", "-t", reg.Ref("e2e-creds/wrong:1"), "--executor-image", executorImage, "--executor-pull", "never", "--docker-config", cfgDir, ctxDir)
	if res.code != 1 {
		t.Errorf("exit %d, want the executor's 1\n%s", res.code, res)
	}
	if reg.Unauthorized() == before {
		t.Error("the registry answered no 401: the wrong password never reached it")
	}
	var unauthorized []string
	for _, l := range strings.Split(res.stderr, "\n") {
		if strings.Contains(l, "UNAUTHORIZED: authentication required") && !strings.HasPrefix(l, "kanikorun:") {
			unauthorized = append(unauthorized, l)
		}
	}
	if len(unauthorized) == 0 {
		t.Errorf("no UNAUTHORIZED line from the executor:\n%s", res.stderr)
	}
	hints := ecLinesWith(res.stderr, "kanikorun: hint: ")
	if len(hints) != 1 || !strings.Contains(hints[0], "kanikorun creds") || !strings.Contains(hints[0], "docker login") {
		t.Errorf("want one credentials hint line, got %q\n%s", hints, res.stderr)
	}
	if len(unauthorized) > 0 && len(hints) > 0 && strings.Index(res.stderr, unauthorized[0]) > strings.Index(res.stderr, hints[0]) {
		t.Error("the hint comes before the executor's error")
	}
	ecAssertNoSecret(t, "output", res.stdout+res.stderr, wrong)
	if _, err := reg.Image("e2e-creds/wrong:1"); err == nil {
		t.Error("an image was pushed with a wrong password")
	}
	assertNothingLeft(t, ctxDir, tmp)
}

// ecHelperFailures are the two ways a configured helper gives nothing: it
// is not installed, or it fails after printing its whole store (secrets
// included), which kanikorun must never repeat.
var ecHelperFailures = []struct {
	name, helper string
	short        string // the table's words for it
}{
	{"missing", "nonexistent", "not found"},
	{"failing", "kanikorun-e2e-broken", "failed"},
}

// A destination whose helper is missing or fails stops the build before
// any container is created: nothing reaches the registry, no executor
// output appears, and stderr is one line naming the registry and the
// helper.
func TestE2ECredsHelperFailsForDestination(t *testing.T) {
	cli := testbed.RequireDocker(t)
	for _, tt := range ecHelperFailures {
		t.Run(tt.name, func(t *testing.T) {
			tmp := ecSetup(t, "kanikorun-e2e-broken")
			own := testbed.NewRegistry(t) // nobody else's traffic
			credstest.Store(t, "kanikorun-e2e-broken", map[string]credstest.Cred{own.Addr: {Username: own.Username, Secret: own.Password}})
			cfgDir := ecConfigDir(t, ecJSON(t, map[string]any{"credHelpers": map[string]string{own.Addr: tt.helper}}))
			ctxDir := buildContext(t, map[string]string{"Dockerfile": "FROM scratch\nCOPY f /f\n", "f": "f"})

			res := kanikorun(t, "build", "-t", own.Ref("app:1"), "--executor-image", executorImage, "--executor-pull", "never", "--docker-config", cfgDir, ctxDir)
			if res.code != exitTool {
				t.Errorf("exit %d, want %d (kanikorun's own failure)\n%s", res.code, exitTool, res)
			}
			lines := strings.Split(strings.TrimRight(res.stderr, "\n"), "\n")
			if len(lines) != 1 || !strings.HasPrefix(lines[0], "kanikorun: cannot get credentials for a registry the build pushes to: ") ||
				!strings.Contains(lines[0], `"`+own.Addr+`"`) || !strings.Contains(lines[0], `"docker-credential-`+tt.helper+`"`) {
				t.Errorf("want one line naming %s and the helper, got:\n%s", own.Addr, res.stderr)
			}
			if res.stdout != "" {
				t.Errorf("stdout = %q, want nothing", res.stdout)
			}
			ecAssertNoSecret(t, "the output", res.stdout+res.stderr, own.Password)
			if strings.Contains(res.stderr, "exploded") {
				t.Errorf("the helper's output was repeated:\n%s", res.stderr)
			}
			if strings.Contains(res.stderr, testbed.ArgvMarker) {
				t.Error("the executor ran")
			}
			if n := len(own.Requests()); n != 0 {
				t.Errorf("the registry got %d requests, want none: %v", n, own.Requests())
			}
			if ids, err := testbed.Leftovers(context.Background(), cli, map[string]string{spec.ContextLabel: ctxDir}); err != nil || len(ids) != 0 {
				t.Errorf("containers for the context: %v %v", ids, err)
			}
			assertNothingLeft(t, ctxDir, tmp)

			// creds shows the same verdict in its table, and fails the same way.
			table := kanikorun(t, "creds", "-t", own.Ref("app:1"), "--executor-image", executorImage, "--docker-config", cfgDir, ctxDir)
			if table.code != exitTool || table.stderr != res.stderr {
				t.Errorf("creds: exit %d, stderr %q; want %d and the build's error", table.code, table.stderr, exitTool)
			}
			if row := ecTableRow(t, table.stdout, own.Addr); row[3] != "missing: helper "+tt.helper+" "+tt.short {
				t.Errorf("creds row = %q", row)
			}
			ecAssertNoSecret(t, "the creds output", table.stdout, own.Password)
		})
	}
}

// A pull-only registry whose helper is missing or fails costs one warning
// line and the build goes on anonymously: here the base comes from an
// anonymous registry, so the build succeeds and pushes elsewhere with
// inline auths.
func TestE2ECredsHelperFailsForPullOnly(t *testing.T) {
	testbed.RequireDocker(t)
	anon, err := testbed.StartRegistry("", "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(anon.Close)
	base := ecPushBase(t, anon, "base:1")
	for i, tt := range ecHelperFailures {
		t.Run(tt.name, func(t *testing.T) {
			tmp := ecSetup(t, "kanikorun-e2e-broken")
			stored := "pull-secret-" + testbed.RandomPassword()
			credstest.Store(t, "kanikorun-e2e-broken", map[string]credstest.Cred{anon.Addr: {Username: "puller", Secret: stored}})
			cfgDir := ecConfigDir(t, ecJSON(t, map[string]any{
				"credHelpers": map[string]string{anon.Addr: tt.helper},
				"auths":       map[string]any{reg.Addr: map[string]string{"auth": ecBasicAuth(reg.Username, reg.Password)}},
			}))
			ctxDir := buildContext(t, map[string]string{"Dockerfile": "FROM " + base + "\nCOPY f /f\n", "f": tt.name})
			dest := reg.Ref("e2e-creds/pullonly:" + string(rune('a'+i)))
			before := len(anon.Requests())

			res := kanikorun(t, "build", "-t", dest, "--executor-image", executorImage, "--executor-pull", "never", "--docker-config", cfgDir, ctxDir)
			if res.code != 0 {
				t.Fatalf("build:\n%s", res)
			}
			warnings := ecLinesWith(res.stderr, "kanikorun: warning: ")
			if len(warnings) != 1 || !strings.Contains(warnings[0], `"`+anon.Addr+`" (pull only)`) ||
				!strings.Contains(warnings[0], `"docker-credential-`+tt.helper+`"`) || !strings.HasSuffix(warnings[0], "; pulling anonymously") {
				t.Errorf("want one warning naming %s and the helper, got %q", anon.Addr, warnings)
			}
			ecAssertNoSecret(t, "the output", res.stdout+res.stderr, stored)
			files, _ := ecImageFiles(t, reg, dest)
			if files["etc/base.txt"] != "base of base:1" || files["f"] != tt.name {
				t.Errorf("pushed files = %v, want the base's and f", files)
			}
			pulled := false
			for _, q := range ecRequestsSince(anon, before) {
				if strings.Contains(q.Path, "/manifests/") && q.Status == http.StatusOK {
					pulled = true
				}
				if q.User != "" {
					t.Errorf("the anonymous registry saw user %q", q.User)
				}
			}
			if !pulled {
				t.Error("the executor never fetched the base manifest")
			}
			assertNothingLeft(t, ctxDir, tmp)
		})
	}
}

// ecSleepBuild makes a context whose build pulls a base from reg and then
// sleeps for secs seconds, so the container can be looked at while it
// runs.
func ecSleepBuild(t *testing.T, secs string) (ctxDir, dest string) {
	t.Helper()
	base := ecPushBase(t, reg, "e2e-creds/sleepbase:1")
	ctxDir = buildContext(t, map[string]string{"Dockerfile": "FROM " + base + "\nRUN sleep " + secs + "\nCOPY f /f\n", "f": "slept"})
	return ctxDir, reg.Ref("e2e-creds/slept:1")
}

// ecRunningContainer waits until the executor container of ctxDir runs, and
// returns its inspect data. It gives up when done is closed first.
func ecRunningContainer(t *testing.T, ctxDir string, done <-chan struct{}) map[string]any {
	t.Helper()
	cli := testbed.RequireDocker(t)
	ctx := context.Background()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-done:
			t.Fatal("the build ended before its container was seen running")
		default:
		}
		ids, err := testbed.Containers(ctx, cli, map[string]string{spec.ContextLabel: ctxDir})
		if err != nil {
			t.Fatal(err)
		}
		if len(ids) == 1 {
			info, err := cli.ContainerInspect(ctx, ids[0])
			if err == nil && info.State != nil && info.State.Running {
				var m map[string]any
				b, _ := json.Marshal(info)
				if err := json.Unmarshal(b, &m); err != nil {
					t.Fatal(err)
				}
				return m
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatal("the executor container never ran")
	return nil
}

// ecCheckInspect looks at a running executor container: the secret is in
// none of its Env, Cmd, Args, Entrypoint, Labels or Mounts (nor anywhere
// else in the inspect data), and the credentials reach it only as a
// read-only mount at spec.DockerConfigPath of a private file under tmp
// holding exactly the registry's entry. It returns the file's path.
func ecCheckInspect(t *testing.T, info map[string]any, tmp, user, secret string) string {
	t.Helper()
	cfg, _ := info["Config"].(map[string]any)
	host, _ := info["HostConfig"].(map[string]any)
	parts := map[string]any{
		"Env": cfg["Env"], "Cmd": cfg["Cmd"], "Entrypoint": cfg["Entrypoint"], "Labels": cfg["Labels"],
		"Args": info["Args"], "Path": info["Path"], "Mounts": info["Mounts"], "HostConfig.Mounts": host["Mounts"],
		"everything": info,
	}
	for name, v := range parts {
		b, _ := json.Marshal(v)
		ecAssertNoSecret(t, "the container's "+name, string(b), secret)
	}
	if cmd, _ := json.Marshal(cfg["Cmd"]); !strings.Contains(string(cmd), "--destination=") {
		t.Errorf("Cmd %s is not the executor's argv: the check looks at the wrong thing", cmd)
	}
	var source string
	mounts, _ := info["Mounts"].([]any)
	for _, m := range mounts {
		m, _ := m.(map[string]any)
		if m["Destination"] == spec.DockerConfigPath {
			if m["RW"] != false {
				t.Errorf("config mount is writable: %v", m)
			}
			source, _ = m["Source"].(string)
		}
	}
	if source == "" {
		t.Fatalf("no mount at %s: %v", spec.DockerConfigPath, mounts)
	}
	if rel, err := filepath.Rel(tmp, source); err != nil || strings.HasPrefix(rel, "..") {
		t.Errorf("config %s is not under TMPDIR %s", source, tmp)
	}
	if st, err := os.Stat(source); err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("config file mode %v, %v; want 0600", st.Mode(), err)
	}
	if st, err := os.Stat(filepath.Dir(source)); err != nil || st.Mode().Perm() != 0o700 {
		t.Errorf("config directory mode %v, %v; want 0700", st.Mode(), err)
	}
	data, err := os.ReadFile(source)
	if err != nil {
		t.Fatal(err)
	}
	var got struct {
		Auths map[string]struct {
			Auth string `json:"auth"`
		} `json:"auths"`
	}
	var keys map[string]json.RawMessage
	if err := json.Unmarshal(data, &keys); err != nil || json.Unmarshal(data, &got) != nil {
		t.Fatalf("mounted config is not JSON: %v", err)
	}
	if len(keys) != 1 || len(got.Auths) != 1 || got.Auths[reg.Addr].Auth != ecBasicAuth(user, secret) {
		t.Errorf("mounted config has keys %v and auths for %v; want exactly auths[%s] with the credentials", ecSortedKeys(keys), len(got.Auths), reg.Addr)
	}
	return source
}

func ecSortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// A build with a known password, from a helper and inline: the password,
// raw or base64-encoded, is in none of stdout, stderr, the dry run, the
// creds table, the running container's inspect data, nor any file left in
// TMPDIR; the temporary config it was in is gone after the build, and
// after a failed build.
func TestE2ECredsSecretHygiene(t *testing.T) {
	testbed.RequireDocker(t)
	tests := []struct {
		name   string
		config func(t *testing.T) string
		from   string
	}{{
		name: "credsStore",
		config: func(t *testing.T) string {
			credstest.Store(t, ecStore, map[string]credstest.Cred{reg.Addr: {Username: reg.Username, Secret: reg.Password}})
			return ecJSON(t, map[string]any{"credsStore": ecStore})
		},
		from: "helper " + ecStore,
	}, {
		name: "inline",
		config: func(t *testing.T) string {
			return string(reg.DockerConfig())
		},
		from: "inline",
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tmp := ecSetup(t, ecStore)
			cfgDir := ecConfigDir(t, tt.config(t))
			ctxDir, dest := ecSleepBuild(t, "2")
			flags := []string{"-t", dest, "--executor-image", executorImage, "--docker-config", cfgDir, ctxDir}

			dry := kanikorun(t, append([]string{"build", "--dry-run", "--executor-pull", "never"}, flags...)...)
			if dry.code != 0 {
				t.Fatalf("dry run:\n%s", dry)
			}
			ecAssertNoSecret(t, "the dry run", dry.stdout+dry.stderr, reg.Password)
			table := kanikorun(t, append([]string{"creds"}, flags...)...)
			if table.code != 0 {
				t.Fatalf("creds:\n%s", table)
			}
			if row := ecTableRow(t, table.stdout, reg.Addr); row[3] != tt.from {
				t.Errorf("creds row = %q, want %q: the build would not use the known password", row, tt.from)
			}
			ecAssertNoSecret(t, "the creds output", table.stdout+table.stderr, reg.Password)

			done := make(chan struct{})
			var res result
			go func() {
				defer close(done)
				res = kanikorun(t, append([]string{"build", "--executor-pull", "never"}, flags...)...)
			}()
			// A failed assertion must not end the test under a running build.
			t.Cleanup(func() { <-done })
			info := ecRunningContainer(t, ctxDir, done)
			source := ecCheckInspect(t, info, tmp, reg.Username, reg.Password)
			<-done
			if res.code != 0 {
				t.Fatalf("build:\n%s", res)
			}
			if files, _ := ecImageFiles(t, reg, dest); files["f"] != "slept" {
				t.Errorf("pushed files = %v", files)
			}
			ecAssertNoSecret(t, "the build output", res.stdout+res.stderr, reg.Password)
			if _, err := os.Stat(source); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("temporary config %s still there: %v", source, err)
			}
			for p, content := range ecFilesUnder(t, tmp) {
				ecAssertNoSecret(t, "TMPDIR file "+p, content, reg.Password)
			}
			assertNothingLeft(t, ctxDir, tmp)

			// A failed build (RUN exits 3) removes it too.
			failCtx := buildContext(t, map[string]string{"Dockerfile": "FROM " + reg.Ref("e2e-creds/sleepbase:1") + "\nRUN exit 3\n"})
			failed := kanikorun(t, "build", "-t", dest, "--executor-image", executorImage, "--executor-pull", "never", "--docker-config", cfgDir, failCtx)
			if failed.code != 3 {
				t.Errorf("failing build: exit %d, want 3\n%s", failed.code, failed)
			}
			ecAssertNoSecret(t, "the failed build's output", failed.stdout+failed.stderr, reg.Password)
			assertNothingLeft(t, failCtx, tmp)
		})
	}
}

// The executor image's own registry gets its credentials through the
// Engine API pull, never through the build's config.json: a build whose
// executor comes from a second password-protected registry mounts a file
// holding only the registry the build pushes to, and neither password
// shows up anywhere.
func TestE2ECredsExecutorRegistryKeptOutOfBuildConfig(t *testing.T) {
	cli := testbed.RequireDocker(t)
	ctx := context.Background()
	tmp := ecSetup(t, ecStore)
	exreg := testbed.NewRegistry(t)
	executor, err := exreg.PushStandIn(ctx, "e2e-creds/executor:1")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _, _ = cli.ImageRemove(context.Background(), executor, image.RemoveOptions{}) })
	unrelated := "unrelated-" + testbed.RandomPassword()
	credstest.Store(t, ecStore, map[string]credstest.Cred{
		reg.Addr:                {Username: reg.Username, Secret: reg.Password},
		exreg.Addr:              {Username: exreg.Username, Secret: exreg.Password},
		"unrelated.example.com": {Username: "someone", Secret: unrelated},
	})
	cfgDir := ecConfigDir(t, ecJSON(t, map[string]any{"credsStore": ecStore}))
	ctxDir, dest := ecSleepBuild(t, "2")
	before := len(exreg.Requests())

	done := make(chan struct{})
	var res result
	go func() {
		defer close(done)
		res = kanikorun(t, "build", "-t", dest, "--executor-image", executor, "--executor-pull", "always", "--docker-config", cfgDir, ctxDir)
	}()
	t.Cleanup(func() { <-done })
	info := ecRunningContainer(t, ctxDir, done)
	source := ecCheckInspect(t, info, tmp, reg.Username, reg.Password)
	data, err := os.ReadFile(source)
	if err != nil {
		t.Fatal(err)
	}
	infoJSON, _ := json.Marshal(info)
	for _, secret := range []string{exreg.Password, unrelated} {
		ecAssertNoSecret(t, "the mounted config", string(data), secret)
		ecAssertNoSecret(t, "the container's inspect data", string(infoJSON), secret)
	}
	<-done
	if res.code != 0 {
		t.Fatalf("build:\n%s", res)
	}
	pulled := false
	for _, q := range ecRequestsSince(exreg, before) {
		if strings.Contains(q.Path, "/manifests/") && q.Status == http.StatusOK && q.User == exreg.Username {
			pulled = true
		}
	}
	if !pulled {
		t.Error("the daemon never pulled the executor with its registry's credentials")
	}
	for _, secret := range []string{reg.Password, exreg.Password, unrelated} {
		ecAssertNoSecret(t, "the build output", res.stdout+res.stderr, secret)
	}
	assertNothingLeft(t, ctxDir, tmp)
}

// An error before the container starts (the executor image is not there
// and may not be pulled) still removes the credentials file, and the
// error carries no secret.
func TestE2ECredsConfigRemovedOnErrorBeforeStart(t *testing.T) {
	testbed.RequireDocker(t)
	tmp := ecSetup(t, ecStore)
	credstest.Store(t, ecStore, map[string]credstest.Cred{reg.Addr: {Username: reg.Username, Secret: reg.Password}})
	cfgDir := ecConfigDir(t, ecJSON(t, map[string]any{"credsStore": ecStore}))
	ctxDir := buildContext(t, map[string]string{"Dockerfile": "FROM scratch\nCOPY f /f\n", "f": "f"})
	missing := testbed.StandInRepository + ":missing-" + testbed.RandomPassword()[:8]

	res := kanikorun(t, "build", "-t", reg.Ref("e2e-creds/never:1"), "--executor-image", missing, "--executor-pull", "never", "--docker-config", cfgDir, ctxDir)
	if res.code != exitTool || !strings.Contains(res.stderr, "executor image not found") {
		t.Errorf("want exit %d and the missing-image error:\n%s", exitTool, res)
	}
	ecAssertNoSecret(t, "the output", res.stdout+res.stderr, reg.Password)
	assertNothingLeft(t, ctxDir, tmp)
}

// Ctrl-C during the build: the binary exits 130, removes the container
// and leaves nothing in TMPDIR, although the credentials file was there
// while the build ran.
func TestE2ECredsInterruptRemovesConfig(t *testing.T) {
	cli := testbed.RequireDocker(t)
	bin := kanikorunBinary(t)
	tmp := ecSetup(t, ecStore)
	credstest.Store(t, ecStore, map[string]credstest.Cred{reg.Addr: {Username: reg.Username, Secret: reg.Password}})
	cfgDir := ecConfigDir(t, ecJSON(t, map[string]any{"credsStore": ecStore}))
	ctxDir, dest := ecSleepBuild(t, "30")

	cmd := exec.Command(bin, "build", "-t", dest, "--executor-image", executorImage, "--executor-pull", "never", "--docker-config", cfgDir, ctxDir)
	var stdout bytes.Buffer
	cmd.Stdout = &stdout
	stderrR, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		// Only when the test failed half-way: kill kanikorun and its build.
		_ = cmd.Process.Kill()
		ids, _ := testbed.Containers(context.Background(), cli, map[string]string{spec.ContextLabel: ctxDir})
		for _, id := range ids {
			_ = cli.ContainerRemove(context.Background(), id, container.RemoveOptions{Force: true})
		}
	})
	// The sleep has begun once the executor logs it.
	var (
		mu     sync.Mutex
		stderr bytes.Buffer
	)
	sleeping := make(chan struct{})
	copied := make(chan struct{})
	go func() {
		defer close(copied)
		sc := bufio.NewScanner(stderrR)
		once := sync.Once{}
		for sc.Scan() {
			mu.Lock()
			stderr.WriteString(sc.Text() + "\n")
			mu.Unlock()
			if strings.Contains(sc.Text(), "Running: [/bin/sh -c sleep 30]") {
				once.Do(func() { close(sleeping) })
			}
		}
		_, _ = io.Copy(io.Discard, stderrR)
	}()
	select {
	case <-sleeping:
	case <-copied:
		t.Fatalf("the build ended before its RUN step:\n%s", stderr.String())
	case <-time.After(30 * time.Second):
		t.Fatal("the RUN step never started")
	}
	info := ecRunningContainer(t, ctxDir, copied)
	source := ecCheckInspect(t, info, tmp, reg.Username, reg.Password)

	if err := cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	waited := make(chan error, 1)
	go func() { <-copied; waited <- cmd.Wait() }()
	select {
	case err = <-waited:
	case <-time.After(40 * time.Second):
		t.Fatal("kanikorun did not end after SIGINT")
	}
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != exitInterrupted {
		t.Errorf("after SIGINT: %v, want exit %d\n%s", err, exitInterrupted, stderr.String())
	}
	if !strings.Contains(stderr.String(), "kanikorun: interrupted") {
		t.Errorf("no interruption notice:\n%s", stderr.String())
	}
	ecAssertNoSecret(t, "the interrupted build's output", stdout.String()+stderr.String(), reg.Password)
	if _, err := os.Stat(source); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("temporary config %s still there: %v", source, err)
	}
	assertNothingLeft(t, ctxDir, tmp)
}

// ecChildNamed returns the pid of a child process of parent whose command
// name ends in suffix, or 0. It reads /proc (Docker tests run on Linux).
func ecChildNamed(t *testing.T, parent int, suffix string) int {
	t.Helper()
	entries, err := os.ReadDir("/proc")
	if err != nil {
		t.Skipf("no /proc: %v", err)
	}
	for _, e := range entries {
		stat, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		// pid (comm) state ppid ...; comm may hold spaces, so split after ")".
		i := bytes.LastIndexByte(stat, ')')
		if i < 0 {
			continue
		}
		fields := strings.Fields(string(stat[i+1:]))
		if len(fields) < 2 || fields[1] != strconv.Itoa(parent) {
			continue
		}
		cmdline, _ := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		argv0, _, _ := strings.Cut(string(cmdline), "\x00")
		if strings.HasSuffix(argv0, suffix) {
			pid, _ := strconv.Atoi(e.Name())
			return pid
		}
	}
	return 0
}

// ecAlive reports whether pid runs (a zombie does not count).
func ecAlive(pid int) bool {
	stat, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	if err != nil {
		return false
	}
	i := bytes.LastIndexByte(stat, ')')
	return i >= 0 && !strings.HasPrefix(strings.TrimSpace(string(stat[i+1:])), "Z")
}

// Ctrl-C while a credential helper hangs (waiting for an unlock prompt,
// say) ends kanikorun at once: the helper is killed, no container is
// created, nothing is left in TMPDIR, and the exit code is 130 as for any
// interruption.
func TestE2ECredsInterruptWhileHelperHangs(t *testing.T) {
	testbed.RequireDocker(t)
	bin := kanikorunBinary(t)
	const hang = "kanikorun-e2e-hang"
	tmp := ecSetup(t, hang)
	cfgDir := ecConfigDir(t, ecJSON(t, map[string]any{"credsStore": hang}))
	ctxDir := buildContext(t, map[string]string{"Dockerfile": "FROM scratch\n"})

	cmd := exec.Command(bin, "build", "-t", reg.Ref("e2e-creds/hang:1"), "--executor-image", executorImage, "--executor-pull", "never", "--docker-config", cfgDir, ctxDir)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	waited := make(chan error, 1)
	go func() { waited <- cmd.Wait() }()
	t.Cleanup(func() { _ = cmd.Process.Kill() })
	helper := 0
	for deadline := time.Now().Add(20 * time.Second); helper == 0 && time.Now().Before(deadline); {
		select {
		case err := <-waited:
			t.Fatalf("kanikorun ended before asking the helper: %v\n%s", err, stderr.String())
		case <-time.After(20 * time.Millisecond):
		}
		helper = ecChildNamed(t, cmd.Process.Pid, "docker-credential-"+hang)
	}
	if helper == 0 {
		t.Fatal("the helper never ran")
	}
	t.Cleanup(func() {
		if p, err := os.FindProcess(helper); err == nil && ecAlive(helper) {
			_ = p.Kill()
		}
	})
	if err := cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	var err error
	select {
	case err = <-waited:
	case <-time.After(20 * time.Second):
		t.Fatal("kanikorun did not end after SIGINT while the helper hung")
	}
	if ecAlive(helper) {
		t.Errorf("the hanging helper (pid %d) outlived kanikorun", helper)
	}
	if strings.Contains(stderr.String(), testbed.ArgvMarker) {
		t.Error("the executor ran")
	}
	if n := len(strings.Split(strings.TrimRight(stderr.String(), "\n"), "\n")); n != 1 {
		t.Errorf("stderr has %d lines, want one:\n%s", n, stderr.String())
	}
	assertNothingLeft(t, ctxDir, tmp)
	var ee *exec.ExitError
	if !errors.As(err, &ee) {
		t.Fatalf("after SIGINT: %v, want an exit code", err)
	}
	if ee.ExitCode() != exitInterrupted {
		t.Errorf("exit %d, want %d after Ctrl-C during credential resolution: %s", ee.ExitCode(), exitInterrupted, strings.TrimSpace(stderr.String()))
	}
}
