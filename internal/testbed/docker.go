package testbed

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/mount"
	"github.com/docker/docker/client"
	"github.com/docker/docker/pkg/stdcopy"
)

// ErrDockerUnavailable wraps every reason the daemon cannot be used.
var ErrDockerUnavailable = errors.New("docker daemon unavailable")

var (
	unavailableMu sync.Mutex
	unavailable   error // set by MainSkipOrFail so RequireDocker skips
)

// inCI reports whether tests run in CI, where a missing daemon is a failure
// rather than a reason to skip.
func inCI() bool { return os.Getenv("CI") != "" }

// Docker connects to the daemon from the environment (DOCKER_HOST etc.),
// negotiates the API version and pings it. It suits TestMain, which cannot
// skip: pass the error to MainSkipOrFail. On error the client is nil; else
// close it when done.
func Docker(ctx context.Context) (*client.Client, error) {
	cli, err := client.NewClientWithOpts(client.FromEnv, client.WithAPIVersionNegotiation())
	if err != nil {
		return nil, fmt.Errorf("%w: creating client: %w", ErrDockerUnavailable, err)
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if _, err := cli.Ping(ctx); err != nil {
		_ = cli.Close()
		return nil, fmt.Errorf("%w: %w", ErrDockerUnavailable, err)
	}
	cli.NegotiateAPIVersion(ctx)
	return cli, nil
}

// MainSkipOrFail decides, in TestMain, what a failed Docker call means. It
// returns true when err is nil. Otherwise, when the CI environment variable
// is set it prints err and exits the test binary with status 1; on a
// workstation it prints a note, remembers err so that every later
// RequireDocker skips, and returns false.
func MainSkipOrFail(err error) bool {
	if err == nil {
		return true
	}
	if inCI() {
		fmt.Fprintf(os.Stderr, "testbed: Docker is required when CI is set: %v\n", err)
		os.Exit(1)
	}
	fmt.Fprintf(os.Stderr, "testbed: Docker tests will be skipped: %v\n", err)
	unavailableMu.Lock()
	unavailable = err
	unavailableMu.Unlock()
	return false
}

// RequireDocker returns a client for the daemon, closed at the end of the
// test. Without a daemon it skips the test, or fails it when the CI
// environment variable is set.
func RequireDocker(t testing.TB) *client.Client {
	t.Helper()
	unavailableMu.Lock()
	err := unavailable
	unavailableMu.Unlock()
	var cli *client.Client
	if err == nil {
		cli, err = Docker(context.Background())
	}
	if err != nil {
		if inCI() {
			t.Fatalf("Docker is required when CI is set: %v", err)
		}
		t.Skipf("skipping: needs a Docker daemon (set DOCKER_HOST or start dockerd): %v", err)
	}
	t.Cleanup(func() { _ = cli.Close() })
	return cli
}

// TestLabel is the container label Labels sets.
const TestLabel = "io.kanikorun.testbed"

// runID tells this test process's containers from those of packages
// tested at the same time.
var runID = RandomPassword()[:12]

// Labels returns the labels that tie a container to the calling test in
// this test process: {TestLabel: "<run id>/<test name>"}. Put them on what
// a test creates (plan.Container.Labels, RunOptions.Labels) and pass them
// to Containers afterwards to find leftovers; the same test always gets the
// same value.
func Labels(t testing.TB) map[string]string {
	return map[string]string{TestLabel: runID + "/" + t.Name()}
}

// Containers lists the IDs of all containers, running or not, that carry
// every given label (a label with an empty value matches any value). Use
// it to assert that nothing was left behind.
func Containers(ctx context.Context, cli *client.Client, labels map[string]string) ([]string, error) {
	f := filters.NewArgs()
	for k, v := range labels {
		if v == "" {
			f.Add("label", k)
		} else {
			f.Add("label", k+"="+v)
		}
	}
	list, err := cli.ContainerList(ctx, container.ListOptions{All: true, Filters: f})
	if err != nil {
		return nil, fmt.Errorf("listing containers: %w", err)
	}
	ids := make([]string, 0, len(list))
	for _, c := range list {
		ids = append(ids, c.ID)
	}
	return ids, nil
}

// Leftovers is Containers for asserting that nothing was left behind: a
// kanikorun run returns at its container's exit and the daemon's
// AutoRemove takes the container away a moment later, so it first lets
// the daemon finish (AwaitRemoval), then lists again. What it returns
// stayed past the grace.
func Leftovers(ctx context.Context, cli *client.Client, labels map[string]string) ([]string, error) {
	ids, err := Containers(ctx, cli, labels)
	if err != nil || len(ids) == 0 {
		return ids, err
	}
	AwaitRemoval(ctx, cli, ids)
	return Containers(ctx, cli, labels)
}

// AwaitRemoval waits until the daemon has removed each container, for at
// most leftoverGrace in all; a container already gone costs one call.
func AwaitRemoval(ctx context.Context, cli *client.Client, ids []string) {
	wctx, cancel := context.WithTimeout(ctx, leftoverGrace)
	defer cancel()
	for _, id := range ids {
		waitC, errC := cli.ContainerWait(wctx, id, container.WaitConditionRemoved)
		select {
		case <-waitC:
		case <-errC:
		}
	}
}

// leftoverGrace is how long Leftovers lets the daemon finish a removal:
// milliseconds normally, seconds on a loaded machine.
const leftoverGrace = 15 * time.Second

// Bind is a bind mount for Run.
type Bind struct {
	// Source is an absolute host path that must exist (else the daemon
	// creates a directory in its place).
	Source string
	// Target is the absolute path in the container.
	Target string
	// ReadOnly mounts the source read-only.
	ReadOnly bool
}

// RunOptions describe one container for Run: a minimal reference run for
// tests that need the executor without the runner package.
type RunOptions struct {
	// Image is the image to run, e.g. StandInImage's result.
	Image string
	// Args are the container's arguments (the executor's flags).
	Args []string
	// Env holds KEY=VALUE pairs added to the image's environment.
	Env []string
	// Binds are the bind mounts.
	Binds []Bind
	// Network is the network mode; empty means "host", which reaches the
	// in-process registry on 127.0.0.1.
	Network string
	// Labels are added to the container.
	Labels map[string]string
}

// RunResult is what a finished container left.
type RunResult struct {
	// ExitCode is the container's exit status.
	ExitCode int
	// Stdout and Stderr are the demultiplexed output streams.
	Stdout, Stderr string
}

// Run creates, starts and waits for a container, collects its output and
// removes it (also when ctx ends first). It is not the runner: it exists so
// that tests of other packages can exercise the stand-in directly.
func Run(ctx context.Context, cli *client.Client, o RunOptions) (RunResult, error) {
	var res RunResult
	network := o.Network
	if network == "" {
		network = "host"
	}
	hc := &container.HostConfig{NetworkMode: container.NetworkMode(network)}
	for _, b := range o.Binds {
		hc.Mounts = append(hc.Mounts, mount.Mount{Type: mount.TypeBind, Source: b.Source, Target: b.Target, ReadOnly: b.ReadOnly})
	}
	created, err := cli.ContainerCreate(ctx, &container.Config{
		Image:  o.Image,
		Cmd:    o.Args,
		Env:    o.Env,
		Labels: o.Labels,
	}, hc, nil, nil, "")
	if err != nil {
		return res, fmt.Errorf("creating container from %q: %w", o.Image, err)
	}
	defer func() {
		rmCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		defer cancel()
		_ = cli.ContainerRemove(rmCtx, created.ID, container.RemoveOptions{Force: true})
	}()
	waitC, errC := cli.ContainerWait(ctx, created.ID, container.WaitConditionNextExit)
	if err := cli.ContainerStart(ctx, created.ID, container.StartOptions{}); err != nil {
		return res, fmt.Errorf("starting container %s: %w", created.ID, err)
	}
	select {
	case w := <-waitC:
		if w.Error != nil {
			return res, fmt.Errorf("waiting for container %s: %s", created.ID, w.Error.Message)
		}
		res.ExitCode = int(w.StatusCode)
	case err := <-errC:
		return res, fmt.Errorf("waiting for container %s: %w", created.ID, err)
	}
	logs, err := cli.ContainerLogs(ctx, created.ID, container.LogsOptions{ShowStdout: true, ShowStderr: true})
	if err != nil {
		return res, fmt.Errorf("reading logs of container %s: %w", created.ID, err)
	}
	defer logs.Close()
	var stdout, stderr bytes.Buffer
	if _, err := stdcopy.StdCopy(&stdout, &stderr, logs); err != nil {
		return res, fmt.Errorf("demultiplexing logs of container %s: %w", created.ID, err)
	}
	res.Stdout, res.Stderr = stdout.String(), stderr.String()
	return res, nil
}
