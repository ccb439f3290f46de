// Package runner is kanikorun's local backend: it runs an executor plan as an
// ordinary container through the Docker Engine API, pulls the executor image
// with a progress display, streams the logs live, returns the executor's exit
// code, and loads built images into the daemon.
//
// The runner talks to the daemon only through Engine, which is written in
// kanikorun's own types. docker.go is the one file of the module (outside
// the test bed) that imports the Docker SDK, so a move to another client
// module touches that file alone.
package runner

import (
	"context"
	"errors"
	"io"
	"strings"
	"time"

	"github.com/kanikorun/kanikorun/internal/plan"
)

// Engine is the container daemon as kanikorun uses it: the calls it makes,
// and nothing more, in kanikorun's types. Connect returns the Docker
// implementation; tests put a fake in its place.
//
// Later features are further methods beside these, in the same terms, so
// that none of the methods change: the cache added named volumes
// (EnsureVolume, ListVolumes, RemoveVolume) and copies into and out of a
// container (StatPath, CopyTo, CopyFrom), and a plan.Container carries
// volume mounts next to its bind mounts, which CreateContainer maps.
type Engine interface {
	// Ping checks that the daemon answers and says what it runs.
	Ping(ctx context.Context) (DaemonInfo, error)
	// PullImage pulls ref. auth is the base64-encoded Engine API
	// credentials for its registry, "" for anonymous. The daemon's
	// progress is rendered to progress as the docker CLI renders it:
	// redrawn bars when progress is a terminal, plain lines otherwise.
	PullImage(ctx context.Context, ref, auth string, progress io.Writer) error
	// LoadImage loads a docker-format image tarball and returns the names
	// the daemon reports: "name:tag", or an image ID when untagged.
	LoadImage(ctx context.Context, tar io.Reader) ([]string, error)
	// ImageID returns the ID the daemon gave the image ref ("name:tag"),
	// "sha256:..." as docker image inspect reports it. An error wrapping
	// ErrImageNotFound means the daemon has no such image.
	ImageID(ctx context.Context, ref string) (string, error)
	// CreateContainer creates, without starting it, the container c
	// describes, with exactly c's labels, and returns its ID. The daemon
	// removes the container once it has exited, unless c.KeepAfterExit
	// (stream mode). An error wrapping ErrImageNotFound means the daemon
	// lacks c.Image.
	CreateContainer(ctx context.Context, c plan.Container) (id string, err error)
	// RunContainer starts the created container id, streams its output
	// live (unbuffered) to stdout and stderr, and returns its exit code
	// once it has exited and all its output is written. The daemon may
	// still be tearing the container down and removing it (AutoRemove);
	// RemoveContainer then has nothing to do.
	// The output is attached before the start, so no line is lost, and
	// nothing more is written to stdout or stderr after the return (short
	// of a stream stuck for seconds, which is then cut off). When ctx
	// ends first it returns ctx's error at once and leaves the container
	// to RemoveContainer. A failed step is a *StepError.
	RunContainer(ctx context.Context, id string, stdout, stderr io.Writer) (exitCode int, err error)
	// RemoveContainer removes the container id at once, killing it if it
	// runs, together with its anonymous volumes. A container that is
	// already gone, or being removed, is not an error.
	RemoveContainer(ctx context.Context, id string) error
	// ListContainers lists the containers, in every state (created but
	// never started included), that carry all the given labels, and says
	// of each whether the daemon is about to remove it by itself.
	ListContainers(ctx context.Context, labels map[string]string) ([]ContainerInfo, error)
	// ListVolumes lists the named volumes that carry all the given labels.
	ListVolumes(ctx context.Context, labels map[string]string) ([]VolumeInfo, error)
	// RemoveVolume removes the named volume. A volume that does not exist
	// is not an error; one a container uses is an error wrapping
	// ErrVolumeInUse.
	RemoveVolume(ctx context.Context, name string) error
	// Info says what the daemon is: version, API, OS, storage driver,
	// root directory (kanikorun doctor).
	Info(ctx context.Context) (DaemonDetails, error)
	// ImagePresent reports whether the daemon has the image ref.
	ImagePresent(ctx context.Context, ref string) (bool, error)
	// Close releases the connection to the daemon.
	Close() error

	// EnsureVolume creates the named volume with labels unless it
	// exists; an existing volume is left as it is.
	EnsureVolume(ctx context.Context, name string, labels map[string]string) error
	// StatPath describes path in the container id, created or running,
	// volumes included. An error wrapping ErrPathNotFound means there is
	// nothing there.
	StatPath(ctx context.Context, id, path string) (PathInfo, error)
	// CopyTo extracts the tar stream into the directory dir of the
	// container id (created or running), volumes included; dir must exist.
	CopyTo(ctx context.Context, id, dir string, tar io.Reader) error
	// CopyFrom returns path of the container id as a tar stream whose
	// entries start with path's base name. Close it when done.
	CopyFrom(ctx context.Context, id, path string) (io.ReadCloser, error)
	// RunContainerStdin is RunContainer for a container created with
	// plan.Container.StdinContext: stdin is copied to the container's
	// stdin, which is closed at its end, and the container, created with
	// KeepAfterExit, stays after its exit for CopyFrom until
	// RemoveContainer.
	RunContainerStdin(ctx context.Context, id string, stdin io.Reader, stdout, stderr io.Writer) (exitCode int, err error)
	// Endpoint says which daemon the Engine talks to.
	Endpoint() Endpoint
}

