package runner

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kanikorun/kanikorun/internal/plan"
)

// attemptsEngine plays one scripted container run per attempt.
type attemptsEngine struct {
	fakeEngine
	runs []scriptedRun
	n    int
}

type scriptedRun struct {
	stderr string
	code   int
	err    error
}

func (a *attemptsEngine) RunContainer(_ context.Context, _ string, _, stderr io.Writer) (int, error) {
	run := a.runs[min(a.n, len(a.runs)-1)]
	a.n++
	_, _ = io.WriteString(stderr, run.stderr)
	return run.code, run.err
}

// recordSleep is a RetryPolicy.Sleep that waits for nothing.
func recordSleep(waits *[]time.Duration) func(context.Context, time.Duration) error {
	return func(ctx context.Context, d time.Duration) error {
		*waits = append(*waits, d)
		return ctx.Err()
	}
}

const (
	unavailable = "error checking push permissions -- make sure you entered the correct tag name, and that you are authenticated correctly, and try again: checking push permission for \"127.0.0.1:5000/app:1\": GET http://127.0.0.1:5000/v2/: UNAVAILABLE: try later"
	noBody      = "error pushing image: failed to push to destination 127.0.0.1:5000/app:1: PUT http://127.0.0.1:5000/v2/app/manifests/1: unexpected status code 503 Service Unavailable"
	refused     = "error checking push permissions: GET http://127.0.0.1:5000/v2/: UNAUTHORIZED: authentication required"
	failingRun  = "error building image: error building stage: failed to execute command: exit status 3"
)

func TestRunRetrying(t *testing.T) {
	t.Parallel()
	daemonBusy := fmt.Errorf("starting executor container: %w", ErrEngineTransient)
	tests := []struct {
		name     string
		retries  int
		runs     []scriptedRun
		wantCode int
		wantErr  error
		wantRuns int
		announce []string
	}{
		{"transient then success", 3, []scriptedRun{{stderr: unavailable + "\n", code: 1}, {stderr: noBody + "\n", code: 1}, {code: 0}}, 0, nil, 3,
			[]string{"attempt 2/4 in 2s: the registry answered UNAVAILABLE", "attempt 3/4 in 4s: the registry answered 503 Service Unavailable"}},
		{"transient until the retries run out", 2, []scriptedRun{{stderr: unavailable + "\n", code: 1}}, 1, nil, 3,
			[]string{"attempt 2/3 in 2s", "attempt 3/3 in 4s"}},
		{"no retries asked for", 0, []scriptedRun{{stderr: unavailable, code: 1}}, 1, nil, 1, nil},
		{"refused login", 3, []scriptedRun{{stderr: refused, code: 1}}, 1, nil, 1, nil},
		{"failing RUN", 3, []scriptedRun{{stderr: failingRun, code: 3}}, 3, nil, 1, nil},
		{"daemon busy", 1, []scriptedRun{{err: daemonBusy}, {code: 0}}, 0, nil, 2, []string{"attempt 2/2 in 2s: the Docker daemon answered"}},
		{"executor pull hiccup", 1, []scriptedRun{{err: fmt.Errorf("%w: \"exec:1\": received unexpected HTTP status: 503 Service Unavailable", ErrPull)}, {code: 0}}, 0, nil, 2,
			[]string{"attempt 2/2 in 2s: pulling the executor image: the registry answered 503 Service Unavailable"}},
		{"executor image missing", 3, []scriptedRun{{err: fmt.Errorf("%w: \"exec:1\": manifest unknown", ErrPull)}}, 0, errors.New("x"), 1, nil},
		{"daemon error", 3, []scriptedRun{{err: errors.New("boom")}}, 0, errors.New("boom"), 1, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			eng := &attemptsEngine{fakeEngine: fakeEngine{haveImage: true}, runs: tt.runs}
			var waits []time.Duration
			var stderr bytes.Buffer
			r := &Runner{Engine: eng, Stdout: io.Discard, Stderr: &stderr, Pull: PullMissing,
				Retry: RetryPolicy{Retries: tt.retries, Sleep: recordSleep(&waits), Jitter: func() float64 { return 0 }}}
			resets := 0
			res, err := r.runRetrying(context.Background(), plan.Container{Image: "exec:1"}, nil, func() error { resets++; return nil })
			if tt.wantErr != nil && err == nil || tt.wantErr == nil && err != nil {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			if res.ExitCode != tt.wantCode || eng.n != tt.wantRuns {
				t.Errorf("exit code %d after %d runs, want %d after %d", res.ExitCode, eng.n, tt.wantCode, tt.wantRuns)
			}
			if resets != tt.wantRuns-1 || len(waits) != tt.wantRuns-1 {
				t.Errorf("%d resets, waits %v, want %d of each", resets, waits, tt.wantRuns-1)
			}
			var got []string
			for _, l := range strings.Split(stderr.String(), "\n") {
				if strings.HasPrefix(l, "kanikorun: attempt") {
					got = append(got, l)
				}
			}
			if len(got) != len(tt.announce) {
				t.Fatalf("announcements %q, want %q", got, tt.announce)
			}
			for i, want := range tt.announce {
				if !strings.Contains(got[i], want) {
					t.Errorf("announcement %q, want it to contain %q", got[i], want)
				}
			}
			// Every attempt is a fresh container, removed.
			if c := strings.Count(eng.callList(), "create"); c != tt.wantRuns {
				t.Errorf("%d containers created for %d runs", c, tt.wantRuns)
			}
			if len(eng.removed) != tt.wantRuns {
				t.Errorf("%d removed for %d runs", len(eng.removed), tt.wantRuns)
			}
		})
	}
}

