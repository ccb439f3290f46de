package testbed

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

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
				if err := cli.VolumeRemove(ctx, v.Name, true); err != nil {
					fmt.Fprintln(os.Stderr, "removing volume:", err)
				}
			}
		}
	}
}
