package main

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"sync"

	"github.com/kanikorun/kanikorun/creds"
	"github.com/kanikorun/kanikorun/internal/cluster"
	"github.com/kanikorun/kanikorun/internal/doctor"
	"github.com/kanikorun/kanikorun/internal/kube"
	"github.com/kanikorun/kanikorun/internal/lint"
	"github.com/kanikorun/kanikorun/internal/spec"
	"github.com/kanikorun/kanikorun/runner"
)

// Exit codes of kanikorun's own failures. A build otherwise exits with the
// executor's code.
const (
	exitLint        = 1   // the preflight (or kanikorun lint) found errors
	exitUsage       = 2   // bad flags or arguments
	exitTimeout     = 124 // --timeout expired (as timeout(1))
	exitTool        = 125 // kanikorun or the daemon failed (as docker run)
	exitInterrupted = 130 // Ctrl-C
)

// Sentinels of the command layer.
var (
	// errUsage marks a command-line mistake.
	errUsage = errors.New("usage error")
	// errLintFindings is kanikorun lint's verdict: errors were found
	// (they are the output; nothing more is said).
	errLintFindings = errors.New("the Dockerfile has errors")
	// errStatusInput marks a failure of `status` itself, which exits 125
	// whatever the cause: its 2 means "not finished", and a script polling
	// for it must not loop forever on bad input.
	errStatusInput = errors.New("status input")
	// errUnsupported marks a docker build flag kanikorun cannot honour,
	// or a flag that does not apply to the command (a local-run flag
	// given to job): the user must change the command line.
	errUnsupported = errors.New("flag not supported")
)

// statusExit is a Job status that is not Complete: 1 Failed, 2 not
// finished. The status line is the output; nothing more is said.
type statusExit int

func (s statusExit) Error() string { return "" }

// exitCodeOf is the one place an error becomes an exit code.
func exitCodeOf(err error) int {
	var executor *runner.ExitError
	var status statusExit
	var failed *cluster.BuildFailed
	switch {
	case err == nil:
		return 0
	case errors.As(err, &executor):
		return executor.Code
	case errors.As(err, &failed):
		return failed.Code
	case errors.Is(err, cluster.ErrNotFinished):
		// wait --timeout: not finished, as status says it (never 124).
		return 2
	case errors.As(err, &status):
		return int(status)
	case errors.Is(err, errStatusInput):
		return exitTool
	case errors.Is(err, runner.ErrInterrupted):
		return exitInterrupted
	case errors.Is(err, runner.ErrTimeout):
		return exitTimeout
	case errors.Is(err, lint.ErrPreflight), errors.Is(err, errLintFindings), errors.Is(err, doctor.ErrChecksFailed):
		return exitLint
	case errors.Is(err, errUsage), errors.Is(err, errUnsupported), errors.Is(err, spec.ErrUsage), errors.Is(err, spec.ErrOutput),
		errors.Is(err, kube.ErrInvalidOptions), errors.Is(err, kube.ErrLocalOnly),
		errors.Is(err, kube.ErrDockerfileOutsideContext), errors.Is(err, creds.ErrDockerfile):
		return exitUsage
	case strings.Contains(err.Error(), "No help topic for"):
		// urfave's answer to a command that does not exist, which never
		// passes through OnUsageError.
		return exitUsage
	}
	return exitTool
}

// messageOf is the one line printed for err, or "" for errors whose
// output already said everything.
func messageOf(err error) string {
	var executor *runner.ExitError
	var status statusExit
	var failed *cluster.BuildFailed
	switch {
	case errors.As(err, &executor), errors.As(err, &status), errors.As(err, &failed), errors.Is(err, errLintFindings), errors.Is(err, doctor.ErrChecksFailed):
		return ""
	case errors.Is(err, runner.ErrInterrupted):
		return "interrupted; the executor container was removed"
	}
	return unknownCommand(oneLine(err.Error()))
}

// hint is advice kanikorun adds after a failed build, chosen by a phrase in
// the executor's output.
type hint struct {
	phrase string
	advice string
	// exactCase: the phrase is a registry error code, which is upper
	// case; "permission denied" from a RUN step is not DENIED.
	exactCase bool
}

// buildHints are checked in order; the first match wins. Phrases match
// whatever their case: busybox says "Read-only file system".
var buildHints = []hint{
	{"UNAUTHORIZED", "the registry refused the credentials: run `kanikorun creds` with the same flags to see where they come from, then `docker login REGISTRY`", false},
	{"401 Unauthorized", "the registry refused the credentials: run `kanikorun creds` with the same flags to see where they come from, then `docker login REGISTRY`", false},
	{"DENIED", "the registry denied access: check that your account may push to the destination repository", true},
	{"read-only file system", "the build writes under /workspace, which kanikorun mounts read-only (as the context should be): write elsewhere, e.g. /tmp or /app", false},
	{"no such host", "a registry name does not resolve from the executor container: check the name, or --network", false},
	{"connection refused", "a registry refused the connection: is it running, and reachable from the container's network (--network)?", false},
}

// watcher passes output through untouched and unbuffered while remembering
// which hint phrases went by. It keeps a short tail so a phrase split across
// two writes is still seen.
type watcher struct {
	mu   sync.Mutex
	w    io.Writer
	tail []byte
	seen map[string]bool
}

func newWatcher(w io.Writer) *watcher { return &watcher{w: w, seen: map[string]bool{}} }

func (w *watcher) Write(p []byte) (int, error) {
	n, err := w.w.Write(p)
	w.mu.Lock()
	defer w.mu.Unlock()
	buf := append(w.tail, p[:n]...)
	lower := bytes.ToLower(buf)
	for _, h := range buildHints {
		if h.exactCase && bytes.Contains(buf, []byte(h.phrase)) || !h.exactCase && bytes.Contains(lower, []byte(strings.ToLower(h.phrase))) {
			w.seen[h.phrase] = true
		}
	}
	const keep = 64
	if len(buf) > keep {
		buf = buf[len(buf)-keep:]
	}
	w.tail = append([]byte(nil), buf...)
	return n, err
}

// advice returns the first matching hint, or "".
func (w *watcher) advice() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, h := range buildHints {
		if w.seen[h.phrase] {
			return h.advice
		}
	}
	return ""
}
