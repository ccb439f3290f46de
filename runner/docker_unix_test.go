//go:build unix

package runner

import (
	"context"
	"errors"
	"io"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/kanikorun/kanikorun/internal/plan"
	"github.com/kanikorun/kanikorun/internal/spec"
	"github.com/kanikorun/kanikorun/internal/testbed"
)

// blockingPlan runs the stand-in on a context whose Dockerfile is a named
// pipe nobody writes to: the executor blocks on reading it until killed.
func blockingPlan(t *testing.T, img string) plan.Container {
	t.Helper()
	dir := t.TempDir()
	if err := syscall.Mkfifo(filepath.Join(dir, "Dockerfile"), 0o644); err != nil {
		t.Skipf("no named pipes here: %v", err)
	}
	return plan.Container{
		Image:   img,
		Args:    []string{"--context=dir:///workspace", "--dockerfile=/workspace/Dockerfile", "--no-push"},
		Mounts:  []plan.Mount{{Source: dir, Target: spec.WorkspaceDir, ReadOnly: true}},
		Network: "none",
		Labels:  testbed.Labels(t),
	}
}

func TestDockerEngineTimeoutAndCancel(t *testing.T) {
	t.Parallel()
	eng, cli, img := daemon(t)

	t.Run("timeout", func(t *testing.T) {
		r := &Runner{Engine: eng, Stdout: io.Discard, Stderr: io.Discard, Timeout: 2 * time.Second}
		start := time.Now()
		_, err := r.Run(context.Background(), blockingPlan(t, img))
		if !errors.Is(err, ErrTimeout) {
			t.Fatalf("err = %v, want ErrTimeout", err)
		}
		if d := time.Since(start); d > 15*time.Second {
			t.Errorf("took %s after a 2s timeout", d)
		}
		noLeftovers(t, cli)
	})

	t.Run("cancel", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		var cancelled time.Time
		var once sync.Once
		// Cancel once the executor has logged its first line: it is
		// running, and blocked on the pipe.
		stderr := writerFunc(func(p []byte) (int, error) {
			once.Do(func() { cancelled = time.Now(); cancel() })
			return len(p), nil
		})
		r := &Runner{Engine: eng, Stdout: io.Discard, Stderr: stderr}
		_, err := r.Run(ctx, blockingPlan(t, img))
		if !errors.Is(err, ErrInterrupted) {
			t.Fatalf("err = %v, want ErrInterrupted", err)
		}
		if d := time.Since(cancelled); cancelled.IsZero() || d > 15*time.Second {
			t.Errorf("returned %s after the cancel (cancelled at %v)", d, cancelled)
		}
		noLeftovers(t, cli)
	})
}