func TestRetryStopsOnInterrupt(t *testing.T) {
	t.Parallel()
	eng := &attemptsEngine{fakeEngine: fakeEngine{haveImage: true}, runs: []scriptedRun{{stderr: unavailable, code: 1}}}
	ctx, cancel := context.WithCancel(context.Background())
	r := &Runner{Engine: eng, Stdout: io.Discard, Stderr: io.Discard, Retry: RetryPolicy{Retries: 5,
		Sleep: func(context.Context, time.Duration) error { cancel(); return context.Canceled }}}
	if _, err := r.runRetrying(ctx, plan.Container{Image: "exec:1"}, nil, nil); !errors.Is(err, ErrInterrupted) {
		t.Fatalf("err = %v, want ErrInterrupted", err)
	}
	if eng.n != 1 {
		t.Errorf("%d runs after Ctrl-C during the back-off", eng.n)
	}
}

func TestBackoff(t *testing.T) {
	t.Parallel()
	p := RetryPolicy{Delay: time.Second, MaxDelay: 5 * time.Second, Jitter: func() float64 { return 0 }}
	for n, want := range []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 5 * time.Second, 5 * time.Second} {
		if got := p.backoff(n + 1); got != want {
			t.Errorf("backoff(%d) = %s, want %s", n+1, got, want)
		}
	}
	p.Jitter = func() float64 { return 0.999 }
	if got := p.backoff(1); got <= time.Second/2 || got > time.Second {
		t.Errorf("jittered backoff(1) = %s, want in (0.5s, 1s]", got)
	}
	if got := (RetryPolicy{Jitter: func() float64 { return 0 }}).backoff(1); got != DefaultRetryDelay {
		t.Errorf("default first delay %s", got)
	}
}

func TestTailIsBounded(t *testing.T) {
	t.Parallel()
	tl := &tail{max: 3}
	w := tl.writer(io.Discard)
	for i := range 1000 {
		fmt.Fprintf(w, "line %d\n", i)
	}
	_, _ = w.Write(bytes.Repeat([]byte("x"), 10*maxLine))
	got := tl.lines()
	if len(got) != 4 || got[0] != "line 997" || got[2] != "line 999" || len(got[3]) != maxLine {
		t.Errorf("lines = %q... (%d)", got[:min(3, len(got))], len(got))
	}
}

func TestBuildRetryStartsWithFreshFiles(t *testing.T) {
	t.Parallel()
	b := testBuild(t)
	b.Outputs.TarPath = filepath.Join(t.TempDir(), "out.tar")
	eng := &attemptsEngine{fakeEngine: fakeEngine{haveImage: true}, runs: []scriptedRun{{stderr: noBody, code: 1}, {code: 0}}}
	var waits []time.Duration
	r := &Runner{Engine: eng, Stdout: io.Discard, Stderr: io.Discard, Retry: RetryPolicy{Retries: 1, Sleep: recordSleep(&waits)}}
	// The first attempt leaves a broken tarball; the retry must not see it.
	var sizes []int64
	eng.onStart = func() {
		for _, m := range eng.created.AllMounts() {
			if strings.HasSuffix(m.Source, ".tar.partial") {
				st, _ := os.Stat(m.Source)
				sizes = append(sizes, st.Size())
				_ = os.WriteFile(m.Source, []byte("half a tarball"), 0o666)
			}
		}
	}
	wrapped := &startHook{attemptsEngine: eng}
	r.Engine = wrapped
	if _, err := r.Build(context.Background(), Local{Build: b}); err != nil {
		t.Fatal(err)
	}
	if len(sizes) != 2 || sizes[0] != 0 || sizes[1] != 0 {
		t.Errorf("tarball sizes at each start %v, want [0 0]", sizes)
	}
}

// startHook runs the engine's onStart before each scripted run.
type startHook struct{ *attemptsEngine }

func (s *startHook) RunContainer(ctx context.Context, id string, stdout, stderr io.Writer) (int, error) {
	if s.onStart != nil {
		s.onStart()
	}
	return s.attemptsEngine.RunContainer(ctx, id, stdout, stderr)
}
