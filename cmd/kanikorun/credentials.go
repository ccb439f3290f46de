package main

import (
	"github.com/urfave/cli/v2"

	"github.com/kanikorun/kanikorun/internal/lint"
	"github.com/kanikorun/kanikorun/internal/prepare"
)

func credsCommand(extra []string) *cli.Command {
	return &cli.Command{
		Name:      "creds",
		Usage:     "show which registries a build gets credentials for, and where each comes from (never the secret)",
		ArgsUsage: "[CONTEXT] [-- EXECUTOR-FLAGS...]",
		// Every build flag is accepted, so a build's command line works
		// here unchanged; only the ones that decide registries matter.
		Flags: append(append(append(append(describeFlags(), outputFlags()...), runFlags()...), lintFlags()...), unsupportedFlagDefs()...),
		Action: func(c *cli.Context) error {
			if err := refuseUnsupported(c); err != nil {
				return err
			}
			o := bindPrepare(c, extra, lint.Local)
			// The summary is about credentials: the preflight is lint's
			// and build's to show.
			o.Preflight = lint.Policy{Skip: true}
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
			res, err := p.Credentials(c.Context, c.App.ErrWriter)
			if res != nil {
				res.WriteSummary(c.App.Writer)
			}
			return err
		},
	}
}
