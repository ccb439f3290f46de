package creds

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/docker/cli/cli/config/types"
	"github.com/docker/docker-credential-helpers/client"
	dcreds "github.com/docker/docker-credential-helpers/credentials"
	"github.com/google/go-containerregistry/pkg/authn"

	"github.com/kanikorun/kanikorun/creds/credstest"
	"github.com/kanikorun/kanikorun/internal/spec"
)

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

func pull(host string) Registry { return Registry{Host: host, Uses: []string{UseFrom}} }
func push(host string) Registry {
	return Registry{Host: host, Push: true, Uses: []string{UseDestination}}
}

func sourceOf(t *testing.T, res *Resolved, host string) Source {
	t.Helper()
	for _, s := range res.Sources {
		if s.Registry == host {
			return s
		}
	}
	t.Fatalf("no source for %q in %+v", host, res.Sources)
	return Source{}
}

func configJSON(t *testing.T, res *Resolved) []byte {
	t.Helper()
	data, err := res.ConfigJSON()
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// The test helper speaks the real protocol: the docker-credential-helpers
// client can store, list, get and erase through it.
func TestHelperProtocol(t *testing.T) {
	isolate(t)
	helpers(t, map[string]map[string]credstest.Cred{"kanikorun-test": {}})
	p := client.NewShellProgramFunc("docker-credential-kanikorun-test")

	if err := client.Store(p, &dcreds.Credentials{ServerURL: "127.0.0.1:5000", Username: "alice", Secret: "pw1"}); err != nil {
		t.Fatalf("store: %v", err)
	}
	if err := client.Store(p, &dcreds.Credentials{ServerURL: "ghcr.io", Username: "<token>", Secret: "tok"}); err != nil {
		t.Fatalf("store: %v", err)
	}
	list, err := client.List(p)
	if err != nil {
		t.Fatalf("list: %v", err)
	}
	if want := map[string]string{"127.0.0.1:5000": "alice", "ghcr.io": "<token>"}; !reflect.DeepEqual(list, want) {
		t.Errorf("list = %v, want %v", list, want)
	}
	c, err := client.Get(p, "127.0.0.1:5000")
	if err != nil || c.Username != "alice" || c.Secret != "pw1" {
		t.Errorf("get = %+v, %v", c, err)
	}
	if err := client.Erase(p, "127.0.0.1:5000"); err != nil {
		t.Fatalf("erase: %v", err)
	}
	if _, err := client.Get(p, "127.0.0.1:5000"); !dcreds.IsErrCredentialsNotFound(err) {
		t.Errorf("get after erase: %v, want not found", err)
	}
}

func TestResolveInline(t *testing.T) {
	tests := []struct {
		name     string
		entry    string
		wantKind Kind
		want     types.AuthConfig
	}{
		{"auth base64", `{"auth":"` + b64("alice:pw") + `"}`, Inline, types.AuthConfig{Username: "alice", Password: "pw"}},
		{"username and password", `{"username":"bob","password":"pw2"}`, Inline, types.AuthConfig{Username: "bob", Password: "pw2"}},
		{"identity token", `{"auth":"` + b64("00000000-0000-0000-0000-000000000000:") + `","identitytoken":"idtok"}`, Inline, types.AuthConfig{Username: "00000000-0000-0000-0000-000000000000", IdentityToken: "idtok"}},
		{"registry token", `{"registrytoken":"regtok"}`, Inline, types.AuthConfig{RegistryToken: "regtok"}},
		{"empty entry (Docker Desktop marker)", `{}`, None, types.AuthConfig{}},
		{"e-mail only", `{"email":"a@example.com"}`, None, types.AuthConfig{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := isolate(t)
			writeConfig(t, dir, `{"auths":{"registry.example.com":`+tt.entry+`}}`)
			res, err := Resolve(context.Background(), "", []Registry{push("registry.example.com")}, "")
			if err != nil {
				t.Fatal(err)
			}
			src := sourceOf(t, res, "registry.example.com")
			if src.Kind != tt.wantKind {
				t.Errorf("kind = %v (%s), want %v", src.Kind, src.From, tt.wantKind)
			}
			data := configJSON(t, res)
			g := decode(t, data)
			if tt.wantKind == None {
				if len(g.auths) != 0 {
					t.Errorf("auths = %v, want none", g.auths)
				}
				return
			}
			if got := g.auths["registry.example.com"]; got != tt.want {
				t.Errorf("generated entry = %+v, want %+v", got, tt.want)
			}
			seen := kanikoSees(t, data, "registry.example.com/team/app")
			if seen.Username != tt.want.Username || seen.Password != tt.want.Password ||
				seen.IdentityToken != tt.want.IdentityToken || seen.RegistryToken != tt.want.RegistryToken {
				t.Errorf("kaniko sees %+v, want %+v", seen, tt.want)
			}
		})
	}
}

// Every spelling of Docker Hub in the host config, in a helper's store or
// in an image reference ends up under the key kaniko's keychain reads.
func TestDockerHubSpellings(t *testing.T) {
	configKeys := []string{"https://index.docker.io/v1/", "index.docker.io", "docker.io", "registry-1.docker.io", "https://registry-1.docker.io/v2/", "https://index.docker.io/v1"}
	refs := []string{"alpine", "docker.io/library/alpine", "index.docker.io/library/alpine", "registry-1.docker.io/library/alpine"}
	for _, key := range configKeys {
		for _, ref := range refs {
			for _, via := range []string{"inline", "credsStore", "credHelpers"} {
				t.Run(via+" "+key+" "+ref, func(t *testing.T) {
					dir := isolate(t)
					switch via {
					case "inline":
						writeConfig(t, dir, `{"auths":{"`+key+`":{"auth":"`+b64("hubuser:hubpw")+`"}}}`)
					case "credsStore":
						helpers(t, map[string]map[string]credstest.Cred{"hub": {key: {Username: "hubuser", Secret: "hubpw"}}})
						writeConfig(t, dir, `{"credsStore":"hub"}`)
					case "credHelpers":
						helpers(t, map[string]map[string]credstest.Cred{"hub": {key: {Username: "hubuser", Secret: "hubpw"}}})
						writeConfig(t, dir, `{"credHelpers":{"`+key+`":"hub"}}`)
					}
					reg, err := RegistryOf(ref, true, UseDestination)
					if err != nil {
						t.Fatal(err)
					}
					res, err := Resolve(context.Background(), "", []Registry{reg}, "")
					if err != nil {
						t.Fatal(err)
					}
					if src := sourceOf(t, res, reg.Host); src.Kind != Inline && src.Kind != Helper {
						t.Fatalf("source = %+v", src)
					}
					data := configJSON(t, res)
					g := decode(t, data)
					wantKey := "https://index.docker.io/v1/"
					if strings.HasPrefix(ref, "registry-1.") {
						wantKey = "registry-1.docker.io"
					}
					if keys := sortedKeys(g.auths); !reflect.DeepEqual(keys, []string{wantKey}) {
						t.Errorf("generated keys = %q, want %q", keys, wantKey)
					}
					if seen := kanikoSees(t, data, ref); seen.Username != "hubuser" || seen.Password != "hubpw" {
						t.Errorf("kaniko sees %+v for %q", seen, ref)
					}
					if a := res.AuthFor("docker.io"); a == "" && wantKey == "https://index.docker.io/v1/" {
						t.Error("AuthFor(docker.io) is empty")
					}
				})
			}
		}
	}
}

func sortedKeys[V any](m map[string]V) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

// A config with "credsStore" pointing at a real helper: the credentials come
// out inline, with the helper's identity tokens kept as tokens.
func TestResolveCredsStore(t *testing.T) {
	dir := isolate(t)
	helpers(t, map[string]map[string]credstest.Cred{"kanikorun-test": {
		"127.0.0.1:5000": {Username: "alice", Secret: "alice-pw"},
		"ghcr.io":        {Username: "<token>", Secret: "ghcr-identity-token"},
	}})
	writeConfig(t, dir, `{"credsStore":"kanikorun-test","auths":{"127.0.0.1:5000":{},"https://index.docker.io/v1/":{}}}`)
	res, err := Resolve(context.Background(), "", []Registry{push("127.0.0.1:5000"), pull("ghcr.io"), pull("index.docker.io")}, "")
	if err != nil {
		t.Fatal(err)
	}
	want := []Source{
		{Registry: "127.0.0.1:5000", Push: true, Uses: []string{UseDestination}, Kind: Helper, From: "helper kanikorun-test"},
		{Registry: "ghcr.io", Uses: []string{UseFrom}, Kind: Helper, From: "helper kanikorun-test"},
		{Registry: "index.docker.io", Uses: []string{UseFrom}, Kind: None, From: "none (helper kanikorun-test has no entry)"},
	}
	if !reflect.DeepEqual(res.Sources, want) {
		t.Errorf("sources:\n got %+v\nwant %+v", res.Sources, want)
	}
	if len(res.Warnings) != 0 {
		t.Errorf("warnings: %q", res.Warnings)
	}
	g := decode(t, configJSON(t, res))
	wantAuths := map[string]types.AuthConfig{
		"127.0.0.1:5000": {Username: "alice", Password: "alice-pw"},
		"ghcr.io":        {IdentityToken: "ghcr-identity-token"},
	}
	if !reflect.DeepEqual(g.auths, wantAuths) {
		t.Errorf("auths = %+v, want %+v", g.auths, wantAuths)
	}
	if _, ok := g.top["credsStore"]; ok {
		t.Error("generated config keeps credsStore")
	}
}

// Per-registry credHelpers win over credsStore, each registry asking its
// own helper.
func TestResolveCredHelpers(t *testing.T) {
	dir := isolate(t)
	helpers(t, map[string]map[string]credstest.Cred{
		"team-a":           {"127.0.0.1:5000": {Username: "a", Secret: "a-pw"}},
		"team-b":           {"registry.example.com": {Username: "b", Secret: "b-pw"}},
		"kanikorun-broken": {"quay.io": {Username: "q", Secret: "q-pw"}},
	})
	writeConfig(t, dir, `{
		"credsStore": "kanikorun-broken",
		"credHelpers": {"127.0.0.1:5000": "team-a", "https://registry.example.com": "team-b"},
		"auths": {"127.0.0.1:5000": {"auth": "`+b64("inline:ignored")+`"}}
	}`)
	res, err := Resolve(context.Background(), "", []Registry{push("127.0.0.1:5000"), pull("registry.example.com"), pull("quay.io")}, "")
	if err != nil {
		t.Fatal(err)
	}
	if s := sourceOf(t, res, "127.0.0.1:5000"); s.From != "helper team-a" {
		t.Errorf("127.0.0.1:5000 from %q", s.From)
	}
	if s := sourceOf(t, res, "registry.example.com"); s.From != "helper team-b" {
		t.Errorf("registry.example.com from %q", s.From)
	}
	if s := sourceOf(t, res, "quay.io"); s.Kind != Missing || s.From != "missing: helper kanikorun-broken failed" {
		t.Errorf("quay.io: %+v", s)
	}
	if len(res.Warnings) != 1 || !strings.Contains(res.Warnings[0], `"quay.io"`) || !strings.Contains(res.Warnings[0], "docker-credential-kanikorun-broken") {
		t.Errorf("warnings = %q, want one naming quay.io and the helper", res.Warnings)
	}
	g := decode(t, configJSON(t, res))
	want := map[string]types.AuthConfig{
		"127.0.0.1:5000":       {Username: "a", Password: "a-pw"},
		"registry.example.com": {Username: "b", Password: "b-pw"},
	}
	if !reflect.DeepEqual(g.auths, want) {
		t.Errorf("auths = %+v, want %+v", g.auths, want)
	}
}

// A helper that is missing or fails: a warning for a registry the build
// only pulls from, ErrPushCredentials for one it pushes to.
func TestResolveHelperFailures(t *testing.T) {
	tests := []struct {
		name     string
		helper   string
		push     bool
		wantFrom string
		wantWhy  string
		wantFix  string
	}{
		{"missing, pull", "pass", false, "missing: helper pass not found", "was not found on PATH", "pulling anonymously"},
		{"missing, push", "pass", true, "missing: helper pass not found", "was not found on PATH", `install it, or change "credHelpers" in `},
		{"failing, pull", "kanikorun-broken", false, "missing: helper kanikorun-broken failed", "failed (exit status 1)", "pulling anonymously"},
		{"failing, push", "kanikorun-broken", true, "missing: helper kanikorun-broken failed", "failed (exit status 1)", `check it with "docker login registry.example.com"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := isolate(t)
			helpers(t, map[string]map[string]credstest.Cred{"kanikorun-broken": {}})
			writeConfig(t, dir, `{"credHelpers":{"registry.example.com":"`+tt.helper+`"}}`)
			reg := pull("registry.example.com")
			if tt.push {
				reg = push("registry.example.com")
			}
			res, err := Resolve(context.Background(), "", []Registry{reg, pull("quay.io")}, "")
			if res == nil {
				t.Fatalf("no Resolved returned (err %v)", err)
			}
			if s := sourceOf(t, res, "registry.example.com"); s.Kind != Missing || s.From != tt.wantFrom {
				t.Errorf("source = %+v, want from %q", s, tt.wantFrom)
			}
			if s := sourceOf(t, res, "quay.io"); s.Kind != None {
				t.Errorf("unaffected registry: %+v", s)
			}
			var msg string
			if tt.push {
				if !errors.Is(err, ErrPushCredentials) {
					t.Fatalf("error = %v, want ErrPushCredentials", err)
				}
				if len(res.Warnings) != 0 {
					t.Errorf("warnings = %q, want none", res.Warnings)
				}
				msg = err.Error()
			} else {
				if err != nil {
					t.Fatalf("error = %v, want a warning", err)
				}
				if len(res.Warnings) != 1 {
					t.Fatalf("warnings = %q, want one", res.Warnings)
				}
				msg = res.Warnings[0]
			}
			for _, want := range []string{`"registry.example.com"`, "docker-credential-" + tt.helper, tt.wantWhy, tt.wantFix} {
				if !strings.Contains(msg, want) {
					t.Errorf("message %q does not contain %q", msg, want)
				}
			}
			if strings.Contains(msg, "\n") || strings.Contains(msg, "exploded") {
				t.Errorf("message is not one clean line: %q", msg)
			}
			if g := decode(t, configJSON(t, res)); len(g.auths) != 0 || len(g.helps) != 0 {
				t.Errorf("generated config has entries: %+v", g)
			}
		})
	}
}

// Helpers the executor image ships keep their credHelpers entry when the
// host cannot run them, and are used on the host when it can.
func TestResolveInExecutorHelpers(t *testing.T) {
	const ecr = "123456789012.dkr.ecr.us-east-1.amazonaws.com"
	dir := isolate(t)
	helpers(t, map[string]map[string]credstest.Cred{"acr-env": {"myreg.azurecr.io": {Username: "acr", Secret: "acr-pw"}}})
	writeConfig(t, dir, `{"credHelpers":{"gcr.io":"gcr","`+ecr+`":"ecr-login","myreg.azurecr.io":"acr-env","unused.example.com":"gcr"}}`)
	res, err := Resolve(context.Background(), "", []Registry{pull("gcr.io"), push(ecr), pull("myreg.azurecr.io")}, "")
	if err != nil {
		t.Fatalf("in-executor helper for a push registry: %v", err)
	}
	if len(res.Warnings) != 0 {
		t.Errorf("warnings: %q", res.Warnings)
	}
	if s := sourceOf(t, res, "gcr.io"); s.Kind != InExecutor || s.From != "credHelpers gcr (in executor)" {
		t.Errorf("gcr.io: %+v", s)
	}
	if s := sourceOf(t, res, ecr); s.Kind != InExecutor || s.From != "credHelpers ecr-login (in executor)" {
		t.Errorf("ecr: %+v", s)
	}
	if s := sourceOf(t, res, "myreg.azurecr.io"); s.Kind != Helper {
		t.Errorf("acr helper present on the host: %+v", s)
	}
	g := decode(t, configJSON(t, res))
	if want := map[string]string{"gcr.io": "gcr", ecr: "ecr-login"}; !reflect.DeepEqual(g.helps, want) {
		t.Errorf("credHelpers = %v, want %v", g.helps, want)
	}
	if want := map[string]types.AuthConfig{"myreg.azurecr.io": {Username: "acr", Password: "acr-pw"}}; !reflect.DeepEqual(g.auths, want) {
		t.Errorf("auths = %v, want %v", g.auths, want)
	}
}

// A :slim executor has no helpers of its own: a credHelpers entry the host
// cannot run is missing credentials (an error for a push registry, a
// warning for a pull-only one), never an entry the executor would fail on.
func TestResolveSlimExecutorHasNoHelpers(t *testing.T) {
	const ecr = "123456789012.dkr.ecr.us-east-1.amazonaws.com"
	dir := isolate(t)
	writeConfig(t, dir, `{"credHelpers":{"gcr.io":"gcr","`+ecr+`":"ecr-login"}}`)
	for _, slim := range []string{"gcr.io/kaniko-project/executor:slim", "gcr.io/kaniko-project/executor:v1.24.0-slim", "ghcr.io/osscontainertools/kaniko:v1.28.3-slim@sha256:" + strings.Repeat("a", 64)} {
		res, err := Resolve(context.Background(), "", []Registry{pull("gcr.io"), push(ecr)}, slim)
		if !errors.Is(err, ErrPushCredentials) || !strings.Contains(err.Error(), "docker-credential-ecr-login") || !strings.Contains(err.Error(), "executor image that ships it") {
			t.Errorf("%s: push through ecr-login: err %v, want ErrPushCredentials naming the helper and the way out", slim, err)
		}
		if res == nil {
			t.Fatalf("%s: no summary", slim)
		}
		if s := sourceOf(t, res, "gcr.io"); s.Kind != Missing {
			t.Errorf("%s: gcr.io %+v, want missing", slim, s)
		}
		if len(res.Warnings) != 1 || !strings.Contains(res.Warnings[0], `"gcr.io" (pull only)`) {
			t.Errorf("%s: warnings %q, want one for gcr.io", slim, res.Warnings)
		}
		if g := decode(t, configJSON(t, res)); len(g.helps) != 0 {
			t.Errorf("%s: credHelpers %v in the config of an executor without helpers", slim, g.helps)
		}
	}
	for _, full := range []string{"", "gcr.io/kaniko-project/executor:v1.24.0", "gcr.io/kaniko-project/executor:debug", "ghcr.io/osscontainertools/kaniko@sha256:" + strings.Repeat("b", 64), "localhost:5000/slim", "registry.example.com:5000/kaniko/slim-executor:v1"} {
		if !ShipsHelpers(full) {
			t.Errorf("ShipsHelpers(%q) = false, want true", full)
		}
	}
}

// Nothing of the host's config but the touched registries' credentials
// reaches the generated file.
func TestConfigJSONIsMinimal(t *testing.T) {
	dir := isolate(t)
	writeConfig(t, dir, `{
		"auths": {
			"registry.example.com": {"auth": "`+b64("me:pw")+`", "email": "me@example.com"},
			"other.example.com": {"auth": "`+b64("other:other-pw")+`"},
			"https://index.docker.io/v1/": {"auth": "`+b64("hub:hub-pw")+`"}
		},
		"HttpHeaders": {"X-Secret-Header": "header-value"},
		"proxies": {"default": {"httpProxy": "http://user:proxy-pw@proxy.example.com:3128"}},
		"psFormat": "table {{.ID}}",
		"currentContext": "remote",
		"credHelpers": {"unrelated.example.com": "gcr"},
		"plugins": {"p": {"k": "v"}},
		"aliases": {"builder": "buildx"}
	}`)
	res, err := Resolve(context.Background(), "", []Registry{push("registry.example.com"), pull("quay.io")}, "")
	if err != nil {
		t.Fatal(err)
	}
	data := configJSON(t, res)
	g := decode(t, data)
	if keys := sortedKeys(g.top); !reflect.DeepEqual(keys, []string{"auths"}) {
		t.Errorf("top-level keys = %q, want only auths", keys)
	}
	if keys := sortedKeys(g.auths); !reflect.DeepEqual(keys, []string{"registry.example.com"}) {
		t.Errorf("auths keys = %q", keys)
	}
	for _, leak := range []string{"other-pw", "hub-pw", "header-value", "proxy-pw", "me@example.com", "remote", "buildx", "unrelated"} {
		if strings.Contains(string(data), leak) {
			t.Errorf("generated config leaks %q:\n%s", leak, data)
		}
	}
	secret, err := res.DockerConfigJSONSecret()
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]map[string]map[string]string
	if err := json.Unmarshal(secret, &doc); err != nil {
		t.Fatalf("secret payload: %v", err)
	}
	if got := doc["auths"]["registry.example.com"]["auth"]; got != b64("me:pw") {
		t.Errorf("secret auths = %v", doc)
	}
}

func TestConfigJSONEmpty(t *testing.T) {
	t.Parallel()
	for _, r := range []*Resolved{nil, {}} {
		data, err := r.ConfigJSON()
		if err != nil {
			t.Fatal(err)
		}
		var doc map[string]map[string]any
		if err := json.Unmarshal(data, &doc); err != nil {
			t.Fatal(err)
		}
		if a, ok := doc["auths"]; !ok || len(a) != 0 || len(doc) != 1 {
			t.Errorf("empty config = %s, want {\"auths\":{}}", data)
		}
	}
}

// The config directory: --docker-config, else $DOCKER_CONFIG, else
// ~/.docker.
func TestConfigLocation(t *testing.T) {
	setup := func(t *testing.T) (home, env, explicit string) {
		isolate(t)
		home, env, explicit = t.TempDir(), t.TempDir(), t.TempDir()
		t.Setenv("HOME", home)
		t.Setenv("DOCKER_CONFIG", env)
		must(t, os.MkdirAll(filepath.Join(home, ".docker"), 0o700))
		writeConfig(t, filepath.Join(home, ".docker"), `{"auths":{"r.example.com":{"auth":"`+b64("home:pw")+`"}}}`)
		writeConfig(t, env, `{"auths":{"r.example.com":{"auth":"`+b64("env:pw")+`"}}}`)
		writeConfig(t, explicit, `{"auths":{"r.example.com":{"auth":"`+b64("explicit:pw")+`"}}}`)
		return home, env, explicit
	}
	user := func(t *testing.T, res *Resolved) string {
		t.Helper()
		return decode(t, configJSON(t, res)).auths["r.example.com"].Username
	}
	regs := []Registry{pull("r.example.com")}

	t.Run("explicit directory wins", func(t *testing.T) {
		_, _, explicit := setup(t)
		res, err := Resolve(context.Background(), explicit, regs, "")
		must(t, err)
		if u := user(t, res); u != "explicit" || res.Config != filepath.Join(explicit, "config.json") {
			t.Errorf("user %q from %q", u, res.Config)
		}
	})
	t.Run("explicit file", func(t *testing.T) {
		_, _, explicit := setup(t)
		res, err := Resolve(context.Background(), filepath.Join(explicit, "config.json"), regs, "")
		must(t, err)
		if u := user(t, res); u != "explicit" {
			t.Errorf("user %q", u)
		}
	})
	t.Run("DOCKER_CONFIG", func(t *testing.T) {
		setup(t)
		res, err := Resolve(context.Background(), "", regs, "")
		must(t, err)
		if u := user(t, res); u != "env" {
			t.Errorf("user %q", u)
		}
	})
	t.Run("home", func(t *testing.T) {
		home, _, _ := setup(t)
		t.Setenv("DOCKER_CONFIG", "")
		res, err := Resolve(context.Background(), "", regs, "")
		must(t, err)
		if u := user(t, res); u != "home" || res.Config != filepath.Join(home, ".docker", "config.json") {
			t.Errorf("user %q from %q", u, res.Config)
		}
	})
	t.Run("no config at all is anonymous, silently", func(t *testing.T) {
		isolate(t)
		res, err := Resolve(context.Background(), "", regs, "")
		must(t, err)
		if s := sourceOf(t, res, "r.example.com"); s.Kind != None || len(res.Warnings) != 0 {
			t.Errorf("source %+v, warnings %q", s, res.Warnings)
		}
	})
	t.Run("a --docker-config directory that does not exist is an error", func(t *testing.T) {
		setup(t)
		missing := filepath.Join(t.TempDir(), "typo")
		res, err := Resolve(context.Background(), missing, regs, "")
		if !errors.Is(err, ErrDockerConfigDir) || res != nil {
			t.Fatalf("Resolve = %v, %v; want ErrDockerConfigDir", res, err)
		}
		if msg := err.Error(); !strings.Contains(msg, strconv.Quote(missing)) || !strings.Contains(msg, "--docker-config") || strings.Contains(msg, "\n") {
			t.Errorf("error %q: want one line naming %q and the flag", msg, missing)
		}
	})
}

func TestConfigErrors(t *testing.T) {
	tests := []struct {
		name    string
		prepare func(t *testing.T, dir string) string
		wantSub string
	}{
		{"malformed JSON", func(t *testing.T, dir string) string {
			writeConfig(t, dir, `{"auths": {`)
			return dir
		}, "parsing"},
		{"bad base64 auth", func(t *testing.T, dir string) string {
			writeConfig(t, dir, `{"auths": {"r.example.com": {"auth": "%%%not-base64-secret"}}}`)
			return dir
		}, "parsing"},
		{"config.json is a directory", func(t *testing.T, dir string) string {
			must(t, os.Mkdir(filepath.Join(dir, "config.json"), 0o700))
			return dir
		}, "is a directory"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			isolate(t)
			dir := tt.prepare(t, t.TempDir())
			_, err := Resolve(context.Background(), dir, []Registry{pull("r.example.com")}, "")
			if !errors.Is(err, ErrConfig) {
				t.Fatalf("error = %v, want ErrConfig", err)
			}
			if msg := err.Error(); !strings.Contains(msg, tt.wantSub) || strings.Contains(msg, "\n") || strings.Contains(msg, "not-base64-secret") {
				t.Errorf("error %q: want one line mentioning %q and no stored value", msg, tt.wantSub)
			}
		})
	}
}

// DOCKER_AUTH_CONFIG comes before config.json, as in the docker CLI.
func TestDockerAuthConfigEnv(t *testing.T) {
	dir := isolate(t)
	writeConfig(t, dir, `{"credsStore":"pass"}`)
	t.Setenv(envAuthConfig, `{"auths":{"registry.example.com":{"auth":"`+b64("ci:ci-pw")+`"}}}`)
	res, err := Resolve(context.Background(), "", []Registry{push("registry.example.com")}, "")
	if err != nil {
		t.Fatal(err)
	}
	if s := sourceOf(t, res, "registry.example.com"); s.Kind != Inline || s.From != "DOCKER_AUTH_CONFIG" {
		t.Errorf("source %+v", s)
	}
	if got := decode(t, configJSON(t, res)).auths["registry.example.com"]; got.Username != "ci" || got.Password != "ci-pw" {
		t.Errorf("entry %+v", got)
	}

	t.Setenv(envAuthConfig, `{not json`)
	res, err = Resolve(context.Background(), "", []Registry{pull("quay.io")}, "")
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Warnings) == 0 || !strings.Contains(res.Warnings[0], "DOCKER_AUTH_CONFIG") {
		t.Errorf("warnings = %q, want one about DOCKER_AUTH_CONFIG", res.Warnings)
	}
}

func TestResolveCancelled(t *testing.T) {
	dir := isolate(t)
	helpers(t, map[string]map[string]credstest.Cred{"kanikorun-hang": {}})
	writeConfig(t, dir, `{"credsStore":"kanikorun-hang"}`)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := Resolve(ctx, "", []Registry{pull("quay.io")}, "")
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("error = %v, want context.Canceled", err)
	}
}

// A helper that never answers is cut off and treated as failing.
func TestHelperTimeout(t *testing.T) {
	dir := isolate(t)
	helpers(t, map[string]map[string]credstest.Cred{"kanikorun-hang": {}})
	writeConfig(t, dir, `{"credsStore":"kanikorun-hang"}`)
	old := helperTimeout
	helperTimeout = 200 * time.Millisecond
	t.Cleanup(func() { helperTimeout = old })
	res, err := Resolve(context.Background(), "", []Registry{pull("quay.io")}, "")
	if err != nil {
		t.Fatal(err)
	}
	if s := sourceOf(t, res, "quay.io"); s.From != "missing: helper kanikorun-hang timed out" {
		t.Errorf("source %+v", s)
	}
	if len(res.Warnings) != 1 || !strings.Contains(res.Warnings[0], "did not answer within") {
		t.Errorf("warnings = %q", res.Warnings)
	}
}

func TestAuthFor(t *testing.T) {
	dir := isolate(t)
	writeConfig(t, dir, `{"auths":{"gcr.io":{"auth":"`+b64("_json_key:key-pw")+`"},"https://index.docker.io/v1/":{"identitytoken":"hub-tok"}}}`)
	res, err := Resolve(context.Background(), "", []Registry{pull("gcr.io"), pull("index.docker.io"), pull("quay.io")}, "")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		registry string
		want     types.AuthConfig
	}{
		{"gcr.io", types.AuthConfig{Username: "_json_key", Password: "key-pw", ServerAddress: "gcr.io"}},
		{"https://gcr.io", types.AuthConfig{Username: "_json_key", Password: "key-pw", ServerAddress: "gcr.io"}},
		{"docker.io", types.AuthConfig{IdentityToken: "hub-tok", ServerAddress: "https://index.docker.io/v1/"}},
		{"https://index.docker.io/v1/", types.AuthConfig{IdentityToken: "hub-tok", ServerAddress: "https://index.docker.io/v1/"}},
		{"quay.io", types.AuthConfig{}},
		{"never.example.com", types.AuthConfig{}},
	}
	for _, tt := range tests {
		enc := res.AuthFor(tt.registry)
		if tt.want == (types.AuthConfig{}) {
			if enc != "" {
				t.Errorf("AuthFor(%q) = %q, want empty", tt.registry, enc)
			}
			continue
		}
		raw, err := base64.URLEncoding.DecodeString(enc)
		if err != nil {
			t.Fatalf("AuthFor(%q) is not base64url: %v", tt.registry, err)
		}
		var got types.AuthConfig
		if err := json.Unmarshal(raw, &got); err != nil {
			t.Fatal(err)
		}
		if got != tt.want {
			t.Errorf("AuthFor(%q) = %+v, want %+v", tt.registry, got, tt.want)
		}
	}
}

// kanikoSeesNothingFor checks that a registry absent from the generated
// file is anonymous to kaniko's keychain.
func TestKanikoAnonymousWhenNone(t *testing.T) {
	isolate(t)
	res, err := Resolve(context.Background(), "", []Registry{pull("quay.io")}, "")
	must(t, err)
	if seen := kanikoSees(t, configJSON(t, res), "quay.io/a/b"); seen != (authn.AuthConfig{}) {
		t.Errorf("kaniko sees %+v, want anonymous", seen)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// Docker Desktop keeps Hub tokens under ".../v1/access-token" and
// ".../v1/refresh-token"; those are no password for the registry.
func TestDesktopTokenKeysAreNotCredentials(t *testing.T) {
	dir := isolate(t)
	helpers(t, map[string]map[string]credstest.Cred{"desktop": {
		"https://index.docker.io/v1/access-token":  {Username: "hubuser", Secret: "jwt-access"},
		"https://index.docker.io/v1/refresh-token": {Username: "hubuser", Secret: "jwt-refresh"},
	}})
	writeConfig(t, dir, `{"credsStore":"desktop","auths":{"https://index.docker.io/v1/access-token":{"auth":"`+b64("hubuser:jwt")+`"}}}`)
	res, err := Resolve(context.Background(), "", []Registry{pull("index.docker.io")}, "")
	must(t, err)
	if s := sourceOf(t, res, "index.docker.io"); s.Kind != None {
		t.Errorf("source %+v, want none", s)
	}
	if g := decode(t, configJSON(t, res)); len(g.auths) != 0 {
		t.Errorf("auths = %+v", g.auths)
	}
}

// From a build description to the file the runner mounts: exactly the
// registries the build touches, readable by kaniko's keychain.
func TestBuildToMountedConfig(t *testing.T) {
	dir := isolate(t)
	t.Setenv("TMPDIR", t.TempDir())
	helpers(t, map[string]map[string]credstest.Cred{"kanikorun-test": {
		"127.0.0.1:5000":              {Username: "pusher", Secret: "push-pw"},
		"registry.example.com":        {Username: "puller", Secret: "pull-pw"},
		"https://index.docker.io/v1/": {Username: "hubuser", Secret: "hub-pw"},
		"other.example.com":           {Username: "other", Secret: "other-pw"},
	}})
	writeConfig(t, dir, `{"credsStore":"kanikorun-test"}`)
	ctxDir := t.TempDir()
	df := filepath.Join(ctxDir, "Dockerfile")
	must(t, os.WriteFile(df, []byte("ARG BASE=registry.example.com/base:1\nFROM $BASE AS build\nFROM alpine\nCOPY --from=build /x /x\n"), 0o644))
	b := &spec.Build{Context: ctxDir, Dockerfile: df, Destinations: []string{"127.0.0.1:5000/app:1"}}

	regs, err := buildRegistries(b)
	must(t, err)
	res, err := Resolve(context.Background(), "", regs, "")
	must(t, err)
	data := configJSON(t, res)

	g := decode(t, data)
	if keys := sortedKeys(g.auths); !reflect.DeepEqual(keys, []string{"127.0.0.1:5000", "https://index.docker.io/v1/", "registry.example.com"}) {
		t.Errorf("auths keys = %q", keys)
	}
	if strings.Contains(string(data), b64("other:other-pw")) {
		t.Error("an untouched registry's credentials reached the file")
	}
	for ref, user := range map[string]string{"127.0.0.1:5000/app:1": "pusher", "registry.example.com/base:1": "puller", "alpine": "hubuser", "other.example.com/x": ""} {
		if got := kanikoSees(t, data, ref).Username; got != user {
			t.Errorf("kaniko sees user %q for %q, want %q", got, ref, user)
		}
	}
}
