package runner

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// ErrDaemonGone means the connection to the Docker daemon broke in the
// middle of a build: the daemon stopped, restarted, or its socket went.
var ErrDaemonGone = errors.New("lost the Docker daemon")

// goneRemoveTimeout bounds the one removal tried after the daemon went
// away: if it is really gone the attempt fails at once, and a daemon that
// hangs must not hang the build.
const goneRemoveTimeout = 5 * time.Second

// daemonGone words a build whose daemon went away, on one line: what
// broke, and, when the container could not be removed either, that
// kanikorun gc removes it once the daemon is back.
func (r *Runner) daemonGone(id string, err error) error {
	ctx, cancel := context.WithTimeout(context.Background(), goneRemoveTimeout)
	defer cancel()
	if rmErr := r.Engine.RemoveContainer(ctx, id); rmErr != nil {
		return fmt.Errorf("%w: %w; once it is back, kanikorun gc removes the executor container %s if it remains", ErrDaemonGone, oneLine(err), shortID(id))
	}
	return fmt.Errorf("%w: %w", ErrDaemonGone, oneLine(err))
}

// exitKilled is the exit code of a container whose process got SIGKILL.
const exitKilled = 128 + 9

// noteKilled says so when the executor was killed from outside: kaniko
// itself never exits 137, so a container removed by someone else (docker
// rm -f), killed, or stopped by the kernel's OOM killer ends the build
// with a line that says why, not a silent 137.
func (r *Runner) noteKilled(ctx context.Context, code int) {
	if code == exitKilled && ctx.Err() == nil {
		fmt.Fprintln(r.Stderr, "kanikorun: the executor container was killed from outside (exit 137): removed or killed by someone else (docker rm -f, docker kill), or out of memory")
	}
}
