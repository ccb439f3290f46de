package tmpdir

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// leftoversName lists, one absolute path a line, files a run keeps outside
// its directory (a partial tarball beside the --tar target): a sweep of
// the dead run removes them with the directory.
const leftoversName = ".kanikorun.leftovers"

// Leftover patterns: only files that look like ours are ever removed on a
// record's word, so a tampered record cannot name the user's files.
const (
	leftoverPrefix = ".kanikorun-"
	leftoverSuffix = ".partial"
)

// ErrNotLeftover means a path given to Record is not named like a file
// kanikorun leaves behind (.kanikorun-*.partial).
var ErrNotLeftover = errors.New("not a kanikorun partial file")

// Record notes path, a file this run keeps outside its directory, so that
// a sweep after the run is killed removes it too. Its name must be
// .kanikorun-*.partial.
func (d *Dir) Record(path string) error {
	abs, err := filepath.Abs(path)
	if err != nil {
		return err
	}
	if !isLeftoverName(abs) {
		return fmt.Errorf("%w: %q", ErrNotLeftover, path)
	}
	f, err := os.OpenFile(filepath.Join(d.Path, leftoversName), os.O_WRONLY|os.O_APPEND|os.O_CREATE|noFollow, 0o600)
	if err != nil {
		return fmt.Errorf("recording %q: %w", path, err)
	}
	if _, err := fmt.Fprintln(f, abs); err != nil {
		f.Close()
		return fmt.Errorf("recording %q: %w", path, err)
	}
	return f.Close()
}

func isLeftoverName(p string) bool {
	b := filepath.Base(p)
	return filepath.IsAbs(p) && strings.HasPrefix(b, leftoverPrefix) && strings.HasSuffix(b, leftoverSuffix) && !strings.ContainsAny(p, "\n\r")
}

// removeLeftovers removes the files a dead run's directory recorded and
// returns those it removed.
func removeLeftovers(dir string) []string {
	f, err := os.OpenFile(filepath.Join(dir, leftoversName), os.O_RDONLY|noFollow, 0)
	if err != nil {
		return nil
	}
	defer f.Close()
	var removed []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		p := sc.Text()
		if !isLeftoverName(p) {
			continue
		}
		// Lstat: a symlink planted under the name goes, not its target.
		if st, err := os.Lstat(p); err != nil || !st.Mode().IsRegular() && st.Mode()&os.ModeSymlink == 0 {
			continue
		}
		if os.Remove(p) == nil {
			removed = append(removed, p)
		}
	}
	return removed
}

// Swept is what SweepAll removed.
type Swept struct {
	// Dirs are the dead runs' directories.
	Dirs []string
	// Leftovers are the files those runs had recorded (Record).
	Leftovers []string
}

// SweepAll is Sweep, reporting what it removed: the dead runs'
// directories and the partial files they recorded.
func SweepAll(parent, pattern string) Swept {
	var s Swept
	prefix, _, _ := strings.Cut(pattern, "*")
	entries, err := os.ReadDir(parent)
	if err != nil {
		return s
	}
	for _, e := range entries {
		if !e.IsDir() || !strings.HasPrefix(e.Name(), prefix) {
			continue
		}
		dir := filepath.Join(parent, e.Name())
		if left, ok := sweepDead(dir); ok {
			s.Dirs = append(s.Dirs, dir)
			s.Leftovers = append(s.Leftovers, left...)
		}
	}
	return s
}

// Alive reports whether dir is a run's directory whose process still
// holds its lock. A directory that is gone belongs to a run that ended.
// Anything that cannot be told (no lock file yet, another user's, locks
// unsupported) counts as alive, so that nothing of a live run is touched.
func Alive(dir string) bool {
	if _, err := os.Lstat(dir); errors.Is(err, os.ErrNotExist) {
		return false
	}
	f, err := os.OpenFile(filepath.Join(dir, lockName), os.O_RDWR|noFollow, 0)
	if err != nil {
		return true
	}
	defer f.Close()
	if st, err := f.Stat(); err != nil || !st.Mode().IsRegular() || !ownedByMe(st) {
		return true
	}
	// Taking the lock proves the run dead; closing f lets go of it again.
	return tryLock(f) != nil
}
