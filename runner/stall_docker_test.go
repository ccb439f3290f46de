package runner

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kanikorun/kanikorun/internal/plan"
	"github.com/kanikorun/kanikorun/internal/spec"
	"github.com/kanikorun/kanikorun/internal/testbed"
)

// stalledWriter is a consumer that stops reading for a while (a stalled
// pipe), then reads slowly.
type stalledWriter struct {
	once    sync.Once
	stall   time.Duration
	written atomic.Int64
}

func (s *stalledWriter) Write(p []byte) (int, error) {
	s.once.Do(func() { time.Sleep(s.stall) })
	s.written.Add(int64(len(p)))
	return len(p), nil
}

// A consumer that stalls does not make kanikorun buffer the executor's
// output: the stream pushes back instead, and memory stays bounded. Not
// parallel, so the heap measured is this test's.
func TestStalledConsumerKeepsMemoryBounded(t *testing.T) {
	eng, cli, img := daemon(t)
	const lines, lineLen = 400, 32 << 10 // 12.5 MiB of output
	// The stand-in needs /bin/sh in the stage to RUN: the base carries a
	// stub.
	reg := testbed.NewRegistry(t)
	base, err := reg.PushBase(context.Background(), "stall/base:1", map[string]string{"bin/sh": "#!"}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	var df strings.Builder
	df.WriteString("FROM " + base + "\n")
	word := strings.Repeat("x", lineLen)
	for range lines {
		fmt.Fprintf(&df, "RUN echo %s\n", word)
	}
	if err := os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte(df.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := reg.WriteDockerConfig(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	c := plan.Container{
		Image:   img,
		Args:    []string{"--context=dir:///workspace", "--dockerfile=/workspace/Dockerfile", "--no-push"},
		Mounts:  []plan.Mount{{Source: dir, Target: spec.WorkspaceDir, ReadOnly: true}, {Source: cfg, Target: spec.DockerConfigPath, ReadOnly: true}},
		Network: "host",
		Labels:  testbed.Labels(t),
	}
	out := &stalledWriter{stall: 3 * time.Second}
	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	var peak atomic.Uint64
	done := make(chan struct{})
	go func() {
		var m runtime.MemStats
		for {
			select {
			case <-done:
				return
			case <-time.After(20 * time.Millisecond):
			}
			runtime.ReadMemStats(&m)
			if m.HeapInuse > peak.Load() {
				peak.Store(m.HeapInuse)
			}
		}
	}()
	r := &Runner{Engine: eng, Stdout: out, Stderr: &stalledWriter{}, Pull: PullNever, Retry: RetryPolicy{Retries: 1}}
	res, err := r.runRetrying(context.Background(), c, nil, nil)
	close(done)
	if err != nil || res.ExitCode != 0 {
		t.Fatalf("exit %d, err %v", res.ExitCode, err)
	}
	if w := out.written.Load(); w < lines*lineLen {
		t.Fatalf("only %d bytes of output came through", w)
	}
	grew := int64(peak.Load()) - int64(before.HeapInuse)
	t.Logf("%d bytes streamed to a stalled consumer; heap in use grew by at most %d bytes", out.written.Load(), grew)
	if grew > 8<<20 {
		t.Errorf("heap grew by %d bytes for %d bytes of output: the stream is buffered", grew, out.written.Load())
	}
	noLeftovers(t, cli)
}
