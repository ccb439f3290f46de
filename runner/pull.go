package runner

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/pkg/jsonmessage"
	"github.com/moby/term"
)

// PullPolicy says when the executor image is pulled.
type PullPolicy string

// Pull policies, named as docker run names them.
const (
	PullMissing PullPolicy = "missing"
	PullAlways  PullPolicy = "always"
	PullNever   PullPolicy = "never"
)

// ParsePullPolicy checks a --pull value.
func ParsePullPolicy(s string) (PullPolicy, error) {
	switch p := PullPolicy(s); p {
	case PullMissing, PullAlways, PullNever:
		return p, nil
	case "":
		return PullMissing, nil
	}
	return "", fmt.Errorf("invalid --pull %q: use missing, always or never", s)
}

// ErrImageMissing means the executor image is not local and may not be pulled.
var ErrImageMissing = errors.New("executor image not found")

// ErrPull means pulling the executor image failed.
var ErrPull = errors.New("pulling executor image failed")

// missingImage handles an image the daemon does not have: pull it, unless
// the policy forbids.
func (r *Runner) missingImage(ctx context.Context, ref string) error {
	if r.Pull == PullNever {
		return fmt.Errorf("%w: %q is not in the local daemon and --pull=never; pull or load it first, or use --pull=missing", ErrImageMissing, ref)
	}
	return r.pull(ctx, ref)
}

// pull pulls ref, rendering Docker's progress stream: redrawn bars on a
// terminal, plain lines otherwise.
func (r *Runner) pull(ctx context.Context, ref string) error {
	opts := image.PullOptions{}
	if r.RegistryAuth != nil {
		opts.RegistryAuth = r.RegistryAuth(ref)
	}
	rc, err := r.Engine.ImagePull(ctx, ref, opts)
	if err != nil {
		return r.ctxOr(ctx, pullError(ref, err))
	}
	defer rc.Close()
	fd, isTerm := term.GetFdInfo(r.Stdout)
	if err := jsonmessage.DisplayJSONMessagesStream(rc, r.Stdout, fd, isTerm, nil); err != nil {
		return r.ctxOr(ctx, pullError(ref, err))
	}
	return nil
}

func pullError(ref string, err error) error {
	return fmt.Errorf("%w: %q: %s; check the name and your registry login, or load the image and use --pull=never", ErrPull, ref, oneLine(err))
}

// drain reads a response body to the end so the connection can be reused.
func drain(rc io.ReadCloser) {
	_, _ = io.Copy(io.Discard, rc)
	_ = rc.Close()
}
