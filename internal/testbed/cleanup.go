package testbed

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/api/types/volume"
	"github.com/docker/docker/client"
)

// CleanupImage removes ref from the daemon when the test ends, so a test
// that pulls or loads an image need not name SDK types to tidy up. Only
// the reference goes when another tag still holds the image.
func CleanupImage(t testing.TB, cli *client.Client, ref string) {
	t.Helper()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_, _ = cli.ImageRemove(ctx, ref, image.RemoveOptions{})
	})
}

// RemoveVolumes removes the named volumes, and every volume named with
// one of them and a "-" after it (the tests' per-test cache volumes);
// failures are reported on stderr.
func RemoveVolumes(ctx context.Context, cli *client.Client, names ...string) {
	list, err := cli.VolumeList(ctx, volume.ListOptions{})
	if err != nil {
		fmt.Fprintln(os.Stderr, "listing volumes:", err)
		return
	}
	for _, v := range list.Volumes {
		for _, n := range names {
			if v.Name == n || strings.HasPrefix(v.Name, n+"-") {
				if err := RemoveVolume(ctx, cli, v.Name); err != nil {
					fmt.Fprintln(os.Stderr, "removing volume:", err)
				}
			}
		}
	}
}

// RemoveVolume removes a volume once the containers that hold it are
// gone: a kanikorun run returns at its container's exit, and the daemon
// releases the container's volumes a moment later, when it removes it.
func RemoveVolume(ctx context.Context, cli *client.Client, name string) error {
	err := cli.VolumeRemove(ctx, name, true)
	if err == nil || !cerrdefs.IsConflict(err) {
		return err
	}
	list, lerr := cli.ContainerList(ctx, container.ListOptions{All: true, Filters: filters.NewArgs(filters.Arg("volume", name))})
	if lerr != nil {
		return err
	}
	ids := make([]string, 0, len(list))
	for _, c := range list {
		ids = append(ids, c.ID)
	}
	AwaitRemoval(ctx, cli, ids)
	return cli.VolumeRemove(ctx, name, true)
}
