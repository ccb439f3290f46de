package runner

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"syscall"
	"testing"

	"github.com/kanikorun/kanikorun/internal/plan"
)

func TestConnectionLost(t *testing.T) {
	t.Parallel()
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	for _, tt := range []struct {
		ctx  context.Context
		err  error
		gone bool
	}{
		{context.Background(), io.ErrUnexpectedEOF, true},
		{context.Background(), fmt.Errorf("read: %w", syscall.ECONNRESET), true},
		{context.Background(), fmt.Errorf("dial: %w", syscall.ECONNREFUSED), true},
		{cancelled, io.ErrUnexpectedEOF, false},
		{context.Background(), errors.New("No such container: x"), false},
	} {
		if got := errors.Is(connectionLost(tt.ctx, tt.err), ErrDaemonGone); got != tt.gone {
			t.Errorf("connectionLost(%v) gone = %v, want %v", tt.err, got, tt.gone)
		}
	}
}

// goneEngine loses the daemon mid-run: the wait breaks, and the removal
// that follows cannot reach it either.
type goneEngine struct{ fakeEngine }

func (g *goneEngine) RunContainer(context.Context, string, io.Writer, io.Writer) (int, error) {
	return 0, &StepError{Step: StepWait, Err: fmt.Errorf("%w: unexpected EOF", ErrDaemonGone)}
}

func TestDaemonGoneIsOneLine(t *testing.T) {
	t.Parallel()
	eng := &goneEngine{fakeEngine{haveImage: true, removeErr: errors.New("connection refused")}}
	var stderr bytes.Buffer
	r := &Runner{Engine: eng, Stdout: io.Discard, Stderr: &stderr, Retry: RetryPolicy{Retries: 3}}
	_, err := r.runRetrying(context.Background(), plan.Container{Image: "exec:1"}, nil, nil)
	if !errors.Is(err, ErrDaemonGone) || strings.Contains(err.Error(), "\n") || !strings.Contains(err.Error(), "kanikorun gc removes the executor container c0ffee") {
		t.Errorf("err = %v", err)
	}
	if stderr.Len() != 0 {
		t.Errorf("more said than the error's one line: %q", stderr.String())
	}
	if strings.Count(eng.callList(), "create") != 1 {
		t.Errorf("a lost daemon was retried: %s", eng.callList())
	}
}
