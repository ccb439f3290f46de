package testbed

import (
	"context"
	"testing"
	"time"

	"github.com/docker/docker/api/types/image"
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
