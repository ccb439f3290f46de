package kube

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kanikorun/kanikorun/creds"
	"github.com/kanikorun/kanikorun/creds/credstest"
)

// credsManifest is a Job whose credentials come from Secret regcred with
// items (config.json at /kaniko/.docker), the context at /workspace/app of
// claim sources, and a destination on push.example.com. secret, when not
// empty, is the .dockerconfigjson of a Secret in the stream.
func credsManifest(t *testing.T, secret string) *Manifest {
	t.Helper()
	doc := ""
	if secret != "" {
		doc = fmt.Sprintf("apiVersion: v1\nkind: Secret\nmetadata: {name: regcred}\ntype: kubernetes.io/dockerconfigjson\nstringData:\n  .dockerconfigjson: '%s'\n---\n", secret)
	}
	doc += `apiVersion: batch/v1
kind: Job
metadata: {name: build}
spec:
  template:
    spec:
      restartPolicy: Never
      containers:
      - name: kaniko
        image: gcr.io/kaniko-project/executor:v1.24.0
        args: ["--context=dir:///workspace/app", "--dockerfile=Dockerfile", "--destination=push.example.com/team/app:1"]
        volumeMounts:
        - {name: src, mountPath: /workspace}
        - {name: docker-config, mountPath: /kaniko/.docker}
      volumes:
      - name: src
        persistentVolumeClaim: {claimName: sources}
      - name: docker-config
        secret:
          secretName: regcred
          items: [{key: .dockerconfigjson, path: config.json}]
`
	m, err := ReadManifest([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// credsRegistries are the registries credsManifest's build touches, as
// the preparation step lists them: its destination, and the base image of
// the Dockerfile these tests write.
var credsRegistries = []creds.Registry{
	{Host: "base.example.com", Uses: []string{creds.UseFrom}},
	{Host: "push.example.com", Push: true, Uses: []string{creds.UseDestination}},
}

// resolved plans m and resolves its Secrets' credential helpers.
func resolved(t *testing.T, m *Manifest, o ReplayOptions) *Replay {
	t.Helper()
	r := plan1(t, m, o)
	if err := r.ResolveCredentials(context.Background(), credsRegistries, "gcr.io/kaniko-project/executor:v1.24.0"); err != nil {
		t.Fatalf("ResolveCredentials: %v", err)
	}
	return r
}

// mountedConfig returns the config.json the plan mounts for the executor,
// decoded.
func mountedConfig(t *testing.T, r *Replay) (raw []byte, doc map[string]map[string]map[string]string) {
	t.Helper()
	for _, m := range r.Container.Mounts {
		if m.Target == "/kaniko/.docker" {
			raw, err := os.ReadFile(filepath.Join(m.Source, "config.json"))
			if err != nil {
				t.Fatal(err)
			}
			var top map[string]json.RawMessage
			if err := json.Unmarshal(raw, &top); err != nil {
				t.Fatalf("mounted config.json is not JSON: %v", err)
			}
			doc = map[string]map[string]map[string]string{}
			for k, v := range top {
				var section map[string]map[string]string
				if json.Unmarshal(v, &section) == nil {
					doc[k] = section
				} else {
					doc[k] = map[string]map[string]string{"": {"": string(v)}}
				}
			}
			return raw, doc
		}
	}
	t.Fatal("no mount at /kaniko/.docker")
	return nil, nil
}

func basicAuth(user, pass string) string {
	return base64.StdEncoding.EncodeToString([]byte(user + ":" + pass))
}

// Issue 15 item 6: a Secret whose docker config defers to credsStore or
// credHelpers is resolved on the host for the destination and the
// Dockerfile's base images, as build does; the executor gets inline auths.
func TestReplayResolvesSecretCredentialHelpers(t *testing.T) {
	bin := credstest.Build(t)
	t.Setenv("DOCKER_AUTH_CONFIG", "")
	credstest.Install(t, bin, "kube-store", "kube-base")
	credstest.Store(t, "kube-store", map[string]credstest.Cred{"push.example.com": {Username: "pusher", Secret: "push-secret-1"}})
	credstest.Store(t, "kube-base", map[string]credstest.Cred{"base.example.com": {Username: "puller", Secret: "base-secret-2"}})
	cfg := `{"credsStore":"kube-store","credHelpers":{"base.example.com":"kube-base"},"auths":{"other.example.com":{"auth":"` + basicAuth("o", "other-secret-3") + `"}}}`
	src := t.TempDir()
	writeFile(t, filepath.Join(src, "app", "Dockerfile"), "FROM base.example.com/os:1\nRUN true\n")
	secretFile := filepath.Join(t.TempDir(), "config.json")
	writeFile(t, secretFile, cfg)
	leaks := []string{"push-secret-1", "base-secret-2", "other-secret-3", basicAuth("pusher", "push-secret-1")}

	for _, tc := range []struct {
		name string
		m    *Manifest
		o    ReplayOptions
	}{
		{"--secret file", credsManifest(t, ""), ReplayOptions{Secrets: map[string]string{"regcred": secretFile}}},
		{"Secret in the stream", credsManifest(t, cfg), ReplayOptions{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.o.Claims = map[string]string{"sources": src}
			r := resolved(t, tc.m, tc.o)
			raw, doc := mountedConfig(t, r)
			if _, ok := doc["credsStore"]; ok {
				t.Errorf("mounted config keeps credsStore: %s", raw)
			}
			if _, ok := doc["credHelpers"]; ok {
				t.Errorf("mounted config keeps host credHelpers: %s", raw)
			}
			want := map[string]string{
				"push.example.com":  basicAuth("pusher", "push-secret-1"),
				"base.example.com":  basicAuth("puller", "base-secret-2"),
				"other.example.com": basicAuth("o", "other-secret-3"),
			}
			for host, auth := range want {
				if got := doc["auths"][host]["auth"]; got != auth {
					t.Errorf("auths[%q] = %q, want the resolved credentials", host, got)
				}
			}
			if len(doc["auths"]) != len(want) {
				t.Errorf("auths hold %d entries, want %d", len(doc["auths"]), len(want))
			}
			text := fmt.Sprintf("%v %+v %q %q", r, r.Container, r.Warnings, r.Notes)
			for _, s := range leaks {
				if strings.Contains(text, s) {
					t.Errorf("the plan's printable parts leak %q", s)
				}
			}
			for _, w := range r.Warnings {
				if strings.Contains(w, "credsStore") {
					t.Errorf("warning %q: the config was resolved, nothing to warn about", w)
				}
			}
		})
	}

	t.Run("dry run resolves but writes nothing", func(t *testing.T) {
		r, err := credsManifest(t, "").Plan(ReplayOptions{DryRun: true, Claims: map[string]string{"sources": src}, Secrets: map[string]string{"regcred": secretFile}})
		if err != nil {
			t.Fatal(err)
		}
		if err := r.ResolveCredentials(context.Background(), credsRegistries, ""); err != nil {
			t.Fatal(err)
		}
		if !containsWarning(r.Notes, `docker config of secret "regcred" with its credential helpers resolved on the host`) {
			t.Errorf("notes %q do not say the config is resolved", r.Notes)
		}
		for _, s := range leaks {
			if strings.Contains(strings.Join(r.Notes, "\n"), s) {
				t.Errorf("notes leak %q", s)
			}
		}
	})
}

// A push registry whose helper is missing stops the replay before any
// container, naming the Secret; nothing is left in the temp directory.
func TestReplaySecretHelperMissing(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	t.Setenv("DOCKER_AUTH_CONFIG", "")
	src := t.TempDir()
	writeFile(t, filepath.Join(src, "app", "Dockerfile"), "FROM scratch\n")
	tmp := t.TempDir()
	r, err := credsManifest(t, `{"credsStore":"desktop"}`).Plan(ReplayOptions{TempDir: tmp, Claims: map[string]string{"sources": src}})
	if err != nil {
		t.Fatal(err)
	}
	err = r.ResolveCredentials(context.Background(), credsRegistries, "")
	if cerr := r.Cleanup(); cerr != nil {
		t.Fatal(cerr)
	}
	if !errors.Is(err, creds.ErrPushCredentials) {
		t.Fatalf("Plan error = %v, want ErrPushCredentials", err)
	}
	msg := err.Error()
	for _, want := range []string{`secret "regcred"`, `"push.example.com"`, "docker-credential-desktop", `change "credsStore" in secret "regcred"`} {
		if !strings.Contains(msg, want) {
			t.Errorf("error %q lacks %q", msg, want)
		}
	}
	if strings.Contains(msg, "\n") {
		t.Errorf("error is not one line: %q", msg)
	}
	if entries, _ := os.ReadDir(tmp); len(entries) > 0 {
		t.Errorf("left behind in the temp dir: %v", entries)
	}
}

// Issue 15 item 17: a --claim that points at the context itself, not the
// claim holding it, gets one hint; a right mapping gets none.
func TestReplayClaimHint(t *testing.T) {
	t.Parallel()
	ctxDir := t.TempDir()
	writeFile(t, filepath.Join(ctxDir, "Dockerfile"), "FROM scratch\n")
	parent := t.TempDir()
	writeFile(t, filepath.Join(parent, "app", "Dockerfile"), "FROM scratch\n")
	unrelated := t.TempDir()
	inline := `{"auths":{"push.example.com":{"auth":"` + basicAuth("u", "p") + `"}}}`
	for _, tc := range []struct {
		name, claim string
		hint        bool
	}{
		{"the context itself", ctxDir, true},
		{"the claim's root", parent, false},
		{"an unrelated directory", unrelated, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := plan1(t, credsManifest(t, inline), ReplayOptions{Claims: map[string]string{"sources": tc.claim}})
			var hints []string
			for _, w := range r.Warnings {
				if strings.Contains(w, "looks like the build context itself") {
					hints = append(hints, w)
				}
			}
			if !tc.hint {
				if len(hints) > 0 {
					t.Errorf("unexpected hint %q", hints)
				}
				return
			}
			want := fmt.Sprintf(`--claim sources points at %q, which looks like the build context itself: it holds "Dockerfile" but no "app"; pass its parent directory (the pod reads the context from /workspace/app)`, tc.claim)
			if len(hints) != 1 || hints[0] != want {
				t.Errorf("hints %q, want exactly %q", hints, want)
			}
		})
	}
}
