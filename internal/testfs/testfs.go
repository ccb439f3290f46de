// Package testfs writes file trees for tests: build contexts, claims,
// Dockerfiles beside them.
package testfs

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// WriteTree writes files (slash-separated paths relative to dir -> content;
// a path ending in / is an empty directory) into dir, creating parents,
// and returns dir.
func WriteTree(t testing.TB, dir string, files map[string]string) string {
	t.Helper()
	for p, content := range files {
		full := filepath.Join(dir, filepath.FromSlash(p))
		if strings.HasSuffix(p, "/") {
			if err := os.MkdirAll(full, 0o755); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}
