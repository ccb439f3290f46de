package runner

// This is the module's only file outside internal/testbed that imports the
// Docker SDK (imports_test.go keeps it so): it maps Engine, written in
// kanikorun's types, onto the Docker Engine API client. Nothing of the SDK
// leaves it, so moving to another client module changes this file alone.

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/cli/cli/config"
	"github.com/docker/cli/cli/connhelper"
	"github.com/docker/cli/cli/context/store"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/events"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/api/types/mount"
	"github.com/docker/docker/api/types/volume"
	"github.com/docker/docker/client"
	"github.com/docker/docker/pkg/jsonmessage"
	"github.com/moby/term"

	"github.com/kanikorun/kanikorun/internal/errs"
	"github.com/kanikorun/kanikorun/internal/plan"
)

// Connect returns an Engine for the Docker daemon the docker CLI would
// use, negotiating the API version with it, after checking that it
// answers: DOCKER_HOST (with DOCKER_CERT_PATH, DOCKER_TLS_VERIFY,
// DOCKER_API_VERSION), else the docker context DOCKER_CONTEXT or the
// config's currentContext names, read from docker/cli's context store,
// else the default socket. An ssh:// daemon is reached through the docker
// CLI's connection helper (ssh HOST docker system dial-stdio).
func Connect(ctx context.Context) (Engine, error) {
	opts, ep, err := clientOpts()
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrDaemonUnreachable, err)
	}
	cli, err := client.NewClientWithOpts(append(opts, client.WithAPIVersionNegotiation())...)
	if err != nil {
		return nil, fmt.Errorf("%w at %s: %w; check DOCKER_HOST or the docker context", ErrDaemonUnreachable, ep, err)
	}
	p, err := cli.Ping(ctx)
	if err != nil {
		_ = cli.Close()
		return nil, fmt.Errorf("%w at %s: %w; %s", ErrDaemonUnreachable, ep, oneLine(reachError(ep, err)), reachHint(ep))
	}
	// The version comes from this ping: without it the client pings
	// again before its first request.
	cli.NegotiateAPIVersionPing(p)
	return newDockerEngine(cli, ep), nil
}

// reachError says what failed where the client only says "Cannot
// connect to the Docker daemon": for a socket or TCP address it dials it
// itself, so the user reads "connection refused", "no such file or
// directory" or "permission denied".
func reachError(ep Endpoint, err error) error {
	if !client.IsErrConnectionFailed(err) {
		return err
	}
	scheme, addr, _ := strings.Cut(ep.Host, "://")
	switch scheme {
	case "unix", "tcp":
		c, derr := net.DialTimeout(scheme, addr, 3*time.Second)
		if derr != nil {
			return derr
		}
		c.Close()
	}
	return err
}

// ResolveEndpoint is the daemon Connect would reach (DOCKER_HOST, the
// docker context, the default socket), without reaching it: enough to
// tell a local daemon from a remote one, for a dry run.
func ResolveEndpoint() (Endpoint, error) {
	_, ep, err := clientOpts()
	if err != nil {
		return ep, fmt.Errorf("%w: %w", ErrDaemonUnreachable, err)
	}
	return ep, nil
}

// reachHint says what to check for the kind of endpoint that failed.
func reachHint(ep Endpoint) string {
	switch {
	case strings.HasPrefix(ep.Host, "ssh://"):
		return "check that ssh to the host works without a prompt and that docker runs there"
	case ep.Context != "":
		return "start that daemon or choose another context (docker context use, DOCKER_CONTEXT)"
	case ep.Remote():
		return "check that the daemon listens there and the network reaches it"
	}
	return "start Docker or point DOCKER_HOST at a running daemon"
}

