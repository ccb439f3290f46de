package main

import (
	"fmt"
	"io"

	"github.com/urfave/cli/v2"

	"github.com/kanikorun/kanikorun/internal/lint"
	"github.com/kanikorun/kanikorun/runner"
)

func buildCommand(extra []string) *cli.Command {
	flags := append(describeFlags(), outputFlags()...)
	flags = append(flags, runFlags()...)
	flags = append(flags, lintFlags()...)
	flags = append(flags, contextModeFlag("how the context reaches the executor: `auto` (stream for a tcp:// or ssh:// daemon, else bind), bind (read-only mount) or stream (gzip tar on its stdin, files copied in and out)"))
	flags = append(flags, unsupportedFlagDefs()...)
	return &cli.Command{
		Name:      "build",
		Usage:     "build a Dockerfile with the kaniko executor in a local container",
		ArgsUsage: "[CONTEXT] [-- EXECUTOR-FLAGS...]",
		Flags:     flags,
		Action: func(c *cli.Context) error {
			if err := refuseUnsupported(c); err != nil {
				return err
			}
			o := runner.BuildOptions{Prepare: bindPrepare(c, extra, lint.Local), Run: bindRun(c)}
			remove, err := o.Prepare.ReadStdinDockerfile(c.App.Reader)
			if err != nil {
				return err
			}
			defer remove()
			if err := o.Validate(); err != nil {
				return err
			}
			seen := newWatcher(c.App.ErrWriter)
			out, err := runner.BuildLocal(c.Context, o, runner.Streams{Stdout: c.App.Writer, Stderr: seen})
			return printOutcome(out, err, seen, c.App.Writer, c.App.ErrWriter)
		},
	}
}

// contextModeFlag is --context-mode (build, replay), said in usage.
func contextModeFlag(usage string) cli.Flag {
	return &cli.StringFlag{Name: "context-mode", Value: runner.ContextAuto, Usage: usage}
}

// printOutcome reports a local run: the docker run line of a dry run, or
// as the last line of stdout the result (the ID the daemon gave a loaded
// image, so docker run $(kanikorun build -q --load .) works; else the
// digest), and after a failed build the hint its output called for. A
// failed build prints no result.
func printOutcome(out *runner.Outcome, err error, seen *watcher, stdout, stderr io.Writer) error {
	switch {
	case out == nil:
	case out.DryRun != "":
		fmt.Fprintln(stdout, out.DryRun)
	case err != nil:
	case out.ImageID != "":
		fmt.Fprintln(stdout, out.ImageID)
	case out.Digest != "":
		fmt.Fprintln(stdout, out.Digest)
	}
	if out != nil && out.ExitCode != 0 {
		printHint(seen, stderr)
	}
	return err
}

// printHint adds the hint a failed build's output called for, if any.
func printHint(seen *watcher, stderr io.Writer) {
	if seen == nil {
		return
	}
	if a := seen.advice(); a != "" {
		fmt.Fprintf(stderr, "kanikorun: hint: %s\n", a)
	}
}
