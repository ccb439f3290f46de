package runner

// This is the module's only file outside internal/testbed that imports the
// Docker SDK (imports_test.go keeps it so): it maps Engine, written in
// kanikorun's types, onto the Docker Engine API client. Nothing of the SDK
// leaves it, so moving to another client module changes this file alone.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"syscall"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/api/types/mount"
	"github.com/docker/docker/api/types/volume"
	"github.com/docker/docker/client"
	"github.com/docker/docker/pkg/jsonmessage"
	"github.com/docker/docker/pkg/stdcopy"
	"github.com/moby/term"

	"github.com/kanikorun/kanikorun/internal/errs"
	"github.com/kanikorun/kanikorun/internal/plan"
)

// Connect returns an Engine for the Docker daemon the environment names
// (DOCKER_HOST, DOCKER_CERT_PATH, DOCKER_TLS_VERIFY, DOCKER_API_VERSION),
// negotiating the API version with it, after checking that it answers.
func Connect(ctx context.Context) (Engine, error) {
	cli, err := client.NewClientWithOpts(client.FromEnv, client.WithAPIVersionNegotiation())
	if err != nil {
		return nil, fmt.Errorf("%w: %w; check DOCKER_HOST", ErrDaemonUnreachable, err)
	}
	if _, err := cli.Ping(ctx); err != nil {
		_ = cli.Close()
		if client.IsErrConnectionFailed(err) {
			return nil, fmt.Errorf("%w at %s; start Docker or point DOCKER_HOST at a running daemon", ErrDaemonUnreachable, cli.DaemonHost())
		}
		return nil, fmt.Errorf("%w at %s: %w; start Docker or point DOCKER_HOST at a running daemon", ErrDaemonUnreachable, cli.DaemonHost(), oneLine(err))
	}
	return &dockerEngine{cli: cli}, nil
}

// dockerEngine is Engine over the Docker SDK client.
type dockerEngine struct {
	cli *client.Client
}

// outputGrace bounds the wait for the attach stream to end after the
// container has gone, so a stuck stream cannot hang the build.
const outputGrace = 5 * time.Second

func (d *dockerEngine) Ping(ctx context.Context) (DaemonInfo, error) {
	p, err := d.cli.Ping(ctx)
	if err != nil {
		return DaemonInfo{}, err
	}
	return DaemonInfo{APIVersion: p.APIVersion, OSType: p.OSType}, nil
}

func (d *dockerEngine) PullImage(ctx context.Context, ref, auth string, progress io.Writer) error {
	rc, err := d.cli.ImagePull(ctx, ref, image.PullOptions{RegistryAuth: auth})
	if err != nil {
		return err
	}
	defer rc.Close()
	fd, isTerm := term.GetFdInfo(progress)
	return jsonmessage.DisplayJSONMessagesStream(rc, progress, fd, isTerm, nil)
}

func (d *dockerEngine) LoadImage(ctx context.Context, tar io.Reader) ([]string, error) {
	resp, err := d.cli.ImageLoad(ctx, tar, client.ImageLoadWithQuiet(true))
	if err != nil {
		return nil, err
	}
	defer drain(resp.Body)
	return loadedNames(resp.Body)
}

func (d *dockerEngine) ImageID(ctx context.Context, ref string) (string, error) {
	img, err := d.cli.ImageInspect(ctx, ref)
	if err != nil {
		if cerrdefs.IsNotFound(err) {
			return "", imageNotFound{err}
		}
		return "", err
	}
	return img.ID, nil
}

func (d *dockerEngine) CreateContainer(ctx context.Context, c plan.Container) (string, error) {
	cfg, host := containerConfig(c)
	created, err := d.cli.ContainerCreate(ctx, cfg, host, nil, nil, "")
	if err != nil {
		if cerrdefs.IsNotFound(err) {
			return "", imageNotFound{err}
		}
		return "", engineError(err)
	}
	return created.ID, nil
}

func (d *dockerEngine) RunContainer(ctx context.Context, id string, stdout, stderr io.Writer) (int, error) {
	att, err := d.cli.ContainerAttach(ctx, id, container.AttachOptions{Stream: true, Stdout: true, Stderr: true})
	if err != nil {
		return 0, &StepError{Step: StepAttach, Err: connectionLost(ctx, err)}
	}
	copied := make(chan error, 1)
	go func() {
		_, err := stdcopy.StdCopy(stdout, stderr, att.Reader)
		copied <- err
	}()
	// On every way out, wait for the copy to end, so that nothing is
	// written to stdout or stderr after the return. The stream ends by
	// itself once an exited container's output is closed; otherwise
	// closing the connection ends it at once.
	exited := false
	defer func() {
		if !exited {
			att.Close()
		}
		select {
		case <-copied:
		case <-time.After(outputGrace):
		}
		if exited {
			att.Close()
		}
	}()

	// With AutoRemove the daemon removes the container when it exits, even
	// if kanikorun itself is killed; waiting for "removed" (as docker run
	// --rm does) returns the exit code once it is gone. The wait is set up
	// before the start, or a quick container could be gone before it.
	waitC, waitErr := d.cli.ContainerWait(ctx, id, container.WaitConditionRemoved)
	if err := d.cli.ContainerStart(ctx, id, container.StartOptions{}); err != nil {
		return 0, &StepError{Step: StepStart, Err: connectionLost(ctx, engineError(err))}
	}
	var code int
	select {
	case w := <-waitC:
		if w.Error != nil && w.Error.Message != "" {
			return 0, &StepError{Step: StepWait, Err: errors.New(w.Error.Message)}
		}
		code = int(w.StatusCode)
	case err := <-waitErr:
		return 0, &StepError{Step: StepWait, Err: connectionLost(ctx, err)}
	case <-ctx.Done():
		return 0, ctx.Err()
	}
	// The container has gone: its stream ends by itself once the last
	// lines are through, and the deferred wait lets them through.
	exited = true
	return code, nil
}