// Endpoint is the daemon an Engine talks to.
type Endpoint struct {
	// Host is the daemon's address as configured: unix:///..., npipe://,
	// tcp://host:port or ssh://user@host.
	Host string
	// Context is the docker context it came from; empty when it came
	// from DOCKER_HOST or the default.
	Context string
}

// Remote says the daemon may be on another machine, so it cannot see
// this machine's files: every tcp:// and ssh:// daemon counts, even on
// loopback; unix:// and npipe:// sockets (rootless Docker's
// unix:///run/user/UID/docker.sock too) are local.
func (e Endpoint) Remote() bool {
	scheme, _, ok := strings.Cut(e.Host, "://")
	if !ok {
		return false
	}
	switch strings.ToLower(scheme) {
	case "unix", "npipe", "fd":
		return false
	}
	return true
}

// String names the endpoint for messages.
func (e Endpoint) String() string {
	if e.Context != "" {
		return e.Host + " (docker context " + e.Context + ")"
	}
	return e.Host
}

// PathInfo is what Engine.StatPath reports.
type PathInfo struct {
	// Size is the size in bytes.
	Size int64
	// ModTime is the modification time.
	ModTime time.Time
	// IsDir says it is a directory.
	IsDir bool
	// LinkTarget is the path a symbolic link resolves to; "" otherwise.
	LinkTarget string
}

// ErrPathNotFound is how an Engine says a container has no such path.
var ErrPathNotFound = errors.New("no such path in the container")

// ErrVolumeInUse is how an Engine says a container still uses a volume.
var ErrVolumeInUse = errors.New("volume in use")

// DaemonDetails are what Info reports.
type DaemonDetails struct {
	// Version is the engine's version, e.g. "20.10.24".
	Version string
	// APIVersion is the API version in use, e.g. "1.41".
	APIVersion string
	// OSType is "linux" or "windows".
	OSType string
	// StorageDriver is the daemon's storage driver, e.g. "overlay2".
	StorageDriver string
	// RootDir is the daemon's data directory, e.g. /var/lib/docker.
	RootDir string
	// Host is the address the client reached it at (DOCKER_HOST or the
	// default socket).
	Host string
}

// ContainerInfo is a container as ListContainers reports it.
type ContainerInfo struct {
	// ID is the container's full ID.
	ID string
	// State is the daemon's word for it: created, running, exited, ...
	State string
	// Running says it runs (or is paused or restarting).
	Running bool
	// Leaving says it has exited and the daemon removes it by itself
	// (AutoRemove), or is removing it: a run that returned at its exit
	// leaves it so for a few milliseconds.
	Leaving bool
	// Labels are the container's labels.
	Labels map[string]string
	// Created is when it was created.
	Created time.Time
}

// VolumeInfo is a named volume as ListVolumes reports it.
type VolumeInfo struct {
	// Name is the volume's name.
	Name string
	// Labels are the volume's labels.
	Labels map[string]string
	// CreatedAt is when the daemon created it; zero when unknown.
	CreatedAt time.Time
}

// DaemonInfo is what Ping reports about the daemon.
type DaemonInfo struct {
	// APIVersion is the Engine API version the daemon speaks, e.g. "1.41".
	APIVersion string
	// OSType is the daemon's operating system, "linux" or "windows".
	OSType string
}

// ErrDaemonUnreachable means no Docker daemon answered.
var ErrDaemonUnreachable = errors.New("cannot reach the Docker daemon")

// ErrImageNotFound is how an Engine says the daemon lacks an image; the
// runner then pulls it, as the pull policy allows.
var ErrImageNotFound = errors.New("image not found in the daemon")

// Step names a step of Engine.RunContainer, as kanikorun reports it.
type Step string

// The steps of Engine.RunContainer.
const (
	StepAttach Step = "attaching to"
	StepStart  Step = "starting"
	StepWait   Step = "waiting for"
)

// StepError is a failed step of Engine.RunContainer.
type StepError struct {
	// Step is the step that failed.
	Step Step
	// Err is the daemon's error.
	Err error
}

func (e *StepError) Error() string { return string(e.Step) + " container: " + e.Err.Error() }

func (e *StepError) Unwrap() error { return e.Err }

// lineError shows only the first line of a daemon error, so that the user
// sees one line, and keeps the whole error in the chain.
type lineError struct{ err error }

// oneLine keeps a daemon error to one line.
func oneLine(err error) error { return lineError{err} }

func (e lineError) Error() string {
	s := strings.TrimSpace(e.err.Error())
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	return s
}

func (e lineError) Unwrap() error { return e.err }
