package kubenode

import (
	"context"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"
)

// The test package's one cluster, started by the first test that needs it.
var shared struct {
	once    sync.Once
	node    *Node
	err     error
	started time.Duration
}

// Require returns the package's cluster, starting it on first use with the
// images images returns. Where the machine cannot run it the test skips,
// or fails when the CI environment variable is set; a cluster that fails
// to start fails the test. Call StopShared from TestMain after m.Run.
func Require(t testing.TB, images func(context.Context) ([]Image, error)) *Node {
	t.Helper()
	if err := Check(); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("the test cluster is required when CI is set: %v", err)
		}
		t.Skipf("skipping: needs the test cluster: %v", err)
	}
	shared.once.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		defer cancel()
		imgs, err := images(ctx)
		if err != nil {
			shared.err = err
			return
		}
		start := time.Now()
		shared.node, shared.err = Start(ctx, imgs)
		shared.started = time.Since(start)
		if shared.err == nil {
			fmt.Fprintf(os.Stderr, "kubenode: cluster ready in %s\n", shared.started.Round(10*time.Millisecond))
		}
	})
	if shared.err != nil {
		t.Fatalf("starting the test cluster: %v", shared.err)
	}
	return shared.node
}

// StopShared stops the package's cluster if a test started it.
func StopShared() {
	if shared.node != nil {
		shared.node.Stop()
	}
}
