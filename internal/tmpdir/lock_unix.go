//go:build unix

package tmpdir

import (
	"errors"
	"os"
	"syscall"
)

const noFollow = syscall.O_NOFOLLOW

var errUnsupported = errors.New("file locks are not supported")

// tryLock takes an exclusive lock on f without waiting. The lock belongs
// to f's open file description and dies with the process.
func tryLock(f *os.File) error {
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == syscall.EINTR {
			continue
		}
		if err == syscall.ENOTSUP || err == syscall.EOPNOTSUPP {
			return errUnsupported
		}
		return err
	}
}

// ownedByMe reports whether this process's user owns the file.
func ownedByMe(fi os.FileInfo) bool {
	st, ok := fi.Sys().(*syscall.Stat_t)
	return ok && int(st.Uid) == os.Getuid()
}
