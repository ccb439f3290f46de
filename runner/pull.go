package runner

import (
	"context"
	"errors"
	"fmt"
)

// PullPolicy says when the executor image is pulled.
type PullPolicy string

// Pull policies, named as docker run names them.
const (
	PullMissing PullPolicy = "missing"
	PullAlways  PullPolicy = "always"
	PullNever   PullPolicy = "never"
)

// ParsePullPolicy checks an --executor-pull value.
func ParsePullPolicy(s string) (PullPolicy, error) {
	switch p := PullPolicy(s); p {
	case PullMissing, PullAlways, PullNever:
		return p, nil
	case "":
		return PullMissing, nil
	}
	return "", fmt.Errorf("invalid --executor-pull %q: use missing, always or never", s)
}

// ErrImageMissing means the executor image is not local and may not be pulled.
var ErrImageMissing = errors.New("executor image not found")

// ErrPull means pulling the executor image failed.
var ErrPull = errors.New("pulling executor image failed")

// missingImage handles an image the daemon does not have: pull it, unless
// the policy forbids.
func (r *Runner) missingImage(ctx context.Context, ref string) error {
	if r.Pull == PullNever {
		return fmt.Errorf("%w: %q is not in the local daemon and --executor-pull=never; pull or load it first, or use --executor-pull=missing", ErrImageMissing, ref)
	}
	return r.pull(ctx, ref)
}

// pull pulls ref, showing the progress on Stdout: redrawn bars on a
// terminal, plain lines otherwise.
func (r *Runner) pull(ctx context.Context, ref string) error {
	auth := ""
	if r.RegistryAuth != nil {
		auth = r.RegistryAuth(ref)
	}
	if err := r.Engine.PullImage(ctx, ref, auth, r.Stdout); err != nil {
		return r.ctxOr(ctx, pullError(ref, err))
	}
	return nil
}

func pullError(ref string, err error) error {
	return fmt.Errorf("%w: %q: %w; check the name and your registry login, or load the image and use --executor-pull=never", ErrPull, ref, oneLine(err))
}
