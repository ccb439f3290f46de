package runner

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/mount"
	"github.com/docker/docker/pkg/stdcopy"

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
	defer r.remove(id)

	att, err := r.Engine.ContainerAttach(ctx, id, container.AttachOptions{Stream: true, Stdout: true, Stderr: true})
	if err != nil {
		return Result{}, r.ctxOr(ctx, fmt.Errorf("attaching to executor container: %v", oneLine(err)))
	}
	defer att.Close()
	copied := make(chan error, 1)
	go func() {
		_, err := stdcopy.StdCopy(r.Stdout, r.Stderr, att.Reader)
		copied <- err
	}()

	// With AutoRemove the daemon removes the container when it exits, even
	// if kanikorun itself is killed; waiting for "removed" (as docker run
	// --rm does) returns the exit code once it is gone.
	waitC, waitErr := r.Engine.ContainerWait(ctx, id, container.WaitConditionRemoved)
	if err := r.Engine.ContainerStart(ctx, id, container.StartOptions{}); err != nil {
		return Result{}, r.ctxOr(ctx, fmt.Errorf("starting executor container: %v%s", oneLine(err), networkHint(err, c.Network)))
	}
	var res Result
	select {
	case w := <-waitC:
		if w.Error != nil && w.Error.Message != "" {
			return Result{}, fmt.Errorf("waiting for executor container: %s", w.Error.Message)
		}
		res.ExitCode = int(w.StatusCode)
	case err := <-waitErr:
		return Result{}, r.ctxOr(ctx, fmt.Errorf("waiting for executor container: %v", oneLine(err)))
	case <-ctx.Done():
		return Result{}, r.stopped(ctx.Err())
	}
	// The attach stream ends when the container's output is closed; wait
	// for it so no log line is lost, but not forever.
	select {
	case <-copied:
	case <-time.After(5 * time.Second):
	}
	if c.DigestFile != "" {
		if b, err := os.ReadFile(c.DigestFile); err == nil {
			res.Digest = strings.TrimSpace(string(b))
		}
	}
	return res, nil
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
	cfg, hostCfg := containerConfig(c)
	for attempt := 0; ; attempt++ {
		// The create itself is not cancellable: if Ctrl-C lands while the
		// daemon is creating, we still learn the ID and can remove it.
		created, err := r.Engine.ContainerCreate(context.WithoutCancel(ctx), cfg, hostCfg, nil, nil, "")
		if err == nil {
			if ctx.Err() != nil {
				r.remove(created.ID)
				return "", r.stopped(ctx.Err())
			}
			return created.ID, nil
		}
		if !isNotFound(err) || attempt > 0 {
			return "", fmt.Errorf("creating executor container from %q: %v%s", c.Image, oneLine(err), networkHint(err, c.Network))
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
	err := r.Engine.ContainerRemove(ctx, id, container.RemoveOptions{Force: true, RemoveVolumes: true})
	// Not found or already being removed: the daemon's AutoRemove got
	// there first.
	if err != nil && !isNotFound(err) && !isConflict(err) {
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

func containerConfig(c plan.Container) (*container.Config, *container.HostConfig) {
	labels := map[string]string{spec.ManagedLabel: "true"}
	for k, v := range c.Labels {
		labels[k] = v
	}
	cfg := &container.Config{
		Image:        c.Image,
		Cmd:          c.Args,
		Env:          c.Env,
		WorkingDir:   c.WorkingDir,
		Labels:       labels,
		AttachStdout: true,
		AttachStderr: true,
	}
	if c.Entrypoint != nil {
		cfg.Entrypoint = c.Entrypoint
	}
	host := &container.HostConfig{
		NetworkMode: container.NetworkMode(c.Network),
		Privileged:  false,
		// The output is streamed through the attach connection; a copy in
		// the daemon's log files would only cost disk writes.
		LogConfig:  container.LogConfig{Type: "none"},
		AutoRemove: true,
	}
	if c.NoNewPrivileges {
		host.SecurityOpt = append(host.SecurityOpt, "no-new-privileges")
	}
	for _, m := range c.AllMounts() {
		// Mounts, unlike Binds, refuse a missing source instead of
		// creating an empty directory in its place.
		host.Mounts = append(host.Mounts, mount.Mount{
			Type:     mount.TypeBind,
			Source:   m.Source,
			Target:   m.Target,
			ReadOnly: m.ReadOnly,
		})
	}
	return cfg, host
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

// oneLine keeps daemon errors to one line.
func oneLine(err error) string {
	s := strings.TrimSpace(err.Error())
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	return s
}
