package runner

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
)

// ErrLoad means the daemon refused the built image.
var ErrLoad = errors.New("loading image into the daemon failed")

// LoadedID returns the ID the daemon gave the image a load reported as
// names: the daemon says it outright for an untagged image ("Loaded image
// ID: sha256:..."), and is asked for a tagged one. With the containerd
// image store the ID is the manifest digest, not the config digest, so it
// is the daemon's answer that counts, never the tarball's.
func (r *Runner) LoadedID(ctx context.Context, names []string) (string, error) {
	if len(names) == 0 {
		return "", fmt.Errorf("%w: the daemon named no image", ErrLoad)
	}
	if strings.HasPrefix(names[0], "sha256:") {
		return names[0], nil
	}
	id, err := r.Engine.ImageID(ctx, names[0])
	if err != nil {
		return "", r.ctxOr(ctx, fmt.Errorf("%w: looking up %q: %w", ErrLoad, names[0], oneLine(err)))
	}
	return id, nil
}

// Load loads a docker-format image tarball into the daemon and returns the
// names the daemon reports ("name:tag", or an image ID when untagged).
func (r *Runner) Load(ctx context.Context, tarPath string) ([]string, error) {
	f, err := os.Open(tarPath)
	if err != nil {
		return nil, fmt.Errorf("%w: opening %q: %w", ErrLoad, tarPath, err)
	}
	defer f.Close()
	names, err := r.Engine.LoadImage(ctx, f)
	if err != nil {
		return nil, r.ctxOr(ctx, fmt.Errorf("%w: %w", ErrLoad, oneLine(err)))
	}
	return names, nil
}
