//go:build !linux

package lint

import (
	"errors"
	"io"
	"os"
	"path/filepath"
)

// readDir streams a directory's entries to fn until fn returns true,
// reading small batches so that finding one entry costs little. ok is
// false when the directory cannot be read.
func (c *contextIndex) readDir(dir string, fn func(name string, isDir bool) bool) (stopped, ok bool) {
	c.reads++
	f, err := os.Open(filepath.Join(c.root, filepath.FromSlash(dir)))
	if err != nil {
		return false, false
	}
	defer f.Close()
	for n := 8; ; n = min(n*4, 512) {
		batch, err := f.ReadDir(n)
		for _, e := range batch {
			if fn(e.Name(), e.IsDir()) {
				return true, true
			}
		}
		if errors.Is(err, io.EOF) || (err == nil && len(batch) == 0) {
			return false, true
		}
		if err != nil {
			return false, false
		}
	}
}
