// Package tmpdir makes the private temporary directories a build keeps its
// credentials file and outputs in, so that a later run can remove the ones
// a killed kanikorun left behind.
//
// A live directory holds a lock file its process keeps locked (flock); the
// kernel drops the lock when the process dies, SIGKILL included. New
// sweeps the parent first: a directory of ours whose lock nobody holds
// belongs to a dead process and is removed. Directories without a lock
// file (other tools', or ours from before the lock was made) are never
// touched.
package tmpdir

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// lockName is the lock file in every directory New makes. It appears only
// once locked: it is created under a staging name, locked, then renamed,
// so a sweep never sees a lock file that is not yet held.
const lockName = ".kanikorun.lock"

// Dir is a private (0700) temporary directory held by this process.
type Dir struct {
	// Path is the directory's absolute path.
	Path string
	lock *os.File
}

// New removes what dead runs left in parent (os.TempDir() when empty)
// under pattern's prefix, then creates a directory there as
// os.MkdirTemp(parent, pattern) does, private and locked.
func New(parent, pattern string) (*Dir, error) {
	if parent == "" {
		parent = os.TempDir()
	}
	Sweep(parent, pattern)
	dir, err := os.MkdirTemp(parent, pattern)
	if err != nil {
		return nil, fmt.Errorf("creating a temporary directory: %w; check TMPDIR", err)
	}
	if abs, err := filepath.Abs(dir); err == nil {
		dir = abs
	}
	d := &Dir{Path: dir}
	if err := d.hold(); err != nil {
		_ = os.RemoveAll(dir)
		return nil, err
	}
	return d, nil
}

func (d *Dir) hold() error {
	if err := os.Chmod(d.Path, 0o700); err != nil {
		return fmt.Errorf("securing %q: %w", d.Path, err)
	}
	staging := filepath.Join(d.Path, lockName+".new")
	f, err := os.OpenFile(staging, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("creating the lock of %q: %w", d.Path, err)
	}
	switch err := tryLock(f); {
	case errors.Is(err, errUnsupported):
		// Nothing to hold: the directory is still removed on every exit
		// but a kill, and sweeps leave it alone. (Windows cannot rename a
		// file that is open, so close it first.)
		f.Close()
		f = nil
	case err != nil:
		f.Close()
		return fmt.Errorf("locking %q: %w", staging, err)
	}
	if err := os.Rename(staging, filepath.Join(d.Path, lockName)); err != nil {
		if f != nil {
			f.Close()
		}
		return fmt.Errorf("creating the lock of %q: %w", d.Path, err)
	}
	d.lock = f
	return nil
}

// Remove deletes the directory and everything in it, then lets go of the
// lock. It is safe to call more than once.
func (d *Dir) Remove() error {
	if d == nil || d.Path == "" {
		return nil
	}
	// Let go first: Windows cannot remove an open file. A sweep that
	// takes the lock in between only removes the same directory.
	if d.lock != nil {
		d.lock.Close()
		d.lock = nil
	}
	if err := os.RemoveAll(d.Path); err != nil {
		return fmt.Errorf("removing %q: %w", d.Path, err)
	}
	d.Path = ""
	return nil
}

// Sweep removes the directories in parent whose names start with pattern's
// prefix (the part before "*", as os.MkdirTemp reads it) that hold a lock
// file nobody holds: their process died without cleaning up. It is best
// effort and returns how many it removed.
func Sweep(parent, pattern string) int {
	return len(SweepAll(parent, pattern).Dirs)
}

// sweepDead removes dir when its run is dead, with the files it recorded
// (Record), and reports those files and whether it removed dir.
func sweepDead(dir string) ([]string, bool) {
	// O_NOFOLLOW: a symlink planted as the lock file is not ours.
	f, err := os.OpenFile(filepath.Join(dir, lockName), os.O_RDWR|noFollow, 0)
	if err != nil {
		return nil, false
	}
	defer f.Close()
	if st, err := f.Stat(); err != nil || !st.Mode().IsRegular() || !ownedByMe(st) {
		// Another user's, even when we may remove it (root): not ours.
		return nil, false
	}
	if tryLock(f) != nil {
		// Held by a live run, or locks are unsupported here.
		return nil, false
	}
	left := removeLeftovers(dir)
	return left, os.RemoveAll(dir) == nil
}
