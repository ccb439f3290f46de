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

	"github.com/kanikorun/kanikorun/internal/plan"
)

// Engine is the container daemon as kanikorun uses it: the calls it makes,
// and nothing more, in kanikorun's types. Connect returns the Docker
// implementation; tests put a fake in its place.
//
// Later features are further methods beside these, in the same terms, so
// that none of the methods below change: listing the containers and
// volumes that carry given labels (returning small structs of our own),
// copying a tar stream into and out of a container (CopyTo, CopyFrom),
// and creating and removing named volumes. A plan.Container will then
// carry volume mounts next to its bind mounts, which CreateContainer maps.
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
	// removes the container once it has exited. An error wrapping
	// ErrImageNotFound means the daemon lacks c.Image.
	CreateContainer(ctx context.Context, c plan.Container) (id string, err error)
	// RunContainer starts the created container id, streams its output
	// live (unbuffered) to stdout and stderr, and returns its exit code
	// once it has exited, been removed, and all its output is written.
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
	// never started included), that carry all the given labels.
	ListContainers(ctx context.Context, labels map[string]string) ([]ContainerInfo, error)
	// ListVolumes lists the named volumes that carry all the given labels.
	ListVolumes(ctx context.Context, labels map[string]string) ([]VolumeInfo, error)
	// RemoveVolume removes the named volume; one that is already gone is
	// not an error, one in use is.
	RemoveVolume(ctx context.Context, name string) error
	// Info says what the daemon is: version, API, OS, storage driver,
	// root directory (kanikorun doctor).
	Info(ctx context.Context) (DaemonDetails, error)
	// ImagePresent reports whether the daemon has the image ref.
	ImagePresent(ctx context.Context, ref string) (bool, error)
	// Close releases the connection to the daemon.
	Close() error
}

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
	// Labels are the container's labels.
	Labels map[string]string
}

// VolumeInfo is a named volume as ListVolumes reports it.
type VolumeInfo struct {
	// Name is the volume's name.
	Name string
	// Labels are the volume's labels.
	Labels map[string]string
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
