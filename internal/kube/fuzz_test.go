package kube

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// kubeSeeds returns every manifest and status fixture under testdata/kube.
func kubeSeeds(f *testing.F) {
	f.Helper()
	root := filepath.Join("..", "..", "testdata", "kube")
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		if ext := filepath.Ext(p); ext == ".yaml" || ext == ".json" {
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			f.Add(b)
		}
		return nil
	})
	if err != nil {
		f.Fatal(err)
	}
	for _, s := range []string{"", "---\n", "kind: Job\n", "[1]", "apiVersion: v1\nkind: List\nitems: [3]\n", "apiVersion: batch/v1\nkind: Job\nspec: 3\n"} {
		f.Add([]byte(s))
	}
}

// FuzzReplayManifest feeds arbitrary manifests to what replay reads and
// plans, in a dry run (which writes nothing): no panic, and an error is
// one line.
func FuzzReplayManifest(f *testing.F) {
	kubeSeeds(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		done := make(chan struct{})
		defer close(done)
		go func() {
			select {
			case <-done:
			case <-time.After(5 * time.Second):
				panic(fmt.Sprintf("replay planning hangs on %q", data))
			}
		}()
		m, err := ReadManifest(data)
		if err != nil {
			oneLineErr(t, err)
			return
		}
		r, err := m.Plan(ReplayOptions{DryRun: true, TempDir: t.TempDir()})
		if err != nil {
			oneLineErr(t, err)
			return
		}
		_ = r.Cleanup()
	})
}

// FuzzStatus feeds arbitrary input to `kanikorun status`: no panic, an
// exit code of 0, 1 or 2 for a Job, and one line for an error.
func FuzzStatus(f *testing.F) {
	kubeSeeds(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		st, err := ParseStatus(data)
		if err != nil {
			oneLineErr(t, err)
			return
		}
		if st.ExitCode < 0 || st.ExitCode > 2 {
			t.Errorf("exit code %d for %q", st.ExitCode, data)
		}
		if strings.Contains(st.String(), "\n") {
			t.Errorf("status is not one line: %q", st.String())
		}
	})
}

func oneLineErr(t *testing.T, err error) {
	t.Helper()
	if strings.Contains(strings.TrimSpace(err.Error()), "\n") {
		t.Errorf("error is not one line: %q", err)
	}
}
