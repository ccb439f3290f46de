package runner

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/kanikorun/kanikorun/internal/spec"
	"github.com/kanikorun/kanikorun/internal/tmpdir"
)

// OwnerLabel names the kanikorun process that created a container,
// HOST/PID, so that `kanikorun gc` removes only what a dead run left.
const OwnerLabel = "io.kanikorun.owner"

// gcGrace is how old a stopped container of another machine's (or an
// unknown) kanikorun must be before gc removes it.
const gcGrace = 24 * time.Hour

func owner() string {
	h, _ := os.Hostname()
	return h + "/" + strconv.Itoa(os.Getpid())
}

// GC removes the containers kanikorun runs left behind when they were
// killed (SIGKILL, OOM, a lost machine): stream-mode containers, which
// the daemon cannot remove by itself, and containers killed before they
// started. A container is removed when it is not running and the process
// that made it is gone (on this machine), or it is older than a day (made
// elsewhere). It returns the IDs removed.
func GC(ctx context.Context, s Streams) ([]string, error) {
	// The temporary directories (credentials included) of killed builds
	// too, as the next build would.
	tmpdir.Sweep(os.TempDir(), "kanikorun-")
	eng, err := Connect(ctx)
	if err != nil {
		return nil, err
	}
	defer eng.Close()
	return gc(ctx, eng, time.Now())
}

func gc(ctx context.Context, eng Engine, now time.Time) ([]string, error) {
	list, err := eng.Containers(ctx, map[string]string{spec.ManagedLabel: "true"})
	if err != nil {
		return nil, fmt.Errorf("listing containers: %w", oneLine(err))
	}
	host, _ := os.Hostname()
	var removed []string
	var errs []error
	for _, c := range list {
		if c.Running || !abandoned(c, host, now) {
			continue
		}
		if err := eng.RemoveContainer(ctx, c.ID); err != nil {
			errs = append(errs, fmt.Errorf("removing container %s: %w", shortID(c.ID), oneLine(err)))
			continue
		}
		removed = append(removed, c.ID)
	}
	return removed, errors.Join(errs...)
}

// abandoned says the container's kanikorun is gone.
func abandoned(c ContainerInfo, host string, now time.Time) bool {
	h, p, ok := strings.Cut(c.Labels[OwnerLabel], "/")
	pid, err := strconv.Atoi(p)
	if !ok || err != nil || h != host {
		return now.Sub(c.Created) > gcGrace
	}
	return !alive(pid)
}
