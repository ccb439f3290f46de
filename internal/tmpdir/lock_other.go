//go:build !unix

package tmpdir

import (
	"errors"
	"os"
)

const noFollow = 0

var errUnsupported = errors.New("file locks are not supported")

// tryLock is not available here: directories are not held, and sweeps
// remove nothing.
func tryLock(*os.File) error { return errUnsupported }

// ownedByMe cannot tell here; nothing is swept anyway.
func ownedByMe(os.FileInfo) bool { return false }
