package main

import (
	"strings"

	"github.com/urfave/cli/v2"
)

// urfave/cli v2 works a flag's names out again, with a regular expression,
// each time it asks for them, and on every run it asks for all of a
// command's flags' names once per flag (runFlagActions, IsSet, lookupFlag):
// for build's 75 flags some 4,000 regular-expression calls, 2 to 3 ms of
// every invocation. These wrappers work the names out once. Everything
// else, help text included, is the wrapped flag's own.

type namedBool struct {
	*cli.BoolFlag
	names []string
}

func (f *namedBool) Names() []string { return f.names }

type namedString struct {
	*cli.StringFlag
	names []string
}

func (f *namedString) Names() []string { return f.names }

type namedStringSlice struct {
	*cli.StringSliceFlag
	names []string
}

func (f *namedStringSlice) Names() []string { return f.names }

type namedDuration struct {
	*cli.DurationFlag
	names []string
}

func (f *namedDuration) Names() []string { return f.names }

type namedInt struct {
	*cli.IntFlag
	names []string
}

func (f *namedInt) Names() []string { return f.names }

// namesOnce wraps the flags of the command args run: the others' would
// only cost their names once each.
func namesOnce(app *cli.App, args []string) {
	for _, a := range args[1:] {
		if strings.HasPrefix(a, "-") {
			continue
		}
		if c := app.Command(a); c != nil {
			withNamesOnce(c.Flags, c.Subcommands)
		}
		return
	}
}

// withNamesOnce wraps the flags of cmds and their subcommands, and of
// flags, in place.
func withNamesOnce(flags []cli.Flag, cmds []*cli.Command) {
	for i, f := range flags {
		flags[i] = namedOnce(f)
	}
	for _, c := range cmds {
		withNamesOnce(c.Flags, c.Subcommands)
	}
}

// namedOnce wraps one flag; a type it does not know stays as it is.
func namedOnce(f cli.Flag) cli.Flag {
	switch f := f.(type) {
	case *cli.BoolFlag:
		return &namedBool{f, f.Names()}
	case *cli.StringFlag:
		return &namedString{f, f.Names()}
	case *cli.StringSliceFlag:
		return &namedStringSlice{f, f.Names()}
	case *cli.DurationFlag:
		return &namedDuration{f, f.Names()}
	case *cli.IntFlag:
		return &namedInt{f, f.Names()}
	}
	return f
}
