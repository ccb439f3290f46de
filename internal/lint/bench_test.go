package lint

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kanikorun/kanikorun/internal/lint/lintbench"
)

// benchContext builds the benchmark's context once in a temporary
// directory.
func benchContext(b *testing.B) (dir string, dockerfile []byte) {
	b.Helper()
	dir = b.TempDir()
	dockerfile, err := lintbench.WriteContext(dir)
	if err != nil {
		b.Fatal(err)
	}
	return dir, dockerfile
}

// BenchmarkLint is the in-process cost of linting a 300-line multi-stage
// Dockerfile against a 10,000-file context with a .dockerignore (target:
// under 5 ms).
func BenchmarkLint(b *testing.B) {
	dir, src := benchContext(b)
	if lines := strings.Count(string(src), "\n"); lines < 295 || lines > 320 {
		b.Fatalf("benchmark Dockerfile has %d lines, want about 300", lines)
	}
	path := filepath.Join(dir, "Dockerfile")
	if err := os.WriteFile(path, src, 0o644); err != nil {
		b.Fatal(err)
	}
	o := Options{Dockerfile: path, Context: dir}
	r, err := Lint(o)
	if err != nil {
		b.Fatal(err)
	}
	// The Dockerfile is valid for the context: only the cache mounts
	// (upstream) and the syntax directive are reported.
	for _, f := range r.Findings {
		if f.ID != RuleMountOther && f.ID != RuleDirective {
			b.Fatalf("unexpected finding %v", f)
		}
	}
	b.ReportAllocs()
	start := cpuTime()
	for b.Loop() {
		if _, err := Lint(o); err != nil {
			b.Fatal(err)
		}
	}
	// The GC runs on other threads too, so this is the process's CPU
	// per lint, not just this goroutine's.
	b.ReportMetric(float64(cpuTime()-start)/float64(b.N), "cpu-ns/op")
}
