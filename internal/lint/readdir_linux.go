package lint

import (
	"encoding/binary"
	"os"
	"path/filepath"
	"syscall"
)

// dirHandle reads one directory's entries. On Linux it uses raw syscalls:
// the source check may open dozens of directories to find one surviving
// entry in each, and os.Open costs twice the syscalls (poller
// registration) of open+getdents+close.
type dirHandle struct {
	c    *contextIndex
	fd   int
	path string
	buf  []byte
}

// openDir opens a directory; with noFollow a symbolic link is an error,
// so a successful open also answers "is this a real directory" without
// an lstat.
func (c *contextIndex) openDir(full string, noFollow bool) (*dirHandle, error) {
	flags := syscall.O_RDONLY | syscall.O_DIRECTORY | syscall.O_CLOEXEC
	if noFollow {
		flags |= syscall.O_NOFOLLOW
	}
	for {
		fd, err := syscall.Open(full, flags, 0)
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			return nil, &os.PathError{Op: "open", Path: full, Err: err}
		}
		c.reads++
		return &dirHandle{c: c, fd: fd, path: full, buf: c.buffer()}, nil
	}
}

func (h *dirHandle) close() {
	syscall.Close(h.fd)
	h.c.release(h.buf)
}

// each streams the entries to fn until fn returns true; ok is false when
// the directory cannot be read.
func (h *dirHandle) each(fn func(name string, isDir bool) bool) (stopped, ok bool) {
	for {
		n, err := syscall.ReadDirent(h.fd, h.buf)
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			return false, false
		}
		if n <= 0 {
			return false, true
		}
		// struct linux_dirent64: ino u64, off s64, reclen u16, type u8, name.
		for off := 0; off+19 <= n; {
			reclen := int(binary.NativeEndian.Uint16(h.buf[off+16:]))
			if reclen <= 0 || off+reclen > n {
				return false, false
			}
			typ := h.buf[off+18]
			name := h.buf[off+19 : off+reclen]
			for i, b := range name {
				if b == 0 {
					name = name[:i]
					break
				}
			}
			off += reclen
			s := string(name)
			if s == "." || s == ".." {
				continue
			}
			var isDir bool
			switch typ {
			case syscall.DT_DIR:
				isDir = true
			case syscall.DT_UNKNOWN:
				fi, err := os.Lstat(filepath.Join(h.path, s))
				isDir = err == nil && fi.IsDir()
			}
			if fn(s, isDir) {
				return true, true
			}
		}
	}
}

// buffer hands out dirent buffers; directory reads nest through their
// callbacks, so each open directory needs its own.
func (c *contextIndex) buffer() []byte {
	if n := len(c.bufs); n > 0 {
		b := c.bufs[n-1]
		c.bufs = c.bufs[:n-1]
		return b
	}
	return make([]byte, 4096)
}

func (c *contextIndex) release(b []byte) {
	c.bufs = append(c.bufs, b)
}
