package lint

import (
	"encoding/binary"
	"os"
	"path/filepath"
	"syscall"
)

// readDir streams a directory's entries to fn until fn returns true. On
// Linux it reads dirents with raw syscalls: the context check may open
// dozens of directories to find one surviving entry in each, and os.Open
// costs twice as many syscalls (poller registration) as open+getdents.
// ok is false when the directory cannot be read.
func (c *contextIndex) readDir(dir string, fn func(name string, isDir bool) bool) (stopped, ok bool) {
	c.reads++
	full := filepath.Join(c.root, filepath.FromSlash(dir))
	fd, err := syscall.Open(full, syscall.O_RDONLY|syscall.O_DIRECTORY|syscall.O_CLOEXEC, 0)
	if err != nil {
		return false, false
	}
	defer syscall.Close(fd)
	buf := c.buffer()
	defer c.release(buf)
	for {
		n, err := syscall.ReadDirent(fd, buf)
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
			reclen := int(binary.NativeEndian.Uint16(buf[off+16:]))
			if reclen <= 0 || off+reclen > n {
				return false, false
			}
			typ := buf[off+18]
			name := buf[off+19 : off+reclen]
			for i, b := range name {
				if b == 0 {
					name = name[:i]
					break
				}
			}
			off += reclen
			if s := string(name); s != "." && s != ".." {
				var isDir bool
				switch typ {
				case syscall.DT_DIR:
					isDir = true
				case syscall.DT_UNKNOWN:
					fi, err := os.Lstat(filepath.Join(full, s))
					isDir = err == nil && fi.IsDir()
				}
				if fn(s, isDir) {
					return true, true
				}
			}
		}
	}
}

// buffer hands out dirent buffers; readDir recurses through its callback,
// so each open directory needs its own.
func (c *contextIndex) buffer() []byte {
	if n := len(c.bufs); n > 0 {
		b := c.bufs[n-1]
		c.bufs = c.bufs[:n-1]
		return b
	}
	return make([]byte, 8192)
}

func (c *contextIndex) release(b []byte) {
	c.bufs = append(c.bufs, b)
}
