package runner

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"strings"
	"sync"
	"time"

	"github.com/kanikorun/kanikorun/internal/plan"
)

// ErrEngineTransient marks a Docker Engine API error another attempt may
// not meet: the daemon said it is unavailable or overloaded.
var ErrEngineTransient = errors.New("transient Docker daemon error")

// RetryPolicy is how a build tries again after a transient failure.
type RetryPolicy struct {
	// Retries is how many more attempts a transiently failed run gets
	// (--retries); zero never retries.
	Retries int
	// Delay is the wait before the first retry (--retry-delay); it doubles
	// with each retry up to MaxDelay, and jitter takes up to half of it
	// off. Zero means DefaultRetryDelay.
	Delay time.Duration
	// MaxDelay caps the wait; zero means DefaultMaxRetryDelay.
	MaxDelay time.Duration
	// Sleep waits d or until ctx ends; nil waits on a timer. Tests put a
	// recorder here, so no test waits for a back-off.
	Sleep func(ctx context.Context, d time.Duration) error
	// Jitter returns a number in [0,1); nil means math/rand.
	Jitter func() float64
}

// Defaults of RetryPolicy.
const (
	DefaultRetryDelay    = 2 * time.Second
	DefaultMaxRetryDelay = time.Minute
)

// tailLines is how many of an attempt's last output lines Classify reads.
const tailLines = 30

// backoff is the wait before retry n (1 for the first): Delay doubled n-1
// times, capped, less up to half of it at random, so that many builds
// failing at once do not come back at once.
func (p RetryPolicy) backoff(n int) time.Duration {
	d, limit := p.Delay, p.MaxDelay
	if d <= 0 {
		d = DefaultRetryDelay
	}
	if limit <= 0 {
		limit = DefaultMaxRetryDelay
	}
	for i := 1; i < n && d < limit; i++ {
		d *= 2
	}
	d = min(d, limit)
	j := rand.Float64
	if p.Jitter != nil {
		j = p.Jitter
	}
	return d - time.Duration(j()*float64(d/2))
}

func (p RetryPolicy) sleep(ctx context.Context, d time.Duration) error {
	if p.Sleep != nil {
		return p.Sleep(ctx, d)
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// runRetrying runs the container as runMasked does, and while a failure
// is transient and retries are left, announces the next attempt on one
// line, waits the back-off, calls reset (which makes the attempt's output
// files fresh) and runs a fresh container. The last attempt's result and
// error are returned.
func (r *Runner) runRetrying(ctx context.Context, c plan.Container, secrets [][]byte, reset func() error) (Result, error) {
	total := r.Retry.Retries + 1
	for attempt := 1; ; attempt++ {
		tail := &tail{max: tailLines}
		a := *r
		// The executor logs its errors on stderr. Stdout stays as it is:
		// the pull progress draws bars only on the terminal itself.
		a.Stderr = tail.writer(r.Stderr)
		res, err := a.runMasked(ctx, c, secrets)
		reason, again := retryReason(res, err, tail.lines())
		if !again || attempt >= total || ctx.Err() != nil {
			return res, err
		}
		d := r.Retry.backoff(attempt)
		fmt.Fprintf(r.Stderr, "kanikorun: attempt %d/%d in %s: %s\n", attempt+1, total, d.Round(100*time.Millisecond), reason)
		if err := r.Retry.sleep(ctx, d); err != nil {
			return Result{}, r.stopped(err)
		}
		if reset != nil {
			if err := reset(); err != nil {
				return Result{}, err
			}
		}
	}
}

// retryReason says whether a failed attempt is worth another, and why.
// Only two failures are: the executor exiting on a registry or network
// error (Classify), and a transient error of the daemon. An interrupt, a
// timeout, a daemon that went away, a refused login, a Dockerfile error
// or a failing RUN are not.
func retryReason(res Result, err error, lines []string) (string, bool) {
	if err != nil {
		if errors.Is(err, ErrEngineTransient) {
			return "the Docker daemon answered: " + err.Error(), true
		}
		// The daemon pulling the executor image meets the same registry
		// hiccups the executor does, and words them alike.
		if errors.Is(err, ErrPull) {
			if v := Classify(1, []string{err.Error()}); v.Transient {
				return "pulling the executor image: " + describeReason(v.Reason), true
			}
		}
		return "", false
	}
	if res.ExitCode == 0 {
		return "", false
	}
	v := Classify(res.ExitCode, lines)
	if !v.Transient {
		return "", false
	}
	return describeReason(v.Reason), true
}

// describeReason words a transient phrase for the announcement: a
// registry's error code or HTTP status is what the registry answered,
// anything else a network failure.
func describeReason(phrase string) string {
	switch {
	case phrase == "UNAVAILABLE" || phrase == "TOOMANYREQUESTS" || strings.Contains(phrase, "status code") ||
		len(phrase) > 3 && phrase[0] >= '4' && phrase[0] <= '5' && phrase[3] == ' ':
		return "the registry answered " + phrase
	}
	return "the network failed: " + phrase
}

// tail keeps the last lines of an attempt's output for Classify. It is bounded however much is written: at most
// max lines, each cut to maxLine bytes, and one partial line per stream.
type tail struct {
	mu   sync.Mutex
	max  int
	ring []string
	next int
	// writers are the streams, for their unfinished lines.
	writers []*tailWriter
}

// maxLine caps a remembered line; the phrases Classify looks for are short.
const maxLine = 1024

func (t *tail) add(line string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.ring) < t.max {
		t.ring = append(t.ring, line)
		return
	}
	t.ring[t.next] = line
	t.next = (t.next + 1) % t.max
}

// lines returns the remembered lines, oldest first, then each stream's
// unfinished last line.
func (t *tail) lines() []string {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := append([]string(nil), t.ring[t.next:]...)
	out = append(out, t.ring[:t.next]...)
	for _, w := range t.writers {
		if len(w.partial) > 0 {
			out = append(out, string(w.partial))
		}
	}
	return out
}

// writer passes everything through to w unchanged and remembers its lines.
func (t *tail) writer(w io.Writer) io.Writer {
	tw := &tailWriter{t: t, w: w}
	t.mu.Lock()
	t.writers = append(t.writers, tw)
	t.mu.Unlock()
	return tw
}

type tailWriter struct {
	t       *tail
	w       io.Writer
	partial []byte
}

func (tw *tailWriter) Write(p []byte) (int, error) {
	n, err := tw.w.Write(p)
	for _, b := range p[:n] {
		if b == '\n' {
			tw.t.add(string(tw.partial))
			tw.t.mu.Lock()
			tw.partial = tw.partial[:0]
			tw.t.mu.Unlock()
			continue
		}
		if len(tw.partial) < maxLine {
			tw.t.mu.Lock()
			tw.partial = append(tw.partial, b)
			tw.t.mu.Unlock()
		}
	}
	return n, err
}
