package creds

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/docker/cli/cli/config"
	"github.com/docker/cli/cli/config/types"
	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"

	"github.com/kanikorun/kanikorun/creds/credstest"
)

var update = flag.Bool("update", false, "rewrite golden files under testdata/")

// helperBin is the test credential helper, built once for the package.
var helperBin string

func TestMain(m *testing.M) {
	flag.Parse()
	dir, err := os.MkdirTemp("", "kanikorun-creds-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	helperBin, err = credstest.BuildTo(dir)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// isolate gives the test a home, a docker config directory and a PATH of
// its own, so nothing of the machine's docker setup leaks in. It returns
// the config directory ($DOCKER_CONFIG).
func isolate(t *testing.T) string {
	t.Helper()
	t.Setenv("HOME", t.TempDir())
	dir := t.TempDir()
	t.Setenv("DOCKER_CONFIG", dir)
	t.Setenv(envAuthConfig, "")
	t.Setenv(credstest.StoreEnv, "")
	t.Setenv("PATH", t.TempDir())
	return dir
}

// writeConfig writes a host config.json into dir.
func writeConfig(t *testing.T, dir, content string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, "config.json"), []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

// helpers installs the test helper under names, each with its store.
func helpers(t *testing.T, stores map[string]map[string]credstest.Cred) {
	t.Helper()
	var names []string
	for n, s := range stores {
		names = append(names, n)
		credstest.Store(t, n, s)
	}
	credstest.Install(t, helperBin, names...)
}

// generated decodes a generated config.json the way kaniko does.
type generated struct {
	top   map[string]json.RawMessage
	auths map[string]types.AuthConfig
	helps map[string]string
}

func decode(t *testing.T, data []byte) generated {
	t.Helper()
	var g generated
	if err := json.Unmarshal(data, &g.top); err != nil {
		t.Fatalf("generated config is not JSON: %v", err)
	}
	cf, err := config.LoadFromReader(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("generated config does not load: %v", err)
	}
	g.auths = map[string]types.AuthConfig{}
	for k, ac := range cf.AuthConfigs {
		ac.ServerAddress = ""
		g.auths[k] = ac
	}
	g.helps = cf.CredentialHelpers
	return g
}

// kanikoSees returns what kaniko's keychain (go-containerregistry's
// authn.DefaultKeychain, reading $DOCKER_CONFIG/config.json) resolves for
// an image reference, given the generated config.json.
func kanikoSees(t *testing.T, data []byte, ref string) authn.AuthConfig {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "config.json"), data, 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("HOME", t.TempDir())
	t.Setenv("DOCKER_CONFIG", dir)
	r, err := name.ParseReference(ref)
	if err != nil {
		t.Fatal(err)
	}
	a, err := authn.DefaultKeychain.Resolve(r.Context())
	if err != nil {
		t.Fatalf("keychain for %q: %v", ref, err)
	}
	cfg, err := a.Authorization()
	if err != nil {
		t.Fatal(err)
	}
	return *cfg
}
