// Package runner is kanikorun's local backend: it runs an executor plan as an
// ordinary container through the Docker Engine API, pulls the executor image
// with a progress display, streams the logs live, returns the executor's exit
// code, and loads built images into the daemon.
//
// This file is the only one that names the Docker client package; everything
// else talks to the narrow Engine interface, so a move to another client
// module touches one file.
package runner

import (
	"context"
	"errors"
	"fmt"
	"io"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/client"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// Engine lists the Docker Engine API calls kanikorun makes, and nothing more.
type Engine interface {
	Ping(ctx context.Context) (types.Ping, error)
	ImagePull(ctx context.Context, ref string, options image.PullOptions) (io.ReadCloser, error)
	ImageLoad(ctx context.Context, input io.Reader, opts ...client.ImageLoadOption) (image.LoadResponse, error)
	ContainerCreate(ctx context.Context, config *container.Config, hostConfig *container.HostConfig, networkingConfig *network.NetworkingConfig, platform *ocispec.Platform, containerName string) (container.CreateResponse, error)
	ContainerAttach(ctx context.Context, containerID string, options container.AttachOptions) (types.HijackedResponse, error)
	ContainerStart(ctx context.Context, containerID string, options container.StartOptions) error
	ContainerWait(ctx context.Context, containerID string, condition container.WaitCondition) (<-chan container.WaitResponse, <-chan error)
	ContainerRemove(ctx context.Context, containerID string, options container.RemoveOptions) error
	Close() error
}

// ErrDaemonUnreachable means no Docker daemon answered.
var ErrDaemonUnreachable = errors.New("cannot reach the Docker daemon")

// Connect returns a client configured from the environment (DOCKER_HOST,
// DOCKER_CERT_PATH, DOCKER_TLS_VERIFY, DOCKER_API_VERSION) that negotiates
// the API version with the daemon, after checking that the daemon answers.
func Connect(ctx context.Context) (Engine, error) {
	cli, err := client.NewClientWithOpts(client.FromEnv, client.WithAPIVersionNegotiation())
	if err != nil {
		return nil, fmt.Errorf("%w: %v; check DOCKER_HOST", ErrDaemonUnreachable, err)
	}
	if _, err := cli.Ping(ctx); err != nil {
		_ = cli.Close()
		if client.IsErrConnectionFailed(err) {
			return nil, fmt.Errorf("%w at %s; start Docker or point DOCKER_HOST at a running daemon", ErrDaemonUnreachable, cli.DaemonHost())
		}
		return nil, fmt.Errorf("%w at %s: %v; start Docker or point DOCKER_HOST at a running daemon", ErrDaemonUnreachable, cli.DaemonHost(), oneLine(err))
	}
	return cli, nil
}

func isNotFound(err error) bool { return cerrdefs.IsNotFound(err) }

func isConflict(err error) bool { return cerrdefs.IsConflict(err) }

// quietLoad asks the daemon for a terse load response.
var quietLoad = client.ImageLoadWithQuiet(true)
