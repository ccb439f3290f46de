package main

import (
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/kanikorun/kanikorun/internal/errs"
	"github.com/kanikorun/kanikorun/internal/kube"
)

func statusCommand() *cli.Command {
	return &cli.Command{
		Name:      "status",
		Usage:     "read a Job (a FILE of JSON or YAML, - for stdin, or the NAME of a live Job) and print Running, Complete, Failed or Suspended; exit 0 Complete, 1 Failed, 2 not finished",
		ArgsUsage: "[FILE|-|NAME]",
		Flags:     connFlags(true),
		// Exit 2 means "not finished" here, so a script polling the status
		// must not mistake bad input for it: every failure of the command
		// itself exits 125.
		OnUsageError: func(c *cli.Context, err error, sub bool) error {
			return errs.Mark(onUsageError(c, err, sub), errStatusInput)
		},
		Action: func(c *cli.Context) error {
			if c.NArg() > 1 {
				return errs.Mark(fmt.Errorf("too many arguments: give one FILE or - for stdin"), errStatusInput)
			}
			arg := c.Args().First()
			if arg != "" && arg != "-" {
				if _, err := os.Stat(arg); err != nil && !strings.ContainsAny(arg, "/\\.") {
					// Not a file: the name of a live Job.
					return statusLive(c, arg)
				}
			}
			data, err := readInput(arg, c.App.Reader)
			if err != nil {
				return errs.Mark(err, errStatusInput)
			}
			st, err := kube.ParseStatus(data)
			if err != nil {
				return errs.Mark(err, errStatusInput)
			}
			fmt.Fprintln(c.App.Writer, st.String())
			if st.ExitCode != 0 {
				return statusExit(st.ExitCode)
			}
			return nil
		},
	}
}

// readInput reads a file, or stdin for "" and "-".
func readInput(path string, stdin io.Reader) ([]byte, error) {
	if path == "" || path == "-" {
		data, err := io.ReadAll(stdin)
		if err != nil {
			return nil, fmt.Errorf("reading stdin: %w", err)
		}
		return data, nil
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, usageErr("reading %q: %w; give an existing file or - for stdin", path, unwrapPath(err))
	}
	return data, nil
}

func unwrapPath(err error) error {
	if pe, ok := err.(*os.PathError); ok {
		return pe.Err
	}
	return err
}
