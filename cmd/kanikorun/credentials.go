package main

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/urfave/cli/v2"

	"github.com/kanikorun/kanikorun/creds"
	"github.com/kanikorun/kanikorun/internal/spec"
)

func credsCommand() *cli.Command {
	return &cli.Command{
		Name:      "creds",
		Usage:     "show which registries a build gets credentials for, and where each comes from (never the secret)",
		ArgsUsage: "[CONTEXT] [-- EXECUTOR-FLAGS...]",
		// Every build flag is accepted, so a build's command line works
		// here unchanged; only the ones that decide registries matter.
		Flags: append(append(append(describeFlags(), outputFlags()...), runFlags()...), lintFlags()...),
		Action: func(c *cli.Context) error {
			b, err := describe(c)
			if err != nil {
				return err
			}
			res, _, err := resolveCreds(c.Context, c, b, c.App.ErrWriter)
			if res != nil {
				res.WriteSummary(c.App.Writer)
			}
			return err
		},
	}
}

// resolveCreds works out the registries the build touches and gets their
// credentials from the host. Warnings go to stderr as single lines. The
// registries are returned for callers that need them (network choice).
func resolveCreds(ctx context.Context, c *cli.Context, b *spec.Build, stderr io.Writer) (*creds.Resolved, []creds.Registry, error) {
	regs, err := creds.Registries(b)
	if err != nil {
		return nil, nil, &exitError{code: exitUsage, err: err}
	}
	res, err := creds.Resolve(ctx, c.String(flagDockerConfig), regs, b.ExecutorImage)
	if res != nil {
		for _, w := range res.Warnings {
			fmt.Fprintf(stderr, "kanikorun: warning: %s\n", w)
		}
	}
	if err != nil {
		return res, regs, err
	}
	return res, regs, nil
}

// executorAuth returns the Engine API credentials for pulling the executor
// image. They are resolved apart from the build's, so the executor's
// registry does not end up in the build's config.json.
func executorAuth(ctx context.Context, c *cli.Context, image string, stderr io.Writer) func(string) string {
	reg, err := creds.RegistryOf(image, false, "executor image")
	if err != nil {
		return nil
	}
	dir := c.String(flagDockerConfig)
	// Resolved only when the daemon actually pulls: no credential helper
	// runs for an image that is already there.
	return func(string) string {
		res, err := creds.Resolve(ctx, dir, []creds.Registry{reg}, "")
		if err != nil && !errors.Is(err, creds.ErrPushCredentials) {
			fmt.Fprintf(stderr, "kanikorun: warning: pulling the executor anonymously: %v\n", err)
			return ""
		}
		return res.AuthFor(reg.Host)
	}
}
