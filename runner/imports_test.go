package runner

import (
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// sdkFile is the one non-test file outside internal/testbed that may
// import the Docker SDK.
const sdkFile = "runner/docker.go"

// sdkModules are the Docker client modules, today's and tomorrow's. The
// credential helpers (github.com/docker/docker-credential-helpers), moby/term
// and moby/buildkit are other modules and are not matched.
var sdkModules = []string{"github.com/docker/docker", "github.com/moby/moby"}

// sdkOnlyModules may be imported only next to the SDK: they classify its
// errors.
var sdkOnlyModules = []string{"github.com/containerd/errdefs"}

func inModule(path string, modules []string) bool {
	for _, m := range modules {
		if path == m || strings.HasPrefix(path, m+"/") {
			return true
		}
	}
	return false
}

// importers lists, relative to root and with slashes, the non-test .go
// files outside internal/testbed, testdata and nested modules that import
// a package of the given modules.
func importers(t *testing.T, root string, modules []string) []string {
	t.Helper()
	var files []string
	fset := token.NewFileSet()
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(root, p)
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		if d.IsDir() {
			if rel == "." {
				return nil
			}
			name := d.Name()
			if rel == "internal/testbed" || name == "testdata" || name == "vendor" || strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_") {
				return filepath.SkipDir
			}
			if _, err := os.Stat(filepath.Join(p, "go.mod")); err == nil {
				return filepath.SkipDir // another module
			}
			return nil
		}
		if !strings.HasSuffix(rel, ".go") || strings.HasSuffix(rel, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(fset, p, nil, parser.ImportsOnly)
		if err != nil {
			return err
		}
		for _, imp := range f.Imports {
			path, err := strconv.Unquote(imp.Path.Value)
			if err != nil {
				return err
			}
			if inModule(path, modules) {
				files = append(files, rel)
				break
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(files)
	return files
}

// TestOneFileImportsTheSDK keeps the daemon seam narrow: SDK types cannot
// leak into Engine, the runner's logic or the CLI if no other file can
// name them.
func TestOneFileImportsTheSDK(t *testing.T) {
	t.Parallel()
	root := ".."
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		t.Fatalf("module root not found: %v", err)
	}
	for _, mods := range [][]string{sdkModules, sdkOnlyModules} {
		got := importers(t, root, mods)
		if len(got) > 1 || len(got) == 1 && got[0] != sdkFile {
			t.Errorf("non-test files outside internal/testbed importing %s: %v; only %s may, put the call behind runner.Engine", strings.Join(mods, " or "), got, sdkFile)
		}
	}
	if got := importers(t, root, sdkModules); !slices.Equal(got, []string{sdkFile}) {
		t.Errorf("SDK importers = %v, want [%s]: has the adapter moved? update sdkFile", got, sdkFile)
	}
}

// TestImportersFindsEveryKind checks the check: it must see each way a
// file can name the SDK, and skip what it should skip.
func TestImportersFindsEveryKind(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	files := map[string]string{
		"a/plain.go":               `package a; import "github.com/docker/docker/client"`,
		"a/grouped.go":             "package a\nimport (\n\t\"fmt\"\n\tc \"github.com/docker/docker/api/types/container\"\n)",
		"b/moby.go":                `package b; import _ "github.com/moby/moby/client"`,
		"b/root.go":                `package b; import "github.com/docker/docker"`,
		"c/helpers.go":             `package c; import "github.com/docker/docker-credential-helpers/client"`,
		"c/term.go":                `package c; import "github.com/moby/term"`,
		"c/x_test.go":              `package c; import "github.com/docker/docker/client"`,
		"internal/testbed/tb.go":   `package testbed; import "github.com/docker/docker/client"`,
		"internal/testbed/x/x.go":  `package x; import "github.com/docker/docker/client"`,
		"d/testdata/fixture.go":    `package fixture; import "github.com/docker/docker/client"`,
		"nested/go.mod":            "module nested\n",
		"nested/n.go":              `package n; import "github.com/docker/docker/client"`,
		"internal/testbedish/t.go": `package t; import "github.com/docker/docker/client"`,
	}
	for name, src := range files {
		p := filepath.Join(root, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got := importers(t, root, sdkModules)
	want := []string{"a/grouped.go", "a/plain.go", "b/moby.go", "b/root.go", "internal/testbedish/t.go"}
	if !slices.Equal(got, want) {
		t.Errorf("importers = %v, want %v", got, want)
	}
}
