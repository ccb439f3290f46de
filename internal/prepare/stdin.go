package prepare

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/kanikorun/kanikorun/internal/errs"
	"github.com/kanikorun/kanikorun/internal/spec"
	"github.com/kanikorun/kanikorun/internal/tmpdir"
)

// StdinDockerfile is -f's value that reads the Dockerfile from stdin.
const StdinDockerfile = "-"

// ReadStdinDockerfile handles -f -: it copies the Dockerfile from r into a
// private temporary directory (locked while this process lives, swept by a
// later run when it was killed) and points the options at that file, which
// lies outside the context and so is mounted on its own under
// spec.OutsideDockerfile. The returned function removes it: call it on
// every path out. Without -f - it does nothing.
func (o *Options) ReadStdinDockerfile(r io.Reader) (remove func(), err error) {
	if o.Build.Dockerfile != StdinDockerfile {
		return func() {}, nil
	}
	if r == nil {
		return nil, errs.Mark(errors.New("-f - reads the Dockerfile from stdin, and there is none; pipe the Dockerfile in or give its path"), spec.ErrUsage)
	}
	dir, err := tmpdir.New("", "kanikorun-")
	if err != nil {
		return nil, fmt.Errorf("reading the Dockerfile from stdin: %w", err)
	}
	remove = func() { _ = dir.Remove() }
	path := filepath.Join(dir.Path, "Dockerfile")
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		remove()
		return nil, fmt.Errorf("reading the Dockerfile from stdin: %w", err)
	}
	n, err := io.Copy(f, r)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	switch {
	case err != nil:
		remove()
		return nil, fmt.Errorf("reading the Dockerfile from stdin: %w", err)
	case n == 0:
		remove()
		return nil, errs.Mark(errors.New("-f -: stdin is empty; pipe the Dockerfile in, e.g. kanikorun build -f - . < Dockerfile"), spec.ErrUsage)
	}
	o.Build.Dockerfile = path
	o.Build.DockerfileFromStdin = true
	return remove, nil
}
