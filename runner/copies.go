package runner

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/kanikorun/kanikorun/internal/ctxtar"
	"github.com/kanikorun/kanikorun/internal/plan"
	"github.com/kanikorun/kanikorun/internal/spec"
)

// copyIn copies host files and directories into the created container,
// in one tar streamed as it is written: a large claim never sits in
// memory. Nothing of a file's content reaches an error or a log.
func (r *Runner) copyIn(ctx context.Context, id string, files []plan.CopyIn) error {
	pr, pw := io.Pipe()
	werr := make(chan error, 1)
	go func() {
		err := writeCopyIn(pw, files)
		_ = pw.CloseWithError(err)
		werr <- err
	}()
	err := r.Engine.CopyTo(ctx, id, "/", pr)
	// An engine that stopped reading ends the writer.
	_ = pr.CloseWithError(io.ErrClosedPipe)
	if e := <-werr; e != nil && !errors.Is(e, io.ErrClosedPipe) {
		// A file that could not be read says more than the broken
		// upload it caused.
		return e
	}
	return err
}

// writeCopyIn writes the copies as one tar, entries named by their
// container paths relative to /.
func writeCopyIn(w io.Writer, files []plan.CopyIn) error {
	tw := tar.NewWriter(w)
	for _, f := range files {
		var err error
		if f.Mode != 0 {
			err = tarFile(tw, f.Source, f.Target, f.Mode, time.Now())
		} else {
			err = tarTree(tw, f)
		}
		if err != nil {
			return err
		}
	}
	return tw.Close()
}

// tarFile writes one regular file with the given mode, streaming it.
func tarFile(tw *tar.Writer, src, target string, mode int64, mtime time.Time) error {
	f, err := os.Open(src)
	if err != nil {
		return err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return err
	}
	if !st.Mode().IsRegular() {
		return fmt.Errorf("%s is not a regular file", src)
	}
	h := &tar.Header{Name: strings.TrimPrefix(target, "/"), Typeflag: tar.TypeReg, Mode: mode, Size: st.Size(), ModTime: mtime}
	if err := tw.WriteHeader(h); err != nil {
		return err
	}
	if _, err := io.CopyN(tw, f, st.Size()); err != nil {
		if errors.Is(err, io.EOF) {
			return fmt.Errorf("%s shrank while it was copied", src)
		}
		return fmt.Errorf("copying %s: %w", src, err)
	}
	return nil
}

// tarTree writes f.Source at f.Target as a bind mount would show it: a
// file, or a directory with everything below it but f.Skip. Its source is
// followed if it is a symbolic link, as a mount follows it; links below
// it are copied as links. Sockets, devices and pipes are left out.
func tarTree(tw *tar.Writer, f plan.CopyIn) error {
	root, err := filepath.EvalSymlinks(f.Source)
	if err != nil {
		return err
	}
	_, err = ctxtar.AddTree(tw, root, strings.TrimPrefix(f.Target, "/"), func(rel string, d fs.DirEntry) (bool, error) {
		if !slices.Contains(f.Skip, path.Join(f.Target, rel)) {
			return false, nil
		}
		if d.IsDir() {
			return true, filepath.SkipDir
		}
		return true, nil
	})
	return err
}

// copyOut copies one file (or, with Create, a directory) out of the
// exited container to the host.
func (r *Runner) copyOut(ctx context.Context, id string, o plan.CopyOut) error {
	rc, err := r.Engine.CopyFrom(ctx, id, o.Source)
	if errors.Is(err, ErrPathNotFound) && (o.Optional || o.Source == spec.StreamDigestFile) {
		return nil // the executor did not write it
	}
	if err != nil {
		return err
	}
	defer rc.Close()
	tr := tar.NewReader(rc)
	if o.Create {
		return extractOut(tr, o)
	}
	for {
		h, err := tr.Next()
		if err != nil {
			return fmt.Errorf("reading the copy: %w", err)
		}
		if h.Typeflag != tar.TypeReg {
			continue
		}
		return writeOut(o.Target, tr, os.O_WRONLY|os.O_TRUNC, 0)
	}
}

// extractOut writes a copy's tar to o.Target: its first entry is the
// file or the directory itself, the rest what the directory holds.
func extractOut(tr *tar.Reader, o plan.CopyOut) error {
	h, err := tr.Next()
	if err != nil {
		return fmt.Errorf("reading the copy: %w", err)
	}
	switch h.Typeflag {
	case tar.TypeReg:
		if err := hostDirs(o.Within, filepath.Dir(o.Target)); err != nil {
			return err
		}
		if err := noLink(o.Target); err != nil {
			return err
		}
		return writeOut(o.Target, tr, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, fs.FileMode(h.Mode).Perm())
	case tar.TypeDir:
	default:
		return nil // a link or a special file: nothing to keep
	}
	if err := hostDirs(o.Within, o.Target); err != nil {
		return err
	}
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("reading the copy: %w", err)
		}
		// Entries start with the source's base name.
		_, rel, _ := strings.Cut(strings.TrimPrefix(h.Name, "./"), "/")
		rel = strings.TrimSuffix(rel, "/")
		if rel == "" {
			continue
		}
		if !filepath.IsLocal(filepath.FromSlash(rel)) {
			return fmt.Errorf("the copy of %s holds %q, outside it", o.Source, h.Name)
		}
		dst := filepath.Join(o.Target, filepath.FromSlash(rel))
		switch h.Typeflag {
		case tar.TypeDir:
			if err := hostDirs(o.Target, dst); err != nil {
				return err
			}
		case tar.TypeReg:
			if err := hostDirs(o.Target, filepath.Dir(dst)); err != nil {
				return err
			}
			if err := noLink(dst); err != nil {
				return err
			}
			if err := writeOut(dst, tr, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, fs.FileMode(h.Mode).Perm()); err != nil {
				return err
			}
		}
	}
}

// writeOut writes r to the host file p, opened with flag (and perm when
// it creates it).
func writeOut(p string, r io.Reader, flag int, perm fs.FileMode) error {
	f, err := os.OpenFile(p, flag, perm)
	if err != nil {
		return err
	}
	_, err = io.Copy(f, r)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// hostDirs makes dir and the directories above it up to root (which must
// exist), refusing a symbolic link on the way: an output copied out never
// lands outside the mount it was written to.
func hostDirs(root, dir string) error {
	if root == "" {
		return os.MkdirAll(dir, 0o755)
	}
	rel, err := filepath.Rel(root, dir)
	if err != nil || !filepath.IsLocal(rel) && rel != "." {
		return fmt.Errorf("%s lies outside %s", dir, root)
	}
	p := root
	for _, part := range strings.Split(rel, string(filepath.Separator)) {
		if part == "." {
			continue
		}
		p = filepath.Join(p, part)
		st, err := os.Lstat(p)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			if err := os.Mkdir(p, 0o755); err != nil {
				return err
			}
		case err != nil:
			return err
		case st.Mode()&os.ModeSymlink != 0:
			return fmt.Errorf("refusing to write through the symbolic link %s", p)
		case !st.IsDir():
			return fmt.Errorf("%s is not a directory", p)
		}
	}
	return nil
}

// noLink refuses a host file that is a symbolic link.
func noLink(p string) error {
	if st, err := os.Lstat(p); err == nil && st.Mode()&os.ModeSymlink != 0 {
		return fmt.Errorf("refusing to write through the symbolic link %s", p)
	}
	return nil
}
