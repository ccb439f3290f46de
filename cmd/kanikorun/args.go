package main

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/kanikorun/kanikorun/internal/errs"
)

// splitExtra cuts the command line at the first "--": what follows goes to
// the executor verbatim.
func splitExtra(args []string) (own, extra []string) {
	for i, a := range args {
		if a == "--" {
			return args[:i], append([]string{}, args[i+1:]...)
		}
	}
	return args, nil
}

// permute moves a subcommand's positional arguments after its flags, so
// "kanikorun build . -t app" works as docker build does; the flag parser
// underneath stops at the first positional argument.
func permute(app *cli.App, args []string) []string {
	if len(args) < 2 {
		return args
	}
	// Global flags come before the command name.
	i := 1
	for i < len(args) && strings.HasPrefix(args[i], "-") {
		i++
	}
	if i >= len(args) {
		return args
	}
	var cmd *cli.Command
	for _, c := range app.Commands {
		if c.HasName(args[i]) {
			cmd = c
		}
	}
	if cmd == nil && isHelp(args[i]) {
		// `kanikorun help [COMMAND]`, as git and docker take it (h is
		// urfave's alias for it).
		out := append([]string{}, args[:i]...)
		if i+1 < len(args) && !isHelp(args[i+1]) {
			out = append(out, args[i+1])
		}
		return append(out, "--help")
	}
	// A command with subcommands (cache ls, cache prune) has no
	// positional arguments of its own to move.
	if cmd == nil || cmd.SkipFlagParsing || len(cmd.Subcommands) > 0 {
		return args
	}
	takesValue := map[string]bool{}
	long := map[string]string{}
	for _, f := range cmd.Flags {
		v, ok := f.(cli.DocGenerationFlag)
		for _, n := range f.Names() {
			takesValue[n] = ok && v.TakesValue()
			long[n] = f.Names()[0]
		}
	}
	var flags, pos []string
	rest := args[i+1:]
	for j := 0; j < len(rest); j++ {
		a := rest[j]
		if a == "-" || !strings.HasPrefix(a, "-") {
			pos = append(pos, a)
			continue
		}
		// Aliases become the long name: the parser refuses "-t a --destination b"
		// as two forms of one flag, but docker build accepts it.
		name, value, hasValue := strings.Cut(strings.TrimLeft(a, "-"), "=")
		if l, ok := long[name]; ok {
			a = "--" + l
			if hasValue {
				a += "=" + value
			}
		}
		flags = append(flags, a)
		if hasValue {
			continue
		}
		if takesValue[name] && j+1 < len(rest) {
			j++
			flags = append(flags, rest[j])
		}
	}
	out := append([]string{}, args[:i+1]...)
	out = append(out, flags...)
	return append(out, pos...)
}

func isHelp(arg string) bool { return arg == "help" || arg == "h" }

// oldPull refuses the spelling `--pull never` (or =missing, =always) that
// once chose when the executor image is pulled: --pull is now docker
// build's flag (no value; the executor always pulls base images), and
// read as one it would take "never" for the CONTEXT directory.
func oldPull(args []string) error {
	for i, a := range args {
		name, value, hasValue := strings.Cut(a, "=")
		if name != "--pull" && name != "-pull" {
			continue
		}
		if !hasValue && i+1 < len(args) {
			value, hasValue = args[i+1], isPullPolicy(args[i+1])
		}
		if _, err := strconv.ParseBool(value); hasValue && err != nil {
			return errs.Mark(fmt.Errorf("--pull takes no value: the executor always pulls base images; to say when the executor image is pulled, use --executor-pull %s", value), errUsage)
		}
	}
	return nil
}

func isPullPolicy(s string) bool { return s == "missing" || s == "always" || s == "never" }