func (d *dockerEngine) RemoveContainer(ctx context.Context, id string) error {
	err := d.cli.ContainerRemove(ctx, id, container.RemoveOptions{Force: true, RemoveVolumes: true})
	// Not found or already being removed: the daemon's AutoRemove got
	// there first.
	if err != nil && !cerrdefs.IsNotFound(err) && !cerrdefs.IsConflict(err) {
		return err
	}
	return nil
}

func (d *dockerEngine) Close() error { return d.cli.Close() }

func (d *dockerEngine) ListContainers(ctx context.Context, labels map[string]string) ([]ContainerInfo, error) {
	list, err := d.cli.ContainerList(ctx, container.ListOptions{All: true, Filters: labelFilter(labels)})
	if err != nil {
		return nil, err
	}
	out := make([]ContainerInfo, 0, len(list))
	for _, c := range list {
		out = append(out, ContainerInfo{ID: c.ID, State: c.State, Labels: c.Labels})
	}
	return out, nil
}

func (d *dockerEngine) ListVolumes(ctx context.Context, labels map[string]string) ([]VolumeInfo, error) {
	list, err := d.cli.VolumeList(ctx, volume.ListOptions{Filters: labelFilter(labels)})
	if err != nil {
		return nil, err
	}
	out := make([]VolumeInfo, 0, len(list.Volumes))
	for _, v := range list.Volumes {
		out = append(out, VolumeInfo{Name: v.Name, Labels: v.Labels})
	}
	return out, nil
}

func (d *dockerEngine) RemoveVolume(ctx context.Context, name string) error {
	if err := d.cli.VolumeRemove(ctx, name, false); err != nil && !cerrdefs.IsNotFound(err) {
		return err
	}
	return nil
}

func (d *dockerEngine) Info(ctx context.Context) (DaemonDetails, error) {
	info, err := d.cli.Info(ctx)
	if err != nil {
		return DaemonDetails{}, err
	}
	return DaemonDetails{Version: info.ServerVersion, APIVersion: d.cli.ClientVersion(), OSType: info.OSType,
		StorageDriver: info.Driver, RootDir: info.DockerRootDir, Host: d.cli.DaemonHost()}, nil
}

func (d *dockerEngine) ImagePresent(ctx context.Context, ref string) (bool, error) {
	if _, err := d.cli.ImageInspect(ctx, ref); err != nil {
		if cerrdefs.IsNotFound(err) {
			return false, nil
		}
		return false, err
	}
	return true, nil
}

// labelFilter selects objects carrying every label (any value when empty).
func labelFilter(labels map[string]string) filters.Args {
	f := filters.NewArgs()
	for k, v := range labels {
		if v == "" {
			f.Add("label", k)
		} else {
			f.Add("label", k+"="+v)
		}
	}
	return f
}

// connectionLost marks an error of a streaming call that broke because
// the daemon's connection did (not because ctx ended) as ErrDaemonGone.
func connectionLost(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return err
	}
	if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) || errors.Is(err, syscall.ECONNRESET) ||
		errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.EPIPE) || client.IsErrConnectionFailed(err) {
		return errs.Mark(err, ErrDaemonGone)
	}
	return err
}

// engineError marks the daemon's "unavailable" and "overloaded" answers as
// ErrEngineTransient, which a retried build tries again.
func engineError(err error) error {
	if cerrdefs.IsUnavailable(err) || cerrdefs.IsResourceExhausted(err) {
		return errs.Mark(err, ErrEngineTransient)
	}
	return err
}

// imageNotFound marks a daemon error as ErrImageNotFound and keeps its
// message, which names the image.
type imageNotFound struct{ err error }

func (e imageNotFound) Error() string { return e.err.Error() }

func (e imageNotFound) Unwrap() []error { return []error{ErrImageNotFound, e.err} }

// containerConfig maps a plan onto the daemon's container configuration.
func containerConfig(c plan.Container) (*container.Config, *container.HostConfig) {
	cfg := &container.Config{
		Image:        c.Image,
		Cmd:          c.Args,
		Env:          c.Env,
		WorkingDir:   c.WorkingDir,
		Labels:       c.Labels,
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

// loadedNames reads the daemon's load response stream.
func loadedNames(body io.Reader) ([]string, error) {
	var names []string
	dec := json.NewDecoder(body)
	for {
		var m jsonmessage.JSONMessage
		if err := dec.Decode(&m); err == io.EOF {
			break
		} else if err != nil {
			return nil, fmt.Errorf("reading the daemon's answer: %w", err)
		}
		if m.Error != nil {
			return nil, m.Error
		}
		for _, line := range strings.Split(m.Stream, "\n") {
			for _, p := range []string{"Loaded image: ", "Loaded image ID: "} {
				if n, ok := strings.CutPrefix(strings.TrimSpace(line), p); ok {
					names = append(names, n)
				}
			}
		}
	}
	return names, nil
}

// drain reads a response body to the end so the connection can be reused.
func drain(rc io.ReadCloser) {
	_, _ = io.Copy(io.Discard, rc)
	_ = rc.Close()
}
