// Package credstest puts a real docker-credential helper on PATH for tests:
// kanikorun's own test helper (creds/internal/testhelper), built with the
// go tool and installed under any names the test wants.
//
//	bin := credstest.Build(t)                     // or once per package in TestMain with BuildTo
//	credstest.Install(t, bin, "kanikorun-test")   // PATH now has docker-credential-kanikorun-test
//	credstest.Store(t, "kanikorun-test", map[string]credstest.Cred{"127.0.0.1:5000": {"user", "pass"}})
//
// A name ending in "-broken" makes the helper fail after printing its store
// to stdout and stderr; one ending in "-hang" never answers. Install and
// Store use t.Setenv, so tests that call them cannot run in parallel.
package credstest

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// helperPackage is the import path of the test helper's main package.
const helperPackage = "github.com/kanikorun/kanikorun/creds/internal/testhelper"

// StoreEnv names the variable holding the default store file of every
// installed helper; StoreEnv+"_"+NAME (see Store) overrides it per helper.
const StoreEnv = "KANIKORUN_TESTHELPER_STORE"

// Cred is one stored credential. A Username of "<token>" makes Secret an
// identity token, as in the docker-credential protocol.
type Cred struct {
	Username string
	Secret   string
}

// BuildTo compiles the test helper into dir and returns the binary's path.
// It suits TestMain, which has no testing.TB.
func BuildTo(dir string) (string, error) {
	bin := filepath.Join(dir, "kanikorun-testhelper")
	cmd := exec.Command("go", "build", "-o", bin, helperPackage)
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("building the test credential helper: %w\n%s", err, out)
	}
	return bin, nil
}

// Build compiles the test helper into a temporary directory of the test.
func Build(t testing.TB) string {
	t.Helper()
	bin, err := BuildTo(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return bin
}

// Install makes bin available as docker-credential-NAME for each name, in
// a fresh directory put first on PATH for the rest of the test, and
// returns that directory.
func Install(t testing.TB, bin string, names ...string) string {
	t.Helper()
	dir := t.TempDir()
	for _, n := range names {
		if err := os.Symlink(bin, filepath.Join(dir, "docker-credential-"+n)); err != nil {
			t.Fatal(err)
		}
	}
	t.Setenv("PATH", dir+string(os.PathListSeparator)+os.Getenv("PATH"))
	return dir
}

// Store writes creds to a fresh store file for the helper installed as
// name and points that helper at it for the rest of the test. It returns
// the file's path.
func Store(t testing.TB, name string, creds map[string]Cred) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name+".json")
	b, err := json.Marshal(creds)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv(StoreEnv+"_"+EnvName(name), path)
	return path
}

// EnvName turns a helper name into the suffix of its store variable:
// upper case, every other character as "_".
func EnvName(name string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z':
			return r - 'a' + 'A'
		case r >= 'A' && r <= 'Z', r >= '0' && r <= '9':
			return r
		}
		return '_'
	}, name)
}
