package runner

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/kanikorun/kanikorun/internal/ctxtar"
	"github.com/kanikorun/kanikorun/internal/plan"
	"github.com/kanikorun/kanikorun/internal/spec"
)

// Errors a caller branches on.
var (
	// ErrInterrupted means the build was stopped by a signal (Ctrl-C); the
	// container has been removed.
	ErrInterrupted = errors.New("build interrupted")
	// ErrTimeout means the build ran longer than allowed; the container has
	// been removed.
	ErrTimeout = errors.New("build timed out")
	// ErrMountSource means a mount's host path is missing.
	ErrMountSource = errors.New("mount source missing")
)

// Runner runs executor plans on a Docker daemon.
type Runner struct {
	// Engine is the daemon connection.
	Engine Engine
	// Stdout receives the executor's stdout and the pull progress.
	Stdout io.Writer
	// Stderr receives the executor's stderr and kanikorun's notices.
	Stderr io.Writer
	// Pull says when to pull the executor image.
	Pull PullPolicy
	// RegistryAuth returns the base64 Engine API credentials for pulling an
	// image from a registry, or "" for anonymous. May be nil.
	RegistryAuth func(image string) string
	// Timeout bounds one container run; zero means no limit.
	Timeout time.Duration
	// BeforeStart runs on the created container before it starts (the
	// cache warmer copies base images into its volume); nil for nothing.
	BeforeStart func(ctx context.Context, id string) error
	// Retry says when a build runs again (Build; see retry.go).
	Retry RetryPolicy
}

// Result is what a finished executor run reports.
type Result struct {
	// ExitCode is the executor's exit code.
	ExitCode int
	// Digest is what the executor wrote to its digest file, if anything.
	Digest string
}

// cleanupTimeout bounds the removal of a container after the run's own
// context is gone (Ctrl-C, timeout).
const cleanupTimeout = 30 * time.Second

// Run runs the plan's container to completion: it makes sure the image is
// there, creates the container, streams its output live (stdout to Stdout,
// stderr to Stderr, unbuffered), waits, reads back the digest, and removes
// the container on every path out, including cancellation of ctx.
func (r *Runner) Run(ctx context.Context, c plan.Container) (Result, error) {
	for _, m := range c.AllMounts() {
		if _, err := os.Stat(m.Source); err != nil {
			return Result{}, fmt.Errorf("%w: %q (for %s) does not exist; create it first", ErrMountSource, m.Source, m.Target)
		}
	}
	if r.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, r.Timeout)
		defer cancel()
	}
	id, err := r.create(ctx, c)
	if err != nil {
		return Result{}, err
	}
	gone := false
	defer func() {
		if !gone {
			r.remove(id)
		}
	}()

	if len(c.CopyIn) > 0 {
		if err := r.copyIn(ctx, id, c.CopyIn); err != nil {
			return Result{}, r.ctxOr(ctx, fmt.Errorf("copying files into the executor container: %w", oneLine(err)))
		}
	}
	if r.BeforeStart != nil {
		if err := r.BeforeStart(ctx, id); err != nil {
			return Result{}, r.ctxOr(ctx, err)
		}
	}
	code, err := r.start(ctx, id, c)
	if errors.Is(err, ErrDaemonGone) && ctx.Err() == nil {
		gone = true
		return Result{}, r.daemonGone(id, runError(err, c.Network))
	}
	if err != nil {
		return Result{}, r.ctxOr(ctx, runError(err, c.Network))
	}
	r.noteKilled(ctx, code)
	if code == 0 {
		for _, o := range c.CopyOut {
			if err := r.copyOut(ctx, id, o); err != nil {
				return Result{ExitCode: code}, r.ctxOr(ctx, fmt.Errorf("copying %s out of the executor container: %w", o.Source, oneLine(err)))
			}
		}
	}
	res := Result{ExitCode: code}
	for _, f := range []string{c.DigestFile, c.DigestFrom} {
		if b, err := os.ReadFile(f); f != "" && err == nil {
			res.Digest = strings.TrimSpace(string(b))
		}
	}
	return res, nil
}

