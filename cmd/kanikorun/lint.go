package main

import (
	"fmt"

	"github.com/urfave/cli/v2"

	"github.com/kanikorun/kanikorun/internal/lint"
	"github.com/kanikorun/kanikorun/internal/prepare"
	"github.com/kanikorun/kanikorun/internal/spec"
)

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

// bindPolicy reads the preflight flags.
func bindPolicy(c *cli.Context) lint.Policy {
	return lint.Policy{
		Skip:   c.Bool("no-lint"),
		Strict: c.Bool("strict"),
		Flavor: c.String("executor-flavor"),
		Ignore: c.StringSlice("ignore"),
	}
}

func lintCommand(extra []string) *cli.Command {
	flags := []cli.Flag{
		&cli.StringFlag{Name: flagFile, Aliases: []string{"f"}, Usage: "Dockerfile `PATH` (default CONTEXT/Dockerfile)"},
		&cli.StringSliceFlag{Name: flagBuildArg, Usage: "build argument `KEY=VALUE`, or KEY to take it from the environment (repeatable)"},
		&cli.StringFlag{Name: flagTarget, Usage: "the `STAGE` that will be built"},
		&cli.StringFlag{Name: flagExecutorImage, Value: spec.DefaultExecutorImage, EnvVars: []string{"KANIKORUN_EXECUTOR_IMAGE"}, Usage: "kaniko executor `IMAGE` the build will use"},
		&cli.StringSliceFlag{Name: flagSecret, Usage: "secret the build will get, as for build: `id=ID,src=FILE` or id=ID,env=VAR (repeatable)"},
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
			mode := lint.Local
			if c.Bool("job") {
				mode = lint.Job
			}
			o := bindPrepare(c, extra, mode)
			if format != "text" && format != "json" {
				return usageErr("invalid --format %q: use text or json", format)
			}
			remove, err := o.ReadStdinDockerfile(c.App.Reader)
			if err != nil {
				return err
			}
			defer remove()
			if err := o.Validate(); err != nil {
				return err
			}
			p, err := prepare.Prepare(o)
			if err != nil {
				return err
			}
			if format == "json" {
				err = lint.WriteJSON(c.App.Writer, p.Report.Findings)
			} else {
				err = lint.WriteText(c.App.Writer, p.Report.Findings)
			}
			if err != nil {
				return fmt.Errorf("writing the findings: %w", err)
			}
			if p.Report.HasErrors(o.Preflight.Strict) {
				return errLintFindings
			}
			return nil
		},
	}
}
