package runner

import (
	"context"
	"errors"
	"fmt"
	"os"
)

// ErrLoad means the daemon refused the built image.
var ErrLoad = errors.New("loading image into the daemon failed")

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
