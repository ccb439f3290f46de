package main

import (
	"fmt"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/kanikorun/kanikorun/internal/lint"
	"github.com/kanikorun/kanikorun/internal/spec"
)

type lintMode int

const (
	modeLocal lintMode = iota
	modeJob
)

// exitLint is the exit code when the preflight finds errors, as a failed
// build's.
const exitLint = 1

// lintRuleFlags tune the preflight checks wherever they run.
func lintRuleFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "executor-flavor", EnvVars: []string{"KANIKORUN_EXECUTOR_FLAVOR"}, Usage: "check against `FLAVOR` upstream or fork instead of the one the executor image implies"},
		&cli.StringSliceFlag{Name: "ignore", Usage: "leave out preflight rule `ID` (repeatable, or comma-separated)"},
		&cli.BoolFlag{Name: "strict", Usage: "treat preflight warnings as errors"},
	}
}

// lintFlags are the preflight flags of commands that run a build.
func lintFlags() []cli.Flag {
	return append(lintRuleFlags(), &cli.BoolFlag{Name: "no-lint", Usage: "skip the preflight checks"})
}

func lintCommand() *cli.Command {
	flags := []cli.Flag{
		&cli.StringFlag{Name: flagFile, Aliases: []string{"f"}, Usage: "Dockerfile `PATH` (default CONTEXT/Dockerfile)"},
		&cli.StringSliceFlag{Name: flagBuildArg, Usage: "build argument `KEY=VALUE`, or KEY to take it from the environment (repeatable)"},
		&cli.StringFlag{Name: flagTarget, Usage: "the `STAGE` that will be built"},
		&cli.StringFlag{Name: flagExecutorImage, Value: spec.DefaultExecutorImage, EnvVars: []string{"KANIKORUN_EXECUTOR_IMAGE"}, Usage: "kaniko executor `IMAGE` the build will use"},
		&cli.StringFlag{Name: "format", Value: "text", Usage: "output `FORMAT`: text or json"},
		&cli.BoolFlag{Name: "job", Usage: "check for a Kubernetes Job (kanikorun job) rather than a local build"},
	}
	return &cli.Command{
		Name:      "lint",
		Usage:     "check a Dockerfile against the executor that will build it; exit 1 on errors",
		ArgsUsage: "[CONTEXT] [-- EXECUTOR-FLAGS...]",
		Flags:     append(flags, lintRuleFlags()...),
		Action: func(c *cli.Context) error {
			format := c.String("format")
			if format != "text" && format != "json" {
				return usageErr("invalid --format %q: use text or json", format)
			}
			b, err := describe(c)
			if err != nil {
				return err
			}
			mode := lint.Local
			if c.Bool("job") {
				mode = lint.Job
			}
			rep, err := lint.Lint(lintOptions(c, b, mode))
			if err != nil {
				return &exitError{code: exitUsage, err: err}
			}
			if format == "json" {
				err = lint.WriteJSON(c.App.Writer, rep.Findings)
			} else {
				err = lint.WriteText(c.App.Writer, rep.Findings)
			}
			if err != nil {
				return err
			}
			if rep.HasErrors(c.Bool("strict")) {
				return exitCode(exitLint)
			}
			return nil
		},
	}
}

// lintOptions describes the checks for a build description.
func lintOptions(c *cli.Context, b *spec.Build, mode lint.Mode) lint.Options {
	display := c.String(flagFile)
	if display == "" {
		display = "Dockerfile"
	}
	return lintOptionsFor(c, lint.Options{
		Dockerfile:    b.Dockerfile,
		DisplayName:   display,
		Context:       b.Context,
		BuildArgs:     b.BuildArgs,
		Target:        b.Target,
		ExecutorImage: b.ExecutorImage,
		Mode:          mode,
	}, b.ExtraArgs)
}

// executorSecrets lists the ids of the fork's --secret flags among the
// executor arguments, so a RUN --mount=type=secret they serve is not
// reported.
func executorSecrets(args []string) []string {
	var ids []string
	for _, v := range spec.FlagValues(args, "secret", 0) {
		for _, kv := range strings.Split(v, ",") {
			if id, ok := strings.CutPrefix(kv, "id="); ok {
				ids = append(ids, id)
			}
		}
	}
	return ids
}

// preflight runs the checks at the start of a command that builds. Findings
// go to stderr; errors stop the command before anything is created.
func preflight(c *cli.Context, b *spec.Build, mode lintMode) error {
	m := lint.Local
	if mode == modeJob {
		m = lint.Job
	}
	return runPreflight(c, lintOptions(c, b, m))
}

// lintOptionsFor completes options built elsewhere (replay reads them from
// a manifest) with the command's rule flags and with the executor flags
// that change what gets built, read from the executor's argument list
// (a build's flags after --, a manifest's args): the fork's --secret,
// --skip-unused-stages and --custom-platform.
func lintOptionsFor(c *cli.Context, o lint.Options, executorArgs []string) lint.Options {
	for _, v := range c.StringSlice("ignore") {
		o.Ignore = append(o.Ignore, strings.Split(v, ",")...)
	}
	o.Flavor = c.String("executor-flavor")
	o.Secrets = executorSecrets(executorArgs)
	o.SkipUnusedStages = spec.BoolFlag(executorArgs, "skip-unused-stages")
	o.CustomPlatform = lastFlagOrEmpty(executorArgs, "custom-platform")
	return o
}

func runPreflight(c *cli.Context, o lint.Options) error {
	if c.Bool("no-lint") {
		return nil
	}
	rep, err := lint.Lint(o)
	if err != nil {
		return &exitError{code: exitUsage, err: err}
	}
	stderr := c.App.ErrWriter
	if o.Flavor != "" {
		// An override that contradicts a known image lets the checks pass
		// what that executor builds wrong.
		if known, err := lint.ResolveExecutor(o.ExecutorImage, ""); err == nil && known.Notice == "" && string(known.Flavor) != strings.ToLower(o.Flavor) {
			fmt.Fprintf(stderr, "kanikorun: warning: --executor-flavor %s contradicts %s, which is %s: the checks may pass what it builds wrong\n", o.Flavor, known.Image, known.Flavor)
		}
	}
	// Infos (directives kaniko ignores, unused stages) are for `kanikorun
	// lint`; a build shows what can go wrong, and once which executor the
	// checks assumed when it does not know the image.
	var shown []lint.Finding
	for _, f := range rep.Findings {
		if f.Severity >= lint.Warning || f.ID == lint.RuleUnknownExecutor {
			shown = append(shown, f)
		}
	}
	if err := lint.WriteText(stderr, shown); err != nil {
		return err
	}
	strict := c.Bool("strict")
	if !rep.HasErrors(strict) {
		return nil
	}
	n := 0
	for _, f := range rep.Findings {
		if f.Severity == lint.Error || strict && f.Severity == lint.Warning {
			n++
		}
	}
	return &exitError{code: exitLint, err: fmt.Errorf("preflight found %d problem(s) the executor would fail on or build wrong: fix them, or pass --no-lint to build anyway", n)}
}
