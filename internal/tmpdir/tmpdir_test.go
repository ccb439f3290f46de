package tmpdir

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

func TestNewIsPrivateLockedAndRemoved(t *testing.T) {
	parent := t.TempDir()
	d, err := New(parent, "kanikorun-")
	if err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(d.Path)
	if err != nil {
		t.Fatal(err)
	}
	if runtime.GOOS != "windows" && st.Mode().Perm() != 0o700 {
		t.Errorf("mode %v, want 0700", st.Mode().Perm())
	}
	if filepath.Dir(d.Path) != parent || !strings.HasPrefix(filepath.Base(d.Path), "kanikorun-") {
		t.Errorf("path %q, want kanikorun-* in %q", d.Path, parent)
	}
	names := dirNames(t, d.Path)
	if len(names) != 1 || names[0] != lockName {
		t.Errorf("a new directory holds %v, want only %s", names, lockName)
	}
	// A live directory survives a sweep.
	if n := Sweep(parent, "kanikorun-"); n != 0 {
		t.Errorf("sweep removed %d directories while their run is alive", n)
	}
	if err := d.Remove(); err != nil {
		t.Fatal(err)
	}
	if err := d.Remove(); err != nil {
		t.Errorf("second Remove: %v", err)
	}
	if left := dirNames(t, parent); len(left) != 0 {
		t.Errorf("left behind: %v", left)
	}
}

// TestSweepRemovesWhatAKilledProcessLeft runs New in a child process,
// checks that its directory survives a sweep while the child lives, kills
// the child with SIGKILL, and checks that the next sweep removes it.
func TestSweepRemovesWhatAKilledProcessLeft(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("no file locks: nothing is swept on Windows")
	}
	parent := t.TempDir()
	child := exec.Command(os.Args[0], "-test.run=^TestHelperHoldDir$")
	child.Env = append(os.Environ(), "TMPDIR_TEST_HOLD="+parent)
	out, err := child.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = child.Process.Kill(); _ = child.Wait() })
	path, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		t.Fatalf("child: %v", err)
	}
	path = strings.TrimSpace(path)
	if _, err := os.Stat(filepath.Join(path, "config.json")); err != nil {
		t.Fatalf("child's directory: %v", err)
	}
	if n := Sweep(parent, "kanikorun-"); n != 0 {
		t.Fatalf("sweep removed %d directories of a live process", n)
	}
	if err := child.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = child.Wait()
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("the killed child's directory should still be there before a sweep: %v", err)
	}
	// The next New sweeps.
	d, err := New(parent, "kanikorun-")
	if err != nil {
		t.Fatal(err)
	}
	defer d.Remove()
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Errorf("the killed child's directory survived the sweep: %v", err)
	}
}

// TestHelperHoldDir is the child of the test above: it makes a directory
// with a secret in it, prints its path and waits to be killed.
func TestHelperHoldDir(t *testing.T) {
	parent := os.Getenv("TMPDIR_TEST_HOLD")
	if parent == "" {
		t.Skip("helper process only")
	}
	d, err := New(parent, "kanikorun-")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(d.Path, "config.json"), []byte(`{"auths":{}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	os.Stdout.WriteString(d.Path + "\n")
	select {}
}

func TestSweepLeavesOthersAlone(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("no file locks: nothing is swept on Windows")
	}
	parent := t.TempDir()
	mk := func(dir string, files ...string) {
		t.Helper()
		if err := os.MkdirAll(filepath.Join(parent, dir), 0o700); err != nil {
			t.Fatal(err)
		}
		for _, f := range files {
			if err := os.WriteFile(filepath.Join(parent, dir, f), nil, 0o600); err != nil {
				t.Fatal(err)
			}
		}
	}
	mk("kanikorun-bench-1", "work")            // no lock file: not ours to judge
	mk("kanikorun-half-made", lockName+".new") // killed before its lock was in place
	mk("other-tool-1", lockName)               // another prefix
	mk("kanikorun-symlinked")                  // lock file is a symlink
	if err := os.Symlink(filepath.Join(parent, "other-tool-1", lockName), filepath.Join(parent, "kanikorun-symlinked", lockName)); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(parent, "kanikorun-file"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if os.Getuid() == 0 {
		// Root may remove anything; another user's directory is still not
		// ours.
		mk("kanikorun-other-user", lockName)
		if err := os.Lchown(filepath.Join(parent, "kanikorun-other-user", lockName), 12345, 12345); err != nil {
			t.Fatal(err)
		}
	}
	mk("kanikorun-dead", lockName, "config.json") // unlocked: its process is gone
	before := dirNames(t, parent)
	if n := Sweep(parent, "kanikorun-*"); n != 1 {
		t.Errorf("removed %d, want 1", n)
	}
	after := dirNames(t, parent)
	if len(after) != len(before)-1 {
		t.Fatalf("before %v, after %v: want only kanikorun-dead gone", before, after)
	}
	for _, n := range after {
		if n == "kanikorun-dead" {
			t.Errorf("kanikorun-dead survived")
		}
	}
}

func dirNames(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}
