package creds

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/docker/cli/cli/config/types"

	"github.com/kanikorun/kanikorun/creds/credstest"
)

// Issue 15 item 7: a --docker-config path that does not exist stops the
// command; an existing directory without config.json is an empty
// configuration, as for docker.
func TestCheckConfigDir(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	file := filepath.Join(dir, "config.json")
	if err := os.WriteFile(file, []byte("{}"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, dir string
		wantErr   bool
	}{
		{"not given", "", false},
		{"existing directory", dir, false},
		{"existing empty directory", t.TempDir(), false},
		{"path to config.json", file, false},
		{"missing", filepath.Join(dir, "typo"), true},
		{"under a file", filepath.Join(file, "x"), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := CheckConfigDir(tt.dir)
			if got := errors.Is(err, ErrDockerConfigDir); got != tt.wantErr {
				t.Fatalf("CheckConfigDir(%q) = %v; want ErrDockerConfigDir: %v", tt.dir, err, tt.wantErr)
			}
			if err == nil {
				return
			}
			msg := err.Error()
			if !strings.HasPrefix(msg, "reading --docker-config "+strconv.Quote(tt.dir)) || strings.Contains(msg, "\n") || !strings.Contains(msg, "; pass the directory") {
				t.Errorf("error %q: want one line naming the flag and value, with a hint", msg)
			}
		})
	}
}

func TestUsesHelpers(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]bool{
		`{"credsStore":"desktop"}`:                    true,
		`{"auths":{},"credHelpers":{"ghcr.io":"gh"}}`: true,
		`{"auths":{"r.example.com":{"auth":"dTpw"}}}`: false,
		`{}`:                                 false,
		`not json`:                           false,
		`{"credsStore":"","credHelpers":{}}`: false,
	} {
		if got := UsesHelpers([]byte(in)); got != want {
			t.Errorf("UsesHelpers(%s) = %v, want %v", in, got, want)
		}
	}
}

// Issue 15 item 6: a Secret's config.json that defers to the host's
// credential store resolves on the host, as a build's does, and keeps its
// other inline auths; the helper's secret reaches only ConfigJSON.
func TestResolveDockerConfig(t *testing.T) {
	isolate(t)
	helpers(t, map[string]map[string]credstest.Cred{
		"kanikorun-test": {"127.0.0.1:5000": {Username: "alice", Secret: "store-secret-1"}, "ghcr.io": {Username: "bob", Secret: "store-secret-2"}},
		"per-reg":        {"quay.io": {Username: "<token>", Secret: "quay-token-3"}},
	})
	raw := []byte(`{"credsStore":"kanikorun-test","credHelpers":{"quay.io":"per-reg","gcr.io":"gcr","other.example.com":"missing-helper"},` +
		`"auths":{"127.0.0.1:5000":{},"kept.example.com":{"auth":"` + b64("k:inline-secret-4") + `"}}}`)
	if !UsesHelpers(raw) {
		t.Fatal("UsesHelpers = false")
	}
	res, err := ResolveDockerConfig(context.Background(), raw, `secret "regcred"`,
		[]Registry{push("127.0.0.1:5000"), pull("quay.io"), pull("index.docker.io")}, "")
	if err != nil {
		t.Fatal(err)
	}
	want := []Source{
		{Registry: "127.0.0.1:5000", Push: true, Uses: []string{UseDestination}, Kind: Helper, From: "helper kanikorun-test"},
		{Registry: "index.docker.io", Uses: []string{UseFrom}, Kind: None, From: "none (helper kanikorun-test has no entry)"},
		{Registry: "quay.io", Uses: []string{UseFrom}, Kind: Helper, From: "helper per-reg"},
	}
	if !reflect.DeepEqual(res.Sources, want) {
		t.Errorf("sources:\n got %+v\nwant %+v", res.Sources, want)
	}
	if res.Config != `secret "regcred"` {
		t.Errorf("Config = %q", res.Config)
	}
	g := decode(t, configJSON(t, res))
	wantAuths := map[string]types.AuthConfig{
		"127.0.0.1:5000":   {Username: "alice", Password: "store-secret-1"},
		"quay.io":          {IdentityToken: "quay-token-3"},
		"kept.example.com": {Username: "k", Password: "inline-secret-4"},
	}
	if !reflect.DeepEqual(g.auths, wantAuths) {
		t.Errorf("auths = %+v, want %+v", g.auths, wantAuths)
	}
	// ghcr.io is not asked for: the store's other entries stay in it.
	if want := map[string]string{"gcr.io": "gcr"}; !reflect.DeepEqual(g.helps, want) {
		t.Errorf("credHelpers = %v, want only the in-executor %v", g.helps, want)
	}
	if _, ok := g.top["credsStore"]; ok {
		t.Error("generated config keeps credsStore")
	}
	for _, v := range []string{fmt.Sprintf("%v", res), fmt.Sprintf("%+v", res), fmt.Sprintf("%#v", res), strings.Join(res.Warnings, "\n")} {
		for _, secret := range []string{"store-secret", "quay-token", "inline-secret"} {
			if strings.Contains(v, secret) {
				t.Errorf("%q leaks %s", v, secret)
			}
		}
	}
}

// A push registry whose helper is missing fails as a build does, naming
// the Secret rather than a host file; a slim executor keeps no in-image
// helper; a Secret that is not a config fails without quoting it.
func TestResolveDockerConfigFailures(t *testing.T) {
	isolate(t)
	raw := []byte(`{"credsStore":"desktop","credHelpers":{"gcr.io":"gcr"}}`)
	res, err := ResolveDockerConfig(context.Background(), raw, `secret "regcred"`, []Registry{push("127.0.0.1:5000")}, "")
	if !errors.Is(err, ErrPushCredentials) || res == nil {
		t.Fatalf("err = %v, want ErrPushCredentials", err)
	}
	if msg := err.Error(); !strings.Contains(msg, `docker-credential-desktop`) || !strings.Contains(msg, `change "credsStore" in secret "regcred"`) || strings.Contains(msg, "\n") {
		t.Errorf("error %q: want one line naming the helper and the Secret", msg)
	}

	res, err = ResolveDockerConfig(context.Background(), raw, `secret "regcred"`, nil, "gcr.io/kaniko-project/executor:v1.24.0-slim")
	if err != nil {
		t.Fatal(err)
	}
	if g := decode(t, configJSON(t, res)); len(g.helps) != 0 {
		t.Errorf("slim executor: credHelpers %v kept", g.helps)
	}

	_, err = ResolveDockerConfig(context.Background(), []byte(`{"auths":{"r":{"auth":"%%%not-base64-secret"}}}`), `secret "regcred"`, nil, "")
	if !errors.Is(err, ErrConfig) || strings.Contains(err.Error(), "not-base64-secret") || !strings.Contains(err.Error(), `secret "regcred"`) {
		t.Errorf("err = %v, want ErrConfig naming the Secret and no value", err)
	}
}
