package creds

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// tempPrefix names the private directories WriteTempConfig creates, so a
// directory left by a killed process is recognisable.
const tempPrefix = "kanikorun-creds-"

// WriteTempConfig writes data (a ConfigJSON) to config.json, mode 0600, in
// a fresh directory of its own, mode 0700, under the system temporary
// directory, for the runner to mount read-only at spec.DockerConfigPath.
// cleanup removes the directory; call it however the build ends (success,
// failure, Ctrl-C, an error before start). It is safe to call twice.
func WriteTempConfig(data []byte) (path string, cleanup func() error, err error) {
	dir, err := os.MkdirTemp("", tempPrefix)
	if err != nil {
		return "", nil, fmt.Errorf("creating a private directory for config.json: %w; check TMPDIR", err)
	}
	cleanup = func() error {
		if err := os.RemoveAll(dir); err != nil {
			return fmt.Errorf("removing temporary credentials %q: %w; delete it by hand", dir, err)
		}
		return nil
	}
	fail := func(err error) (string, func() error, error) {
		return "", nil, errors.Join(fmt.Errorf("writing temporary config.json: %w", err), cleanup())
	}
	// MkdirTemp already uses 0700; say so explicitly rather than rely on it.
	if err := os.Chmod(dir, 0o700); err != nil {
		return fail(err)
	}
	path = filepath.Join(dir, "config.json")
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fail(err)
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return fail(err)
	}
	if err := f.Close(); err != nil {
		return fail(err)
	}
	return path, cleanup, nil
}
