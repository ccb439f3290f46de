package lint

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/kanikorun/kanikorun/internal/errs"
)

// ErrPreflight means the preflight found problems that stop the build.
var ErrPreflight = errors.New("preflight failed")

// Policy is how the preflight runs where a build starts (build, job,
// replay, submit): which checks, against which executor, and what stops
// the build. The zero value checks everything and stops on errors.
type Policy struct {
	// Skip leaves the findings out: nothing is shown and nothing stops the
	// build (--no-lint).
	Skip bool
	// Strict treats warnings as errors (--strict).
	Strict bool
	// Flavor overrides the flavour the executor image implies: "",
	// "upstream" or "fork" (--executor-flavor, KANIKORUN_EXECUTOR_FLAVOR).
	Flavor string
	// Ignore lists rule IDs to leave out, repeated or comma-separated
	// (--ignore).
	Ignore []string
}

// Apply completes lint options with the policy's executor and rules.
func (p Policy) Apply(o Options) Options {
	o.Flavor = p.Flavor
	for _, v := range p.Ignore {
		o.Ignore = append(o.Ignore, strings.Split(v, ",")...)
	}
	return o
}

// Check shows what can go wrong on w (warnings and errors, and once which
// executor the checks assumed when they do not know the image; infos are
// for `kanikorun lint`) and returns an error wrapping ErrPreflight when
// the findings stop the build.
func (p Policy) Check(rep *Report, o Options, w io.Writer) error {
	if p.Skip || rep == nil {
		return nil
	}
	if o.Flavor != "" {
		// An override that contradicts a known image lets the checks pass
		// what that executor builds wrong.
		if known, err := ResolveExecutor(o.ExecutorImage, ""); err == nil && known.Notice == "" && string(known.Flavor) != strings.ToLower(o.Flavor) {
			fmt.Fprintf(w, "kanikorun: warning: --executor-flavor %s contradicts %s, which is %s: the checks may pass what it builds wrong\n", o.Flavor, known.Image, known.Flavor)
		}
	}
	var shown []Finding
	n := 0
	for _, f := range rep.Findings {
		if f.Severity >= Warning || f.ID == RuleUnknownExecutor {
			shown = append(shown, f)
		}
		if f.Severity == Error || p.Strict && f.Severity == Warning {
			n++
		}
	}
	if err := WriteText(w, shown); err != nil {
		return err
	}
	if n == 0 {
		return nil
	}
	return errs.Mark(fmt.Errorf("preflight found %d problem(s) the executor would fail on or build wrong: fix them, or pass --no-lint to build anyway", n), ErrPreflight)
}
