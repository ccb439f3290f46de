package main

import (
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/kanikorun/kanikorun/runner"
)

// runFlags are the flags of commands that run the executor locally (build,
// replay).
func runFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "pull", Value: string(runner.PullMissing), Usage: "pull the executor image: `missing`, always or never"},
		&cli.StringFlag{Name: "network", Value: "bridge", Usage: "container `NETWORK` mode (kanikorun picks host for loopback registries, none when nothing needs the network)"},
		&cli.DurationFlag{Name: "timeout", Usage: "stop the build after `DURATION` (e.g. 30m); 0 means no limit"},
		&cli.BoolFlag{Name: "dry-run", Usage: "print the equivalent docker run line and exit"},
	}
}

// runSettings are the parsed runFlags.
type runSettings struct {
	pull    runner.PullPolicy
	timeout time.Duration
}

func parseRunFlags(c *cli.Context) (runSettings, error) {
	pull, err := runner.ParsePullPolicy(c.String("pull"))
	if err != nil {
		return runSettings{}, &exitError{code: exitUsage, err: err}
	}
	d := c.Duration("timeout")
	if d < 0 {
		return runSettings{}, usageErr("invalid --timeout %s: give a positive duration such as 30m", d)
	}
	return runSettings{pull: pull, timeout: d}, nil
}

// newRunner makes the runner for one executor image. Its stderr is watched
// for causes of failure worth a hint.
func newRunner(c *cli.Context, eng runner.Engine, s runSettings, image string) (*runner.Runner, *watcher) {
	seen := newWatcher(c.App.ErrWriter)
	return &runner.Runner{
		Engine: eng, Stdout: c.App.Writer, Stderr: seen, Pull: s.pull, Timeout: s.timeout,
		RegistryAuth: executorAuth(c.Context, c, image, c.App.ErrWriter),
	}, seen
}

// runFailed turns a runner error into the command's exit.
func runFailed(err error, stderr io.Writer) error {
	switch {
	case errors.Is(err, runner.ErrInterrupted):
		fmt.Fprintln(stderr, "kanikorun: interrupted; the executor container was removed")
		return exitCode(exitInterrupted)
	case errors.Is(err, runner.ErrTimeout):
		return &exitError{code: exitTimeout, err: err}
	}
	return err
}

// finished reports the executor's result: the digest as the last line of
// stdout, and the exit code with a hint when the output named a known
// cause.
func finished(res runner.Result, seen *watcher, stdout, stderr io.Writer) error {
	if res.Digest != "" {
		fmt.Fprintln(stdout, res.Digest)
	}
	if res.ExitCode == 0 {
		return nil
	}
	if a := seen.advice(); a != "" {
		fmt.Fprintf(stderr, "kanikorun: hint: %s\n", a)
	}
	return exitCode(res.ExitCode)
}
