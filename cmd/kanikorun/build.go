package main

import (
	"fmt"

	"github.com/urfave/cli/v2"

	"github.com/kanikorun/kanikorun/creds"
	"github.com/kanikorun/kanikorun/internal/plan"
	"github.com/kanikorun/kanikorun/runner"
)

func buildCommand() *cli.Command {
	flags := append(describeFlags(), outputFlags()...)
	flags = append(flags, runFlags()...)
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
	settings, err := parseRunFlags(c)
	if err != nil {
		return err
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
	r, seen := newRunner(c, eng, settings, b.ExecutorImage)
	res, err := r.Build(c.Context, runner.Local{Build: b, DockerConfig: cfg, Network: network})
	if err != nil {
		return runFailed(err, stderr)
	}
	for _, n := range res.Loaded {
		fmt.Fprintf(stderr, "kanikorun: loaded image %s\n", n)
	}
	if b.Outputs.TarPath != "" && res.ExitCode == 0 {
		fmt.Fprintf(stderr, "kanikorun: wrote %s\n", b.Outputs.TarPath)
	}
	return finished(res.Result, seen, stdout, stderr)
}

// registryHosts lists the hosts of the registries a build touches.
func registryHosts(regs []creds.Registry) []string {
	hosts := make([]string, 0, len(regs))
	for _, r := range regs {
		hosts = append(hosts, r.Host)
	}
	return hosts
}
