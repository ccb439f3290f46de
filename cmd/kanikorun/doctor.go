package main

import (
	"fmt"

	"github.com/urfave/cli/v2"

	"github.com/kanikorun/kanikorun/internal/doctor"
	"github.com/kanikorun/kanikorun/internal/lint"
)

func doctorCommand(extra []string) *cli.Command {
	flags := append(describeFlags(), lintFlags()...)
	flags = append(flags,
		&cli.StringFlag{Name: "output", Aliases: []string{"o"}, Value: "text", Usage: "output `FORMAT`: text or json"},
	)
	flags = append(flags, connFlags(true)...)
	return &cli.Command{
		Name:      "doctor",
		Usage:     "check everything a build needs, one line each: daemon, executor image, credentials, registries, push permission, cache, disk, kubeconfig, cluster and the rights submit needs",
		ArgsUsage: "[CONTEXT] [-- EXECUTOR-FLAGS...]",
		Flags:     flags,
		Action: func(c *cli.Context) error {
			format := c.String("output")
			if format != "text" && format != "json" {
				return usageErr("invalid --output %q: use text or json", format)
			}
			o := doctor.Options{Prepare: bindPrepare(c, extra, lint.Local), Kubeconfig: c.String("kubeconfig"), KubeContext: c.String("kube-context"), Namespace: c.String("namespace")}
			if err := o.Validate(); err != nil {
				return err
			}
			rep, err := doctor.Run(c.Context, o)
			if format == "json" {
				if jerr := rep.WriteJSON(c.App.Writer); jerr != nil {
					return fmt.Errorf("writing the report: %w", jerr)
				}
			} else {
				rep.WriteText(c.App.Writer)
			}
			return err
		},
	}
}
