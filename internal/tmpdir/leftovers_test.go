package tmpdir

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

func TestAlive(t *testing.T) {
	t.Parallel()
	parent := t.TempDir()
	d, err := New(parent, "kanikorun-")
	if err != nil {
		t.Fatal(err)
	}
	path := d.Path
	if !Alive(path) {
		t.Errorf("a held directory is not alive")
	}
	dead := filepath.Join(parent, "kanikorun-dead")
	if err := os.Mkdir(dead, 0o700); err != nil {
		t.Fatal(err)
	}
	if !Alive(dead) {
		t.Errorf("a directory without a lock file (being made, or not ours) counts as dead")
	}
	if err := os.WriteFile(filepath.Join(dead, lockName), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if Alive(dead) {
		t.Errorf("a directory whose lock nobody holds is alive")
	}
	if err := d.Remove(); err != nil {
		t.Fatal(err)
	}
	if Alive(path) {
		t.Errorf("a removed directory is alive")
	}
}

func TestSweepRemovesRecordedLeftovers(t *testing.T) {
	t.Parallel()
	parent, outDir := t.TempDir(), t.TempDir()
	partial := filepath.Join(outDir, ".kanikorun-123.tar.partial")
	userFile := filepath.Join(outDir, "image.tar")
	for _, p := range []string{partial, userFile} {
		if err := os.WriteFile(p, []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	d, err := New(parent, "kanikorun-")
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Record(partial); err != nil {
		t.Fatal(err)
	}
	if err := d.Record(userFile); !errors.Is(err, ErrNotLeftover) {
		t.Errorf("recording %q: %v, want ErrNotLeftover", userFile, err)
	}
	// A tampered record cannot name the user's file either.
	f, err := os.OpenFile(filepath.Join(d.Path, leftoversName), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = f.WriteString(userFile + "\n")
	f.Close()

	if s := SweepAll(parent, "kanikorun-"); len(s.Dirs) != 0 || len(s.Leftovers) != 0 {
		t.Errorf("a live run's directory was swept: %+v", s)
	}
	// The process dies: its lock goes, its directory stays.
	d.lock.Close()
	d.lock = nil
	s := SweepAll(parent, "kanikorun-")
	if !slices.Equal(s.Dirs, []string{d.Path}) || !slices.Equal(s.Leftovers, []string{partial}) {
		t.Errorf("swept %+v, want %s and %s", s, d.Path, partial)
	}
	if _, err := os.Stat(partial); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the partial tarball survived: %v", err)
	}
	if _, err := os.Stat(userFile); err != nil {
		t.Errorf("the user's file went: %v", err)
	}
}
