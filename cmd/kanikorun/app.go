package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/kanikorun/kanikorun/creds"
)

// Exit codes of kanikorun's own failures. A build otherwise exits with the
// executor's code.
const (
	exitUsage       = 2   // bad flags or arguments
	exitTool        = 125 // kanikorun or the daemon failed (as docker run)
	exitTimeout     = 124 // --timeout expired (as timeout(1))
	exitInterrupted = 130 // Ctrl-C
)

// exitError carries an exit code; its message (if any) is printed as one
// line.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string {
	if e.err == nil {
		return ""
	}
	return e.err.Error()
}

func (e *exitError) Unwrap() error { return e.err }

// usageErr marks a command-line mistake.
func usageErr(format string, a ...any) error {
	return &exitError{code: exitUsage, err: fmt.Errorf(format, a...)}
}

// exitCode ends the command with code and no message.
func exitCode(code int) error { return &exitError{code: code} }

// run runs the CLI with the given arguments and writers and returns the
// process exit code. Tests call it in-process.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	app := newApp(stdout, stderr)
	app.Reader = stdin
	args, extra := splitExtra(args)
	args = permute(app, args)
	ctx = withExtra(ctx, extra)
	err := app.RunContext(ctx, args)
	if err == nil {
		return 0
	}
	code := exitTool
	var ee *exitError
	if ctx.Err() != nil && !(errors.As(err, &ee) && ee.code == exitInterrupted) {
		// Ctrl-C before the executor started (resolving credentials,
		// pulling): whatever failed, it failed because of the signal.
		fmt.Fprintln(stderr, "kanikorun: interrupted")
		return exitInterrupted
	}
	if errors.As(err, &ee) {
		code = ee.code
	} else if isUsage(err) || errors.Is(err, creds.ErrDockerConfigDir) {
		code = exitUsage
	}
	if msg := unknownCommand(oneLine(err.Error())); msg != "" {
		fmt.Fprintf(stderr, "kanikorun: %s\n", msg)
	}
	return code
}

// newApp builds a fresh command tree writing to the given streams.
func newApp(stdout, stderr io.Writer) *cli.App {
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
			buildCommand(),
			credsCommand(),
			jobCommand(),
			replayCommand(),
			statusCommand(),
			lintCommand(),
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
	return &exitError{code: exitUsage, err: fmt.Errorf("%v; see %s", err, help)}
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

func isUsage(err error) bool {
	s := err.Error()
	return strings.HasPrefix(s, "flag provided but not defined") ||
		strings.HasPrefix(s, "invalid value") ||
		strings.Contains(s, "No help topic for")
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