// clientOpts resolves the daemon as the docker CLI does.
func clientOpts() ([]client.Opt, Endpoint, error) {
	if h := os.Getenv(client.EnvOverrideHost); h != "" {
		ep := Endpoint{Host: h}
		helper, err := connhelper.GetConnectionHelper(h)
		if err != nil {
			return nil, ep, fmt.Errorf("DOCKER_HOST %q: %w", h, err)
		}
		if helper != nil {
			return helperOpts(helper), ep, nil
		}
		return []client.Opt{client.FromEnv}, ep, nil
	}
	// The docker CLI's config.Dir, computed here: it memoizes its own.
	dir := os.Getenv(config.EnvOverrideConfigDir)
	if dir == "" {
		home, _ := os.UserHomeDir()
		dir = filepath.Join(home, ".docker")
	}
	name := os.Getenv("DOCKER_CONTEXT")
	if name == "" {
		if cf, err := config.Load(dir); err == nil {
			name = cf.CurrentContext
		}
	}
	if name == "" || name == "default" {
		return []client.Opt{client.FromEnv}, Endpoint{Host: client.DefaultDockerHost}, nil
	}
	s := store.New(filepath.Join(dir, "contexts"), store.NewConfig(
		func() any { return &map[string]any{} },
		store.EndpointTypeGetter(dockerEndpoint, func() any { return &endpointMeta{} }),
	))
	md, err := s.GetMetadata(name)
	if err != nil {
		return nil, Endpoint{Context: name}, fmt.Errorf("docker context %q: %w", name, err)
	}
	em, ok := md.Endpoints[dockerEndpoint].(endpointMeta)
	if !ok {
		return nil, Endpoint{Context: name}, fmt.Errorf("docker context %q has no docker endpoint", name)
	}
	ep := Endpoint{Host: em.Host, Context: name}
	if em.Host == "" {
		ep.Host = client.DefaultDockerHost
	}
	helper, err := connhelper.GetConnectionHelper(ep.Host)
	if err != nil {
		return nil, ep, fmt.Errorf("docker context %q: %w", name, err)
	}
	if helper != nil {
		return helperOpts(helper), ep, nil
	}
	opts := []client.Opt{client.WithHost(ep.Host), client.WithVersionFromEnv()}
	if ep.Remote() {
		tc, err := contextTLS(s, name, em.SkipTLSVerify)
		if err != nil {
			return nil, ep, fmt.Errorf("docker context %q: %w", name, err)
		}
		if tc != nil {
			opts = append(opts, client.WithHTTPClient(&http.Client{Transport: &http.Transport{TLSClientConfig: tc}, CheckRedirect: client.CheckRedirect}))
		}
	}
	return opts, ep, nil
}

// dockerEndpoint is the endpoint of a docker context that names the
// daemon (docker/cli's context/docker.DockerEndpoint).
const dockerEndpoint = "docker"

// endpointMeta is what a docker context stores about the daemon, as
// docker/cli's context/docker.EndpointMeta stores it.
type endpointMeta struct {
	Host          string `json:",omitempty"`
	SkipTLSVerify bool
}

// contextTLS reads a context's TLS material (ca.pem, cert.pem, key.pem)
// as the docker CLI does; nil when the context has none.
func contextTLS(s *store.ContextStore, name string, skipVerify bool) (*tls.Config, error) {
	read := func(f string) []byte {
		b, err := s.GetTLSData(name, dockerEndpoint, f)
		if err != nil {
			return nil
		}
		return b
	}
	ca, cert, key := read("ca.pem"), read("cert.pem"), read("key.pem")
	if ca == nil && cert == nil && !skipVerify {
		return nil, nil
	}
	tc := &tls.Config{MinVersion: tls.VersionTLS12, InsecureSkipVerify: skipVerify} //nolint:gosec // the context asks for it
	if ca != nil {
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(ca) {
			return nil, errors.New("its ca.pem holds no certificate")
		}
		tc.RootCAs = pool
	}
	if cert != nil && key != nil {
		pair, err := tls.X509KeyPair(cert, key)
		if err != nil {
			return nil, fmt.Errorf("its client certificate: %w", err)
		}
		tc.Certificates = []tls.Certificate{pair}
	}
	return tc, nil
}

func helperOpts(h *connhelper.ConnectionHelper) []client.Opt {
	return []client.Opt{
		client.WithHTTPClient(&http.Client{Transport: &http.Transport{DialContext: h.Dialer}}),
		client.WithHost(h.Host),
		client.WithDialContext(h.Dialer),
		client.WithVersionFromEnv(),
	}
}

// dockerEngine is Engine over the Docker SDK client.
type dockerEngine struct {
	cli *client.Client
	ep  Endpoint
	mu  sync.Mutex
	// keep are the containers created with KeepAfterExit: their run
	// ends with the wait for the exit, after the daemon's teardown, since
	// they are copied from next.
	keep map[string]bool
	// leaving are the AutoRemove containers whose run returned at their
	// exit: the daemon removes them (and their anonymous volumes) a moment
	// later, so removing them again would only cost a round trip.
	leaving map[string]bool
}

