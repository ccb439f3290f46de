// Package ctxtar writes a build context as the gzip tar kaniko reads from
// --context=tar://stdin: the files the ignore file does not exclude, as
// Docker's own matcher reads it, compressed on every core.
package ctxtar

import (
	"archive/tar"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/klauspost/compress/gzip"
	"github.com/moby/patternmatcher"
	"github.com/moby/patternmatcher/ignorefile"
)

// Options say what to write.
type Options struct {
	// Dockerfile is the Dockerfile's host path: kaniko reads
	// <Dockerfile>.dockerignore before the context's .dockerignore, and
	// the Dockerfile itself always goes, as docker build sends it.
	Dockerfile string
	// Level is the gzip level; 0 means gzip.BestSpeed, which on two cores
	// keeps up with a local daemon's socket.
	Level int
}

// Stats are what was written.
type Stats struct {
	// Files is the number of entries.
	Files int
	// Bytes is the size of the files' contents.
	Bytes int64
}

// Write writes the context directory dir to w.
func Write(w io.Writer, dir string, o Options) (Stats, error) {
	var st Stats
	pm, err := matcher(dir, o.Dockerfile)
	if err != nil {
		return st, err
	}
	level := o.Level
	if level == 0 {
		level = gzip.BestSpeed
	}
	zw := newParallelGzip(w, level)
	tw := tar.NewWriter(zw)
	always := map[string]bool{".dockerignore": true}
	if rel, err := filepath.Rel(dir, o.Dockerfile); err == nil && o.Dockerfile != "" && !strings.HasPrefix(rel, "..") {
		always[filepath.ToSlash(rel)] = true
		always[filepath.ToSlash(rel)+".dockerignore"] = true
	}
	st, err = AddTree(tw, dir, "", func(rel string, d fs.DirEntry) (bool, error) {
		if pm == nil || always[rel] {
			return false, nil
		}
		skip, err := pm.MatchesOrParentMatches(rel)
		if err != nil || !skip {
			return false, err
		}
		if d.IsDir() && !pm.Exclusions() {
			return true, filepath.SkipDir
		}
		return true, nil
	})
	if err != nil {
		_ = zw.Close()
		return st, err
	}
	if err := tw.Close(); err != nil {
		_ = zw.Close()
		return st, err
	}
	return st, zw.Close()
}

// AddTree writes the tree at dir into tw, each entry named prefix/ plus
// its slash path relative to dir, as a mount would show it: directories,
// regular files and symbolic links (as links), owned by root, with their
// modes and times; sockets, devices and pipes are left out, as docker
// build leaves them out. With a prefix, dir itself is the first entry.
// skip may leave an entry out (true), or a directory and everything below
// it (true and filepath.SkipDir).
func AddTree(tw *tar.Writer, dir, prefix string, skip func(rel string, d fs.DirEntry) (bool, error)) (Stats, error) {
	var st Stats
	buf := make([]byte, 256<<10)
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil || (rel == "." && prefix == "") {
			return err
		}
		rel = filepath.ToSlash(rel)
		if rel != "." && skip != nil {
			if s, err := skip(rel, d); s || err != nil {
				return err
			}
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		link := ""
		switch {
		case fi.Mode()&os.ModeSymlink != 0:
			if link, err = os.Readlink(p); err != nil {
				return err
			}
		case fi.Mode().IsRegular(), fi.IsDir():
		default:
			return nil
		}
		h, err := tar.FileInfoHeader(fi, link)
		if err != nil {
			return err
		}
		h.Name = path.Join(prefix, rel)
		if fi.IsDir() {
			h.Name += "/"
		}
		h.Uid, h.Gid, h.Uname, h.Gname = 0, 0, "", ""
		h.Format = tar.FormatPAX
		h.AccessTime, h.ChangeTime = fi.ModTime(), fi.ModTime()
		if err := tw.WriteHeader(h); err != nil {
			return err
		}
		st.Files++
		if fi.Mode().IsRegular() {
			f, err := os.Open(p)
			if err != nil {
				return err
			}
			n, err := io.CopyBuffer(tw, f, buf)
			f.Close()
			st.Bytes += n
			if err != nil {
				return fmt.Errorf("reading %q: %w", p, err)
			}
		}
		return nil
	})
	return st, err
}

// matcher reads the ignore file kaniko reads: <Dockerfile>.dockerignore,
// else the context's .dockerignore; nil when there is none.
func matcher(dir, dockerfile string) (*patternmatcher.PatternMatcher, error) {
	for _, p := range []string{dockerfile + ".dockerignore", filepath.Join(dir, ".dockerignore")} {
		if dockerfile == "" && p == ".dockerignore" {
			continue
		}
		f, err := os.Open(p)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, err
		}
		defer f.Close()
		patterns, err := ignorefile.ReadAll(f)
		if err != nil {
			return nil, fmt.Errorf("reading %q: %w", p, err)
		}
		return patternmatcher.New(patterns)
	}
	return nil, nil
}

// blockSize is how much each core compresses at a time: a gzip member
// each, which gzip readers (kaniko's Go reader among them) read on as one
// stream.
const blockSize = 1 << 20

// parallelGzip compresses blocks of its input on every core and writes
// them in order as consecutive gzip members.
type parallelGzip struct {
	w     io.Writer
	level int
	buf   []byte
	order chan chan result
	done  chan error
	// flushed says a member was written: an empty input still needs one.
	flushed bool
}

type result struct {
	data []byte
	err  error
}

func newParallelGzip(w io.Writer, level int) *parallelGzip {
	z := &parallelGzip{w: w, level: level, order: make(chan chan result, runtime.GOMAXPROCS(0)), done: make(chan error, 1)}
	z.buf = make([]byte, 0, blockSize)
	go func() {
		var werr error
		for c := range z.order {
			r := <-c
			if werr == nil {
				werr = r.err
			}
			if werr == nil {
				_, werr = z.w.Write(r.data)
			}
		}
		z.done <- werr
	}()
	return z
}

func (z *parallelGzip) Write(p []byte) (int, error) {
	n := 0
	for len(p) > 0 {
		k := min(len(p), blockSize-len(z.buf))
		z.buf = append(z.buf, p[:k]...)
		p, n = p[k:], n+k
		if len(z.buf) == blockSize {
			z.flush()
		}
	}
	return n, nil
}

func (z *parallelGzip) flush() {
	z.flushed = true
	data := z.buf
	z.buf = make([]byte, 0, blockSize)
	c := make(chan result, 1)
	z.order <- c
	go func() {
		var out bytesBuffer
		zw, err := gzip.NewWriterLevel(&out, z.level)
		if err == nil {
			_, err = zw.Write(data)
		}
		if err == nil {
			err = zw.Close()
		}
		c <- result{data: out.b, err: err}
	}()
}

// Close compresses what is left and waits for everything to be written.
func (z *parallelGzip) Close() error {
	if len(z.buf) > 0 || !z.flushed {
		z.flush()
	}
	close(z.order)
	return <-z.done
}

type bytesBuffer struct{ b []byte }

func (b *bytesBuffer) Write(p []byte) (int, error) {
	b.b = append(b.b, p...)
	return len(p), nil
}
