package main

import (
	"fmt"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/kanikorun/kanikorun/runner"
)

func gcCommand() *cli.Command {
	return &cli.Command{
		Name:  "gc",
		Usage: "remove what killed builds left: containers, volumes (never the cache), temp dirs, partial tarballs",
		Description: "Only what carries kanikorun's labels and belongs to a run of this machine that has ended is removed;\n" +
			"a live build's container, another machine's and another tool's are left alone. build sweeps its temp dirs on start too.",
		Action: func(c *cli.Context) error {
			o := runner.GCOptions{}
			if err := o.Validate(); err != nil {
				return err
			}
			g, err := runner.GC(c.Context, o)
			if err != nil {
				return err
			}
			_, _ = g.WriteTo(c.App.Writer)
			if len(g.Failed) > 0 {
				return fmt.Errorf("gc: %s", strings.Join(g.Failed, "; "))
			}
			return nil
		},
	}
}
