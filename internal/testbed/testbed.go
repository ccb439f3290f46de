// Package testbed is the test-only workbench for kanikorun: a stand-in for
// the kaniko executor image (the real one cannot be pulled here), an
// in-process registry with HTTP basic auth on the loopback interface, and
// helpers to reach the Docker daemon, inspect pushed images and find
// leftover containers.
//
// The stand-in executor (./standin) parses exactly kaniko v1.24.0's flags,
// reads credentials from /kaniko/.docker/config.json, checks push
// permission before building, builds a subset of the Dockerfile language
// into a real image and pushes it, writes --tar-path and --digest-file in
// place, and logs like kaniko. Its first log line carries its argv, which
// ParseArgv reads back.
//
// A package whose tests need Docker sets up once in TestMain:
//
//	var (
//		executorImage string            // the stand-in, loaded into the daemon
//		reg           *testbed.Registry // 127.0.0.1:PORT, basic auth
//	)
//
//	func TestMain(m *testing.M) {
//		os.Exit(func() int {
//			ctx := context.Background()
//			var err error
//			reg, err = testbed.StartRegistry("kanikorun", "s3cret")
//			if err != nil {
//				fmt.Fprintln(os.Stderr, err)
//				return 1
//			}
//			defer reg.Close()
//			cli, err := testbed.Docker(ctx)
//			if testbed.MainSkipOrFail(err) {
//				defer cli.Close()
//				if executorImage, err = testbed.StandInImage(ctx, cli); err != nil {
//					fmt.Fprintln(os.Stderr, err)
//					return 1
//				}
//			}
//			return m.Run()
//		}())
//	}
//
// and each test calls RequireDocker(t), which skips when Docker is missing
// on a workstation and fails when the CI environment variable is set.
//
// For the fork's behaviour (osscontainertools/kaniko v1.28.3), load the
// fork-mode stand-in the same way:
//
//	forkImage, err := testbed.StandInForkImage(ctx, cli)
//
// It is the same binary with StandInFlavorEnv=fork in the image's
// environment: --target takes a comma-separated or repeated list (every
// stage named is built, the first pushed), --secret
// id=ID[,src=/file][,env=VAR][,type=file|env] serves RUN
// --mount=type=secret at /run/secrets/ID, RUN heredocs run, and a RUN
// heredoc with a quoted delimiter (<<'EOF') is skipped with exit 0. The
// upstream image refuses all of that as kaniko v1.24.0 does. kanikorun
// cannot tell the flavour from the image name
// (kanikorun-test/executor-fork:<id>), so pass --executor-flavor fork with
// it. StandInFork returns the image itself.
//
// Test harnesses, bench and chaos programs that need the Docker SDK live
// here: outside this package only runner/docker.go imports it (a test in
// runner keeps it so), and nothing outside tests may import testbed.
package testbed

import (
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"
)

// ArgvMarker precedes the JSON-encoded argv on the stand-in's first log
// line.
const ArgvMarker = "kanikorun-standin argv: "

// ErrNoArgv means the log holds no stand-in argv line: the stand-in never
// started, or the log is not the stand-in's.
var ErrNoArgv = errors.New("no stand-in argv line in the log")

// ansi matches colour escape sequences, in case a log passed through a
// terminal formatter.
var ansi = regexp.MustCompile("\x1b\\[[0-9;]*m")

// ParseArgv returns the exact argument list the stand-in executor was
// started with, read from its captured log (stderr, or stdout and stderr
// combined; demultiplexed, not the raw Docker stream).
func ParseArgv(log string) ([]string, error) {
	for _, line := range strings.Split(log, "\n") {
		line = ansi.ReplaceAllString(strings.TrimRight(line, "\r"), "")
		_, rest, ok := strings.Cut(line, ArgvMarker)
		if !ok {
			continue
		}
		var argv []string
		if err := json.Unmarshal([]byte(rest), &argv); err != nil {
			return nil, fmt.Errorf("decoding stand-in argv %q: %w", rest, err)
		}
		return argv, nil
	}
	return nil, ErrNoArgv
}
