package lint

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// seedDockerfiles returns every Dockerfile under the repository's testdata
// (Dockerfile, Dockerfile.*, *.Dockerfile, *.dockerfile).
func seedDockerfiles(t testing.TB) map[string][]byte {
	t.Helper()
	seeds := map[string][]byte{}
	root := filepath.Join("..", "..", "testdata")
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			return nil
		}
		base := strings.ToLower(d.Name())
		if base == "dockerfile" || strings.HasPrefix(base, "dockerfile.") || strings.HasSuffix(base, ".dockerfile") {
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			seeds[p] = b
		}
		return nil
	})
	if err != nil {
		t.Fatalf("walking %s: %v", root, err)
	}
	return seeds
}

// FuzzLint feeds arbitrary Dockerfiles to the linter for both flavours and
// modes: it must never panic and must return findings, not errors.
func FuzzLint(f *testing.F) {
	seeds := seedDockerfiles(f)
	if len(seeds) == 0 {
		f.Fatal("no seed Dockerfiles under testdata")
	}
	for _, b := range seeds {
		f.Add(b)
	}
	// A short doubling chain, so mutations explore variable growth (a
	// naive expander allocates 2^n bytes).
	var bomb strings.Builder
	bomb.WriteString("FROM alpine\nARG A=ab\n")
	for range 12 {
		bomb.WriteString("ENV A=$A$A\n")
	}
	bomb.WriteString("COPY $A /workspace/$A\n")
	f.Add([]byte(bomb.String()))
	ctx := f.TempDir()
	for _, p := range []string{"go.mod", "src/main.go", "node_modules/x/index.js", "docs/a.md"} {
		full := filepath.Join(ctx, p)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			f.Fatal(err)
		}
		if err := os.WriteFile(full, []byte("x"), 0o644); err != nil {
			f.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(ctx, ".dockerignore"), []byte("node_modules\n*.md\n!README.md\n"), 0o644); err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, src []byte) {
		_ = sourceNeedsNetwork(src) // must not panic
		for _, o := range []Options{
			{Context: ctx, BuildArgs: []string{"VERSION=1"}, Target: "build"},
			{Context: ctx, Flavor: "fork", Mode: Job},
		} {
			r, err := LintSource(src, o)
			if err != nil {
				t.Fatalf("LintSource returned an error for Dockerfile input: %v", err)
			}
			lines := strings.Count(string(src), "\n") + 1
			for _, fd := range r.Findings {
				if fd.ID == "" || fd.Message == "" || strings.Contains(fd.Message, "\n") || strings.Contains(fd.Hint, "\n") {
					t.Fatalf("malformed finding %+v", fd)
				}
				if fd.Line < 0 || fd.Line > lines || (fd.Line > 0 && fd.Column < 1) {
					t.Fatalf("finding outside the file (%d lines): %+v", lines, fd)
				}
			}
		}
	})
}
