package main

import (
	"errors"
	"fmt"

	"github.com/urfave/cli/v2"

	"github.com/kanikorun/kanikorun/creds"
	"github.com/kanikorun/kanikorun/internal/plan"
	"github.com/kanikorun/kanikorun/runner"
)

func buildCommand() *cli.Command {
	flags := append(describeFlags(), outputFlags()...)
	flags = append(flags,
		&cli.StringFlag{Name: "pull", Value: string(runner.PullMissing), Usage: "pull the executor image: `missing`, always or never"},
		&cli.StringFlag{Name: "network", Value: "bridge", Usage: "container `NETWORK` mode (host is chosen for loopback registries)"},
		&cli.DurationFlag{Name: "timeout", Usage: "stop the build after `DURATION` (e.g. 30m); 0 means no limit"},
		&cli.BoolFlag{Name: "dry-run", Usage: "print the equivalent docker run line and exit"},
	)
	flags = append(flags, lintFlags()...)
	return &cli.Command{
		Name:      "build",
		Usage:     "build a Dockerfile with the kaniko executor in a local container",
		ArgsUsage: "[CONTEXT] [-- EXECUTOR-FLAGS...]",
		Flags:     flags,
		Action:    buildAction,
	}
}

func buildAction(c *cli.Context) error {
	stdout, stderr := c.App.Writer, c.App.ErrWriter
	b, err := describe(c)
	if err != nil {
		return err
	}
	pull, err := runner.ParsePullPolicy(c.String("pull"))
	if err != nil {
		return &exitError{code: exitUsage, err: err}
	}
	timeout, err := parseTimeout(c)
	if err != nil {
		return &exitError{code: exitUsage, err: err}
	}
	if err := preflight(c, b, modeLocal); err != nil {
		return err
	}
	if len(b.Destinations) == 0 && !b.NoPush {
		fmt.Fprintln(stderr, "kanikorun: no --destination given: building with --no-push")
	}
	cr, regs, err := resolveCreds(c.Context, c, b, stderr)
	if c.Bool("dry-run") && cr != nil {
		cr.WriteSummary(stderr)
	}
	if err != nil {
		return err
	}
	cfg, err := cr.ConfigJSON()
	if err != nil {
		return err
	}
	network := pickNetwork(networkNeeds{
		registries:   registryHosts(regs),
		dockerfile:   b.Dockerfile,
		localContext: localContext(b.Args(plan.LocalLayout(b, false))),
	}, c.String("network"), c.IsSet("network"), stderr)

	eng, err := runner.Connect(c.Context)
	if err != nil {
		return err
	}
	defer eng.Close()
	if c.Bool("dry-run") {
		fmt.Fprintln(stdout, runner.DryRun(b, network))
		return nil
	}
	seen := newWatcher(stderr)
	r := &runner.Runner{
		Engine: eng, Stdout: stdout, Stderr: seen, Pull: pull, Timeout: timeout,
		RegistryAuth: executorAuth(c.Context, c, b.ExecutorImage, stderr),
	}
	res, err := r.Build(c.Context, runner.Local{Build: b, DockerConfig: cfg, Network: network})
	switch {
	case errors.Is(err, runner.ErrInterrupted):
		fmt.Fprintln(stderr, "kanikorun: interrupted; the executor container was removed")
		return exitCode(exitInterrupted)
	case errors.Is(err, runner.ErrTimeout):
		return &exitError{code: exitTimeout, err: err}
	case err != nil:
		return err
	}
	for _, n := range res.Loaded {
		fmt.Fprintf(stderr, "kanikorun: loaded image %s\n", n)
	}
	if b.Outputs.TarPath != "" && res.ExitCode == 0 {
		fmt.Fprintf(stderr, "kanikorun: wrote %s\n", b.Outputs.TarPath)
	}
	if res.Digest != "" {
		fmt.Fprintln(stdout, res.Digest)
	}
	if res.ExitCode != 0 {
		if a := seen.advice(); a != "" {
			fmt.Fprintf(stderr, "kanikorun: hint: %s\n", a)
		}
		return exitCode(res.ExitCode)
	}
	return nil
}

// registryHosts lists the hosts of the registries a build touches.
func registryHosts(regs []creds.Registry) []string {
	hosts := make([]string, 0, len(regs))
	for _, r := range regs {
		hosts = append(hosts, r.Host)
	}
	return hosts
}
