package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/kanikorun/kanikorun/internal/errs"
)

// run runs the CLI with the given arguments and writers and returns the
// process exit code. Tests call it in-process.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	args, extra := splitExtra(args)
	app := newApp(stdout, stderr, extra)
	app.Reader = stdin
	args = permute(app, args)
	namesOnce(app, args)
	err := oldPull(args)
	if err == nil {
		err = app.RunContext(ctx, args)
	}
	if err == nil {
		return 0
	}
	code := exitCodeOf(err)
	if ctx.Err() != nil && code != exitInterrupted {
		// Ctrl-C before the executor started (resolving credentials,
		// pulling): whatever failed, it failed because of the signal.
		fmt.Fprintln(stderr, "kanikorun: interrupted")
		return exitInterrupted
	}
	if msg := messageOf(err); msg != "" {
		fmt.Fprintf(stderr, "kanikorun: %s\n", msg)
	}
	return code
}

// newApp builds a fresh command tree writing to the given streams.
func newApp(stdout, stderr io.Writer, extra []string) *cli.App {
	app := &cli.App{
		Name:                      "kanikorun",
		Usage:                     "build images with the kaniko executor on your machine, exactly as your cluster does",
		Version:                   versionString(),
		Writer:                    stdout,
		ErrWriter:                 stderr,
		HideHelpCommand:           true,
		DisableSliceFlagSeparator: true,
		Suggest:                   true,
		// Errors are printed once, by run.
		ExitErrHandler: func(*cli.Context, error) {},
		Commands: []*cli.Command{
			buildCommand(extra),
			credsCommand(extra),
			jobCommand(extra),
			submitCommand(extra),
			waitCommand(),
			logsCommand(),
			listCommand(),
			cancelCommand(),
			replayCommand(),
			statusCommand(),
			lintCommand(extra),
			cacheCommand(),
			gcCommand(),
			doctorCommand(extra),
		},
		OnUsageError: onUsageError,
	}
	for _, c := range app.Commands {
		// One line instead of the whole help text.
		if c.OnUsageError == nil {
			c.OnUsageError = onUsageError
		}
		// Without this urfave gives every command a `help` (alias `h`)
		// subcommand, so `kanikorun build help` would print help and exit
		// 0 instead of building the context directory named help.
		c.HideHelpCommand = true
	}
	return app
}

func onUsageError(c *cli.Context, err error, _ bool) error {
	help := "kanikorun --help"
	// The root command carries the app's name.
	if c.Command != nil && c.Command.Name != "" && c.Command.Name != c.App.Name {
		help = "kanikorun " + c.Command.Name + " --help"
	}
	return usageErr("%w; see %s", err, help)
}

// version is set by the linker: `make build` stamps the checkout's `git
// describe`.
var version string

// versionString is version, else the module version `go install
// ...@vX.Y.Z` records in the binary, else "dev".
func versionString() string {
	if version != "" {
		return version
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "dev"
}

// unknownCommand rewords urfave's "No help topic for 'x'" (its answer to
// a command that does not exist) as what happened and what to do.
func unknownCommand(msg string) string {
	rest, ok := strings.CutPrefix(msg, "No help topic for '")
	if !ok {
		return msg
	}
	name, suggestion, _ := strings.Cut(rest, "'")
	suggestion = strings.TrimPrefix(suggestion, ". ")
	if strings.Contains(suggestion, `"help"`) || strings.Contains(suggestion, `"h"`) {
		// urfave's hidden help command, which is not how to get help here.
		suggestion = ""
	}
	if suggestion != "" {
		suggestion = strings.ToLower(suggestion[:1]) + suggestion[1:] + " "
	}
	return fmt.Sprintf("unknown command %q; %ssee kanikorun --help", name, suggestion)
}

func oneLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	return s
}

// lookupEnv is os.LookupEnv, in one place for the flags that read the
// environment (bare --build-arg KEY).
var lookupEnv = os.LookupEnv

// usageErr is a command-line mistake.
func usageErr(format string, a ...any) error {
	return errs.Mark(fmt.Errorf(format, a...), errUsage)
}