func newDockerEngine(cli *client.Client, ep Endpoint) *dockerEngine {
	return &dockerEngine{cli: cli, ep: ep, keep: map[string]bool{}, leaving: map[string]bool{}}
}

func (d *dockerEngine) Endpoint() Endpoint { return d.ep }

// outputGrace bounds the wait for the attach stream to end after the
// container has exited, so a stuck stream cannot hang the build.
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
	if c.KeepAfterExit {
		d.mu.Lock()
		d.keep[created.ID] = true
		d.mu.Unlock()
	}
	return created.ID, nil
}

func (d *dockerEngine) RunContainer(ctx context.Context, id string, stdout, stderr io.Writer) (int, error) {
	return d.run(ctx, id, nil, stdout, stderr)
}

func (d *dockerEngine) RunContainerStdin(ctx context.Context, id string, stdin io.Reader, stdout, stderr io.Writer) (int, error) {
	return d.run(ctx, id, stdin, stdout, stderr)
}

func (d *dockerEngine) run(ctx context.Context, id string, stdin io.Reader, stdout, stderr io.Writer) (int, error) {
	att, err := d.cli.ContainerAttach(ctx, id, container.AttachOptions{Stream: true, Stdin: stdin != nil, Stdout: true, Stderr: true})
	if err != nil {
		return 0, &StepError{Step: StepAttach, Err: connectionLost(ctx, err)}
	}
	if stdin != nil {
		go func() {
			// The executor reads the context to its end; closing our
			// side then closes the container's stdin (StdinOnce).
			_, _ = io.Copy(att.Conn, stdin)
			_ = att.CloseWrite()
		}()
	}
	copied := make(chan error, 1)
	go func() {
		err := demux(stdout, stderr, att.Reader)
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

	// The run ends at the exit: with AutoRemove the daemon then removes
	// the container by itself, even if kanikorun is killed, so waiting
	// for "removed" as docker run --rm does would only make the caller
	// wait for the daemon's teardown (on Engine 20.10 the network's and
	// the mounts' release come after the die event and before the wait
	// for "next-exit" returns: 45 to 75 ms on a bridge network). The die
	// event, carrying the exit code, is the earliest word of the exit; the
	// wait, set up before the start as well, covers a daemon whose events
	// fail. A kept container (stream mode) is copied from next, which the
	// daemon allows only after its teardown: the wait is its end. (On
	// current engines the teardown comes before both, and only the removal
	// is saved.)
	d.mu.Lock()
	keep := d.keep[id]
	d.mu.Unlock()
	wctx, stop := context.WithCancel(ctx)
	defer stop()
	var died <-chan int
	if !keep {
		died = d.dieEvent(wctx, id)
	}
	waitC, waitErr := d.cli.ContainerWait(wctx, id, container.WaitConditionNextExit)
	if err := d.cli.ContainerStart(ctx, id, container.StartOptions{}); err != nil {
		return 0, &StepError{Step: StepStart, Err: connectionLost(ctx, engineError(err))}
	}
	var code int
	select {
	case code = <-died:
		// The wait answers a moment later (or its request is cancelled
		// on the return); the SDK hands its answer over unbuffered.
		go func() {
			select {
			case <-waitC:
			case <-waitErr:
			}
		}()
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
	if !keep {
		d.mu.Lock()
		d.leaving[id] = true
		d.mu.Unlock()
	}
	// The container has exited: its stream ends by itself once the last
	// lines are through (the daemon closes it before it reports the
	// exit), and the deferred wait lets them through.
	exited = true
	return code, nil
}

// dieEvent sends the container's exit code from its die event, the
// daemon's first word of the exit. The subscription is made in the
// background, so that it holds nothing up, and asks for events since long
// ago: the daemon replays what it logged since then (its last 256 events),
// so a die that came first is not missed. On any failure nothing is sent
// and the wait decides. The daemon copies the container's labels into the
// event's attributes; an executor image labelled exitCode would shadow
// the code, as it could exit with any code anyway.
func (d *dockerEngine) dieEvent(ctx context.Context, id string) <-chan int {
	code := make(chan int, 1)
	go func() {
		msgs, errc := d.cli.Events(ctx, events.ListOptions{
			Since: "1",
			Filters: filters.NewArgs(
				filters.Arg("type", string(events.ContainerEventType)),
				filters.Arg("container", id),
				filters.Arg("event", string(events.ActionDie)),
			),
		})
		for {
			select {
			case m := <-msgs:
				// A proxy that drops the filters must not pass another
				// container's exit for this one's.
				if m.Type != events.ContainerEventType || m.Action != events.ActionDie || m.Actor.ID != id {
					continue
				}
				if c, err := strconv.Atoi(m.Actor.Attributes["exitCode"]); err == nil {
					code <- c
				}
				return
			case <-errc:
				return
			case <-ctx.Done():
				return
			}
		}
	}()
	return code
}

// leavingByItself reports whether the container has exited and the daemon
// removes it by itself (AutoRemove), or is gone or being removed already.
// The list still says "running" while the daemon tears an exited container
// down (Engine 20.10); the inspect waits for the teardown to end.
func (d *dockerEngine) leavingByItself(ctx context.Context, id string) bool {
	info, err := d.cli.ContainerInspect(ctx, id)
	if cerrdefs.IsNotFound(err) {
		return true
	}
	if err != nil || info.State == nil || info.HostConfig == nil {
		return false
	}
	switch info.State.Status {
	case string(container.StateRemoving):
		return true
	case string(container.StateExited):
		return info.HostConfig.AutoRemove
	}
	return false
}

// leaveTimeout bounds the wait for the daemon to remove containers that
// have exited; it takes milliseconds.
const leaveTimeout = 10 * time.Second

// awaitLeavingHolders waits until the daemon has removed the containers
// that hold the volume, when every one of them has exited and is the
// daemon's to remove (AutoRemove): a run returns at its container's exit,
// this process's or another's, and the daemon releases the container's
// volumes a moment later. It reports whether it waited; a holder that
// runs, or that nobody removes by itself, holds the volume for real.
func (d *dockerEngine) awaitLeavingHolders(ctx context.Context, vol string) bool {
	list, err := d.cli.ContainerList(ctx, container.ListOptions{All: true, Filters: filters.NewArgs(filters.Arg("volume", vol))})
	if err != nil || len(list) == 0 {
		return false
	}
	for _, c := range list {
		if !d.leavingByItself(ctx, c.ID) {
			return false
		}
	}
	ctx, cancel := context.WithTimeout(ctx, leaveTimeout)
	defer cancel()
	for _, c := range list {
		// A container already gone answers at once, with "not found".
		waitC, errc := d.cli.ContainerWait(ctx, c.ID, container.WaitConditionRemoved)
		select {
		case <-waitC:
		case <-errc:
		}
	}
	return true
}

func (d *dockerEngine) RemoveContainer(ctx context.Context, id string) error {
	d.mu.Lock()
	delete(d.keep, id)
	leaving := d.leaving[id]
	delete(d.leaving, id)
	d.mu.Unlock()
	if leaving {
		return nil
	}
	err := d.cli.ContainerRemove(ctx, id, container.RemoveOptions{Force: true, RemoveVolumes: true})
	// Not found or already being removed: the daemon's AutoRemove got
	// there first.
	if err != nil && !cerrdefs.IsNotFound(err) && !cerrdefs.IsConflict(err) {
		return err
	}
	return nil
}

func (d *dockerEngine) Close() error { return d.cli.Close() }

func (d *dockerEngine) EnsureVolume(ctx context.Context, name string, labels map[string]string) error {
	// One call: creating a volume that exists returns it as it is (two
	// builds may create it at once), which saves an inspect per build.
	_, err := d.cli.VolumeCreate(ctx, volume.CreateOptions{Name: name, Labels: labels})
	return err
}

func (d *dockerEngine) StatPath(ctx context.Context, id, path string) (PathInfo, error) {
	st, err := d.cli.ContainerStatPath(ctx, id, path)
	if err != nil {
		if cerrdefs.IsNotFound(err) {
			return PathInfo{}, fmt.Errorf("%w: %s", ErrPathNotFound, path)
		}
		return PathInfo{}, err
	}
	return PathInfo{Size: st.Size, ModTime: st.Mtime, IsDir: st.Mode.IsDir(), LinkTarget: st.LinkTarget}, nil
}

func (d *dockerEngine) CopyTo(ctx context.Context, id, dir string, tar io.Reader) error {
	return d.cli.CopyToContainer(ctx, id, dir, tar, container.CopyToContainerOptions{})
}

func (d *dockerEngine) CopyFrom(ctx context.Context, id, path string) (io.ReadCloser, error) {
	rc, _, err := d.cli.CopyFromContainer(ctx, id, path)
	if err != nil && cerrdefs.IsNotFound(err) {
		return nil, fmt.Errorf("%w: %s", ErrPathNotFound, path)
	}
	return rc, err
}

func (d *dockerEngine) ListContainers(ctx context.Context, labels map[string]string) ([]ContainerInfo, error) {
	list, err := d.cli.ContainerList(ctx, container.ListOptions{All: true, Filters: labelFilter(labels)})
	if err != nil {
		return nil, err
	}
	out := make([]ContainerInfo, 0, len(list))
	for _, c := range list {
		running := c.State == container.StateRunning || c.State == container.StatePaused || c.State == container.StateRestarting
		info := ContainerInfo{ID: c.ID, State: c.State, Running: running, Labels: c.Labels, Created: time.Unix(c.Created, 0)}
		if c.State == container.StateRunning || c.State == container.StateExited || c.State == container.StateRemoving {
			info.Leaving = d.leavingByItself(ctx, c.ID)
		}
		out = append(out, info)
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
		created, _ := time.Parse(time.RFC3339, v.CreatedAt)
		out = append(out, VolumeInfo{Name: v.Name, Labels: v.Labels, CreatedAt: created})
	}
	return out, nil
}

func (d *dockerEngine) RemoveVolume(ctx context.Context, name string) error {
	err := d.cli.VolumeRemove(ctx, name, false)
	if cerrdefs.IsConflict(err) && d.awaitLeavingHolders(ctx, name) {
		err = d.cli.VolumeRemove(ctx, name, false)
	}
	switch {
	case err == nil, cerrdefs.IsNotFound(err):
		return nil
	case cerrdefs.IsConflict(err):
		return fmt.Errorf("%w: %w", ErrVolumeInUse, oneLine(err))
	}
	return err
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
		LogConfig: container.LogConfig{Type: "none"},
		// Stream mode copies the outputs out of the exited container,
		// then removes it.
		AutoRemove: !c.KeepAfterExit,
	}
	if c.StdinContext != "" {
		cfg.OpenStdin, cfg.StdinOnce, cfg.AttachStdin = true, true, true
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
	for _, v := range c.Volumes {
		m := mount.Mount{Type: mount.TypeVolume, Source: v.Name, Target: v.Target}
		if len(v.Labels) > 0 || v.NoCopy {
			m.VolumeOptions = &mount.VolumeOptions{Labels: v.Labels, NoCopy: v.NoCopy}
		}
		host.Mounts = append(host.Mounts, m)
	}
	return cfg, host
}

// demux splits the daemon's multiplexed attach stream (frames of an
// 8-byte header, stream and size, then the payload) onto stdout and
// stderr. Unlike stdcopy.StdCopy, which grows its buffer to the largest
// frame, it copies each frame through a fixed buffer: an executor
// writing 100 MB in one write costs 32 KB here, not 100 MB and more.
func demux(stdout, stderr io.Writer, r io.Reader) error {
	var hdr [8]byte
	buf := make([]byte, 32<<10)
	for {
		if _, err := io.ReadFull(r, hdr[:]); err != nil {
			if err == io.EOF {
				return nil
			}
			return err
		}
		size := int64(binary.BigEndian.Uint32(hdr[4:]))
		var w io.Writer
		switch hdr[0] {
		case 0, 1:
			w = stdout
		case 2:
			w = stderr
		case 3:
			msg, _ := io.ReadAll(io.LimitReader(r, size))
			return fmt.Errorf("error from the daemon in the log stream: %s", msg)
		default:
			return fmt.Errorf("unknown stream %d in the log stream", hdr[0])
		}
		if _, err := io.CopyBuffer(w, io.LimitReader(r, size), buf); err != nil {
			return err
		}
	}
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
