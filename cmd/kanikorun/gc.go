package main

import (
	"fmt"

	"github.com/urfave/cli/v2"

	"github.com/kanikorun/kanikorun/runner"
)

func gcCommand() *cli.Command {
	return &cli.Command{
		Name:  "gc",
		Usage: "remove the executor containers killed kanikorun runs left (stream mode cannot use AutoRemove)",
		Action: func(c *cli.Context) error {
			removed, err := runner.GC(c.Context, runner.Streams{Stdout: c.App.Writer, Stderr: c.App.ErrWriter})
			for _, id := range removed {
				fmt.Fprintf(c.App.Writer, "removed container %.12s\n", id)
			}
			return err
		},
	}
}