// start runs the created container; in stream mode it sends the context
// on the container's stdin as a gzip tar.
func (r *Runner) start(ctx context.Context, id string, c plan.Container) (int, error) {
	if c.StdinContext == "" {
		return r.Engine.RunContainer(ctx, id, r.Stdout, r.Stderr)
	}
	pr, pw := io.Pipe()
	var werr error
	done := make(chan struct{})
	go func() {
		defer close(done)
		_, werr = ctxtar.Write(pw, c.StdinContext, ctxtar.Options{Dockerfile: c.StdinDockerfile})
		_ = pw.CloseWithError(werr)
	}()
	code, err := r.Engine.RunContainerStdin(ctx, id, pr, r.Stdout, r.Stderr)
	// An executor that stopped reading (it failed) ends the writer.
	_ = pr.CloseWithError(io.ErrClosedPipe)
	<-done
	if err == nil && code != 0 && werr != nil && !errors.Is(werr, io.ErrClosedPipe) {
		return code, fmt.Errorf("sending the context %q: %w", c.StdinContext, werr)
	}
	return code, err
}

// create makes the container, pulling the image as the policy says. Like
// docker run, it tries the create first and pulls only when the daemon
// lacks the image, which saves a round trip on every build.
func (r *Runner) create(ctx context.Context, c plan.Container) (string, error) {
	if r.Pull == PullAlways {
		if err := r.pull(ctx, c.Image); err != nil {
			return "", err
		}
	}
	c.Labels = withManagedLabel(c.Labels)
	for attempt := 0; ; attempt++ {
		// The create itself is not cancellable: if Ctrl-C lands while the
		// daemon is creating, we still learn the ID and can remove it.
		id, err := r.Engine.CreateContainer(context.WithoutCancel(ctx), c)
		if err == nil {
			if ctx.Err() != nil {
				r.remove(id)
				return "", r.stopped(ctx.Err())
			}
			return id, nil
		}
		if !errors.Is(err, ErrImageNotFound) || attempt > 0 {
			return "", fmt.Errorf("creating executor container from %q: %w%s", c.Image, oneLine(err), networkHint(err, c.Network))
		}
		if err := r.missingImage(ctx, c.Image); err != nil {
			return "", err
		}
	}
}

// remove deletes the container with a context of its own, so it also runs
// after Ctrl-C or a timeout cancelled the run.
func (r *Runner) remove(id string) {
	ctx, cancel := context.WithTimeout(context.Background(), cleanupTimeout)
	defer cancel()
	if err := r.Engine.RemoveContainer(ctx, id); err != nil {
		fmt.Fprintf(r.Stderr, "kanikorun: could not remove container %s: %v; remove it with: docker rm -f %s\n", shortID(id), oneLine(err), shortID(id))
	}
}

// stopped turns a context error into ErrInterrupted or ErrTimeout.
func (r *Runner) stopped(err error) error {
	if errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("%w after %s; raise --timeout if the build needs longer", ErrTimeout, r.Timeout)
	}
	return ErrInterrupted
}

// ctxOr prefers the context's verdict when it has ended: an API call that
// failed because of Ctrl-C is an interruption, not an API error.
func (r *Runner) ctxOr(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return r.stopped(ctx.Err())
	}
	return err
}

// runError words a failed RunContainer for the user, on one line.
func runError(err error, network string) error {
	var se *StepError
	if !errors.As(err, &se) {
		return fmt.Errorf("running executor container: %w", oneLine(err))
	}
	hint := ""
	if se.Step == StepStart {
		hint = networkHint(se.Err, network)
	}
	return fmt.Errorf("%s executor container: %w%s", se.Step, oneLine(se.Err), hint)
}

// withManagedLabel returns the plan's labels plus the one that marks a
// container as kanikorun's, leaving the plan's map as it was.
func withManagedLabel(labels map[string]string) map[string]string {
	out := map[string]string{spec.ManagedLabel: "true"}
	for k, v := range labels {
		out[k] = v
	}
	return out
}

// networkHint says what to do when the daemon does not know the network.
func networkHint(err error, network string) string {
	if msg := err.Error(); strings.Contains(msg, "network") && strings.Contains(msg, "not found") {
		return fmt.Sprintf("; --network %q names no network: use bridge, host, none or one that docker network ls lists", network)
	}
	return ""
}

func shortID(id string) string {
	if len(id) > 12 {
		return id[:12]
	}
	return id
}
