//go:build !linux

package lint

import (
	"errors"
	"fmt"
	"io"
	"os"
)

// dirHandle reads one directory's entries in small batches, so finding
// one entry costs little.
type dirHandle struct {
	f *os.File
}

// openDir opens a directory; with noFollow a symbolic link is an error.
func (c *contextIndex) openDir(full string, noFollow bool) (*dirHandle, error) {
	if noFollow {
		fi, err := os.Lstat(full)
		if err != nil {
			return nil, err
		}
		if !fi.IsDir() {
			return nil, fmt.Errorf("opening %q: not a directory", full)
		}
	}
	f, err := os.Open(full)
	if err != nil {
		return nil, err
	}
	c.reads++
	return &dirHandle{f: f}, nil
}

func (h *dirHandle) close() { h.f.Close() }

// each streams the entries to fn until fn returns true; ok is false when
// the directory cannot be read.
func (h *dirHandle) each(fn func(name string, isDir bool) bool) (stopped, ok bool) {
	for n := 8; ; n = min(n*4, 512) {
		batch, err := h.f.ReadDir(n)
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
