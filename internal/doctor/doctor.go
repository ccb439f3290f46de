// Package doctor answers "why doesn't it work" in one command: it checks,
// one line each, everything a build needs (the daemon, the executor image,
// the credentials and login of every registry the build touches, push
// permission, the cache volume and free disk, a kubeconfig, its cluster and
// the rights submit needs there) and says what
// to do about each failure.
package doctor

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/kanikorun/kanikorun/internal/cluster"
	prep "github.com/kanikorun/kanikorun/internal/prepare"
	"github.com/kanikorun/kanikorun/runner"
)

// ErrChecksFailed means at least one check failed; the report says which.
var ErrChecksFailed = errors.New("doctor found problems")

// Status is a check's verdict.
type Status string

// The verdicts.
const (
	OK      Status = "ok"
	Failed  Status = "fail"
	Skipped Status = "skip" // not applicable here, and not a failure
)

// Check is one line of the report.
type Check struct {
	// Name says what was checked: "daemon", "registry 127.0.0.1:5000".
	Name string `json:"name"`
	// Status is the verdict.
	Status Status `json:"status"`
	// Detail is what was found; never a secret.
	Detail string `json:"detail"`
	// Hint says what to do, for a failure.
	Hint string `json:"hint,omitempty"`
}

// Report is every check, in order.
type Report struct {
	Checks []Check `json:"checks"`
	// OK is true when no check failed.
	OK bool `json:"ok"`
}

// Options are what doctor checks.
type Options struct {
	// Prepare describes the build whose registries and credentials are
	// checked, as build takes it.
	Prepare prep.Options
	// Kubeconfig is the kubeconfig to read; empty means $KUBECONFIG, else
	// ~/.kube/config.
	Kubeconfig string
	// KubeContext is the kubeconfig context (--kube-context); empty is
	// the current one.
	KubeContext string
	// Namespace is where submit's rights are checked (-n); empty is the
	// context's, else "default".
	Namespace string
	// Timeout bounds each network check; zero means 10s.
	Timeout time.Duration
	// Connect reaches the daemon; nil means runner.Connect.
	Connect func(context.Context) (runner.Engine, error)
}

// Validate checks the options. A build description that cannot be
// prepared is a failed check, not an invalid option: doctor still checks
// the rest.
func (o Options) Validate() error { return nil }

func (o Options) timeout() time.Duration {
	if o.Timeout <= 0 {
		return 10 * time.Second
	}
	return o.Timeout
}

// Run makes every check and returns the report; the error wraps
// ErrChecksFailed when a check failed.
func Run(ctx context.Context, o Options) (*Report, error) {
	r := &Report{}
	add := func(c Check) { r.Checks = append(r.Checks, c) }
	connect := o.Connect
	if connect == nil {
		connect = runner.Connect
	}
	cctx, cancel := context.WithTimeout(ctx, o.timeout())
	eng, err := connect(cctx)
	cancel()
	var details runner.DaemonDetails
	if err != nil {
		add(Check{Name: "daemon", Status: Failed, Detail: oneLine(err.Error()), Hint: "start Docker, or point DOCKER_HOST at a running daemon"})
	} else {
		defer eng.Close()
		details, err = daemonCheck(ctx, eng, o, add)
		if err != nil {
			eng = nil
		}
	}

	p, perr := prep.Prepare(o.Prepare)
	if perr != nil {
		add(Check{Name: "build", Status: Failed, Detail: oneLine(perr.Error()), Hint: "doctor reads the build as build does: give the same CONTEXT and flags"})
	}
	executorCheck(ctx, eng, p, o, add)
	if p != nil {
		registryChecks(ctx, p, o, add)
	}
	if eng != nil {
		cacheChecks(ctx, eng, details, add)
	}
	if kubeCheck(o.Kubeconfig, o.KubeContext, add) {
		clusterChecks(ctx, cluster.Conn{Kubeconfig: o.Kubeconfig, Context: o.KubeContext, Namespace: o.Namespace}, o.timeout(), add)
	}

	r.OK = true
	for _, c := range r.Checks {
		if c.Status == Failed {
			r.OK = false
		}
	}
	if !r.OK {
		return r, ErrChecksFailed
	}
	return r, nil
}

// Marks of the text report.
const (
	markOK      = "✓"
	markFailed  = "✗"
	markSkipped = "-"
)

// WriteText prints one line per check: a mark, the name, what was found,
// and for a failure the hint.
func (r *Report) WriteText(w io.Writer) {
	for _, c := range r.Checks {
		mark := map[Status]string{OK: markOK, Failed: markFailed, Skipped: markSkipped}[c.Status]
		line := fmt.Sprintf("%s %s: %s", mark, c.Name, c.Detail)
		if c.Status == Failed && c.Hint != "" {
			line += "; hint: " + c.Hint
		}
		fmt.Fprintln(w, line)
	}
}

// WriteJSON prints the report as one JSON object.
func (r *Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

func oneLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	return s
}
