package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/volume"
	"github.com/rogpeppe/go-internal/testscript"

	"github.com/kanikorun/kanikorun/internal/spec"
	"github.com/kanikorun/kanikorun/internal/testbed"
	"github.com/kanikorun/kanikorun/internal/testbed/kubenode"
	"github.com/kanikorun/kanikorun/internal/testfs"
	"github.com/kanikorun/kanikorun/runner"
)

// Set up once per package: the stand-in executor image in the daemon and
// a basic-auth registry on 127.0.0.1.
var (
	executorImage string
	reg           *testbed.Registry
)

// TestMain sets up the package once, unless the test binary was started
// as a script's kanikorun command (testscript.Main runs that and exits).
func TestMain(m *testing.M) {
	testscript.Main(setUp{m}, scriptCommands)
}

// setUp runs the tests after the package's set-up.
type setUp struct{ m *testing.M }

func (s setUp) Run() int {
	m := s.m
	return func() int {
		ctx := context.Background()
		// The stand-in's image name is not one the linter knows; say which
		// executor it stands in for, as a user of a mirrored image would.
		os.Setenv("KANIKORUN_EXECUTOR_FLAVOR", "upstream")
		// Builds cache in a volume of this test process, not in the
		// user's kanikorun-cache (other checkouts share the daemon); it
		// goes when the tests end.
		os.Setenv("KANIKORUN_CACHE_VOLUME", testCacheVolume)
		var err error
		reg, err = testbed.StartRegistry("kanikorun", testbed.RandomPassword())
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		defer reg.Close()
		// Made before any test points TMPDIR elsewhere.
		if binDir, err = os.MkdirTemp("", "kanikorun-test-bin-"); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		defer os.RemoveAll(binDir)
		cli, err := testbed.Docker(ctx)
		if testbed.MainSkipOrFail(err) {
			defer cli.Close()
			if executorImage, err = testbed.StandInImage(ctx, cli); err != nil {
				fmt.Fprintln(os.Stderr, err)
				return 1
			}
			defer testbed.RemoveVolumes(ctx, cli, testCacheVolume)
		}
		// The cluster starts with the first test that needs it.
		defer kubenode.StopShared()
		return m.Run()
	}()
}

// testCacheVolume is the cache volume of this test process.
var testCacheVolume = "kanikorun-cache-test-" + testbed.RandomPassword()[:12]

// result is one kanikorun invocation.
type result struct {
	stdout, stderr string
	code           int
}

func (r result) String() string {
	return fmt.Sprintf("exit %d\n--- stdout\n%s--- stderr\n%s", r.code, r.stdout, r.stderr)
}

// lastLine is the last non-empty line of stdout.
func (r result) lastLine() string {
	lines := strings.Split(strings.TrimRight(r.stdout, "\n"), "\n")
	return lines[len(lines)-1]
}

// cliMu serialises in-process runs: urfave/cli's shared help and version
// flags are written by every app it sets up.
var cliMu sync.Mutex

// kanikorun runs the whole CLI in-process, for the Go tests that are not
// scripts (testdata/script): they compare or inspect what scripts cannot.
func kanikorun(t *testing.T, args ...string) result {
	t.Helper()
	cliMu.Lock()
	defer cliMu.Unlock()
	var out, errOut bytes.Buffer
	code := run(context.Background(), append([]string{"kanikorun"}, args...), strings.NewReader(""), &out, &errOut)
	return result{stdout: out.String(), stderr: errOut.String(), code: code}
}

// writeTree writes files (slash paths relative to dir) and returns dir.
func writeTree(t *testing.T, dir string, files map[string]string) string {
	t.Helper()
	return testfs.WriteTree(t, dir, files)
}

// buildContext makes a fresh context directory with the given files.
func buildContext(t *testing.T, files map[string]string) string {
	t.Helper()
	return writeTree(t, t.TempDir(), files)
}

// registryConfig writes a docker config dir holding the test registry's
// credentials inline, and returns the directory.
func registryConfig(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	if _, err := reg.WriteDockerConfig(dir); err != nil {
		t.Fatal(err)
	}
	return dir
}

// isolate points TMPDIR at a fresh directory (so leftovers can be counted)
// and the docker config at an empty one. Tests that call it cannot run in
// parallel.
func isolate(t *testing.T) (tmp string) {
	t.Helper()
	tmp = t.TempDir()
	t.Setenv("TMPDIR", tmp)
	t.Setenv("DOCKER_CONFIG", t.TempDir())
	t.Setenv("KANIKORUN_EXECUTOR_IMAGE", "")
	os.Unsetenv("KANIKORUN_EXECUTOR_IMAGE")
	return tmp
}

// assertNothingLeft fails when a container built from contextDir, or any
// file in tmp, remains.
func assertNothingLeft(t *testing.T, contextDir, tmp string) {
	t.Helper()
	cli := testbed.RequireDocker(t)
	ids, err := testbed.Leftovers(context.Background(), cli, map[string]string{spec.ContextLabel: contextDir})
	if err != nil {
		t.Fatal(err)
	}
	if len(ids) > 0 {
		t.Errorf("containers left behind: %v", ids)
	}
	if tmp != "" {
		assertNoRunVolumes(t, tmp)
		entries, _ := os.ReadDir(tmp)
		for _, e := range entries {
			t.Errorf("left in TMPDIR: %s", e.Name())
		}
	}
}

// assertNoRunVolumes fails when a volume of this test's runs is left:
// one whose run label names a directory in its TMPDIR (stream mode's
// unpacked context, replay's copied directories).
func assertNoRunVolumes(t *testing.T, tmp string) {
	t.Helper()
	for _, v := range runVolumes(t, tmp) {
		t.Errorf("volume left behind: %s (%s)", v.Name, v.Labels[runner.RunLabel])
	}
}

// runVolumes are the volumes whose run label names a directory in tmp.
func runVolumes(t *testing.T, tmp string) []*volume.Volume {
	t.Helper()
	cli := testbed.RequireDocker(t)
	vols, err := cli.VolumeList(context.Background(), volume.ListOptions{Filters: filters.NewArgs(filters.Arg("label", runner.RunLabel))})
	if err != nil {
		t.Fatal(err)
	}
	var out []*volume.Volume
	for _, v := range vols.Volumes {
		if strings.HasPrefix(v.Labels[runner.RunLabel], tmp) {
			out = append(out, v)
		}
	}
	return out
}

// Subprocess runs need the binary.
var (
	binOnce sync.Once
	binDir  string
	binPath string
	binErr  error
)

// kanikorunBinary builds cmd/kanikorun once per test process.
func kanikorunBinary(t *testing.T) string {
	t.Helper()
	binOnce.Do(func() {
		binPath = filepath.Join(binDir, "kanikorun")
		out, err := exec.Command("go", "build", "-o", binPath, ".").CombinedOutput()
		if err != nil {
			binErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if binErr != nil {
		t.Fatal(binErr)
	}
	return binPath
}

// startUntil starts the kanikorun binary and reads its stderr until a line
// containing marker (the executor has reached that step). It returns the
// running command, the lines read, and the rest of stderr to drain.
func startUntil(t *testing.T, marker string, args ...string) (*exec.Cmd, []string, io.Reader) {
	t.Helper()
	cmd := exec.Command(kanikorunBinary(t), args...)
	cmd.Env = os.Environ()
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	r := bufio.NewReader(stderr)
	var seen []string
	for {
		line, err := r.ReadString('\n')
		seen = append(seen, line)
		if strings.Contains(line, marker) || err != nil {
			return cmd, seen, r
		}
	}
}
