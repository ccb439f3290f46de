package main

// CLI scenarios as testscript scripts: testdata/script/*.txtar, one
// scenario each. The command kanikorun in a script is this test binary
// re-executed (see TestMain), so each run is a process of its own with its
// own environment, and scripts run in parallel without a lock.

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/client"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/rogpeppe/go-internal/testscript"

	"github.com/kanikorun/kanikorun/creds/credstest"
	"github.com/kanikorun/kanikorun/internal/kube"
	"github.com/kanikorun/kanikorun/internal/spec"
	"github.com/kanikorun/kanikorun/internal/testbed"
)

// update rewrites the expected output of `cmp stdout|stderr FILE` in the
// scripts: go test ./cmd/kanikorun -run TestScripts -update.
var update = flag.Bool("update", false, "rewrite the expected output in testdata/script/*.txtar")

// scriptCommands are the programs a script can run: kanikorun as main.go
// runs it, signals included.
var scriptCommands = map[string]func(){
	"kanikorun": func() {
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
		code := run(ctx, os.Args, os.Stdin, os.Stdout, os.Stderr)
		stop()
		os.Exit(code)
	},
}

// TestScripts runs every testdata/script/*.txtar. A script that needs the
// daemon says `[!docker] skip`; the condition fails the script instead
// when CI is set and the daemon does not answer.
func TestScripts(t *testing.T) {
	t.Parallel()
	testscript.Run(t, testscript.Params{
		Dir:                 filepath.Join("testdata", "script"),
		UpdateScripts:       *update,
		RequireExplicitExec: true,
		RequireUniqueNames:  true,
		Setup:               scriptSetup,
		Condition:           scriptCondition,
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			"exitcode":     cmdExitCode,
			"nothingleft":  cmdNothingLeft,
			"ls":           cmdLs,
			"lines":        cmdLines,
			"nosecret":     cmdNoSecret,
			"credhelper":   cmdCredHelper,
			"regconfig":    cmdRegConfig,
			"registry":     cmdRegistry,
			"forkexecutor": cmdForkExecutor,
			"imageconfig":  cmdImageConfig,
			"daemonimage":  cmdDaemonImage,
		},
	})
}

// scriptSetup gives every script what the CLI tests had: the stand-in
// executor, the registry's address, the repository's testdata, an empty
// docker config and its own TMPDIR ($WORK/.tmp, testscript's), plus the
// variables that reach the daemon.
func scriptSetup(env *testscript.Env) error {
	base, err := scriptBase()
	if err != nil {
		return err
	}
	testdata, err := filepath.Abs(filepath.Join("..", "..", "testdata"))
	if err != nil {
		return err
	}
	dockerConfig := filepath.Join(env.WorkDir, ".docker")
	if err := os.Mkdir(dockerConfig, 0o700); err != nil {
		return err
	}
	env.Setenv("EXECUTOR", executorImageOrDefault())
	env.Setenv("REGISTRY", reg.Addr)
	env.Setenv("BASE", base)
	env.Setenv("TESTDATA", testdata)
	env.Setenv("DOCKER_CONFIG", dockerConfig)
	env.Setenv("KANIKORUN_EXECUTOR_FLAVOR", "upstream")
	env.Setenv("ARGV_MARKER", strings.TrimSpace(testbed.ArgvMarker))
	// A script that points DOCKER_HOST elsewhere can put it back.
	env.Setenv("OUTER_DOCKER_HOST", os.Getenv("DOCKER_HOST"))
	for _, k := range []string{"DOCKER_HOST", "DOCKER_TLS_VERIFY", "DOCKER_CERT_PATH", "DOCKER_API_VERSION", "DOCKER_CONTEXT", "CI", "KANIKORUN_CACHE_VOLUME"} {
		if v, ok := os.LookupEnv(k); ok {
			env.Setenv(k, v)
		}
	}
	return nil
}

// executorImageOrDefault is the stand-in, or the default executor where
// Docker is missing (scripts that run it skip then).
func executorImageOrDefault() string {
	if executorImage != "" {
		return executorImage
	}
	return spec.DefaultExecutorImage
}

// The base image RUN steps need (a /bin/sh stub for the stand-in), pushed
// once per test process.
var (
	scriptBaseOnce sync.Once
	scriptBaseRef  string
	scriptBaseErr  error
)

func scriptBase() (string, error) {
	scriptBaseOnce.Do(func() {
		scriptBaseRef, scriptBaseErr = reg.PushBase(context.Background(), "base/script",
			map[string]string{"bin/sh": "#!", "etc/base.txt": "from base\n"},
			[]string{"BASE_ENV=1"}, map[string]string{"base.label": "yes"})
	})
	return scriptBaseRef, scriptBaseErr
}

// scriptCondition knows [docker]: true when the daemon answers; when it
// does not, false on a workstation (the script skips) and an error, which
// fails the script, when CI is set, as testbed.RequireDocker does.
func scriptCondition(cond string) (bool, error) {
	if cond != "docker" {
		return false, fmt.Errorf("unknown condition %q", cond)
	}
	var err error
	if executorImage == "" {
		err = errors.New("the stand-in executor image was not built: " + dockerDown())
	} else if err = ensureStandIn(context.Background()); err == nil {
		return true, nil
	} else if !errors.Is(err, testbed.ErrDockerUnavailable) {
		return false, err
	}
	if os.Getenv("CI") != "" {
		return false, fmt.Errorf("Docker is required when CI is set: %w", err)
	}
	return false, nil
}

// standInMu serialises ensureStandIn's loads.
var standInMu sync.Mutex

// ensureStandIn loads the stand-in executor again when it is gone from the
// daemon: a test run of another checkout (other stand-in sources) prunes
// the stand-ins it does not use. It does not prune in turn.
func ensureStandIn(ctx context.Context) error {
	standInMu.Lock()
	defer standInMu.Unlock()
	cli, err := testbed.Docker(ctx)
	if err != nil {
		return err
	}
	defer cli.Close()
	if _, err := cli.ImageInspect(ctx, executorImage); err == nil {
		return nil
	}
	img, err := testbed.StandIn(ctx)
	if err != nil {
		return err
	}
	tag, err := name.NewTag(executorImage)
	if err != nil {
		return err
	}
	pr, pw := io.Pipe()
	go func() { pw.CloseWithError(tarball.Write(tag, img, pw)) }()
	resp, err := cli.ImageLoad(ctx, pr, client.ImageLoadWithQuiet(true))
	if err != nil {
		pr.CloseWithError(err)
		return fmt.Errorf("loading %q into the daemon again: %w", executorImage, err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
	if _, err := cli.ImageInspect(ctx, executorImage); err != nil {
		return fmt.Errorf("loading %q into the daemon again: %w", executorImage, err)
	}
	return nil
}

// dockerDown says why the daemon is not there.
func dockerDown() string {
	cli, err := testbed.Docker(context.Background())
	if err != nil {
		return err.Error()
	}
	_ = cli.Close()
	return "TestMain could not reach the daemon"
}

// cmdExitCode: exitcode N PROGRAM [ARGS...] runs PROGRAM as exec does
// and checks that it exits with status N; stdout and stderr are kept for
// the commands that follow.
func cmdExitCode(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 2 {
		ts.Fatalf("usage: exitcode N PROGRAM [ARGS...]")
	}
	want, err := strconv.Atoi(args[0])
	ts.Check(err)
	got := 0
	if err := ts.Exec(args[1], args[2:]...); err != nil {
		var ee *exec.ExitError
		if !errors.As(err, &ee) {
			ts.Fatalf("running %s: %v", args[1], err)
		}
		got = ee.ExitCode()
	}
	if got != want {
		ts.Fatalf("%s exited with status %d, want %d", args[1], got, want)
	}
}

// cmdNothingLeft: nothingleft CONTEXT fails when a container built from
// the context directory remains, or anything is left in $TMPDIR;
// nothingleft -replay WORKLOAD (Job/NAME) checks replay's containers of
// that workload instead of a context's.
func cmdNothingLeft(ts *testscript.TestScript, neg bool, args []string) {
	labels := map[string]string{}
	switch {
	case !neg && len(args) == 1:
		labels[spec.ContextLabel] = ts.MkAbs(args[0])
	case !neg && len(args) == 2 && args[0] == "-replay":
		labels[kube.ReplayLabel] = args[1]
	default:
		ts.Fatalf("usage: nothingleft CONTEXT | nothingleft -replay WORKLOAD")
	}
	cli, err := testbed.Docker(context.Background())
	ts.Check(err)
	defer cli.Close()
	ids, err := testbed.Leftovers(context.Background(), cli, labels)
	ts.Check(err)
	if len(ids) > 0 {
		ts.Fatalf("containers left behind: %v", ids)
	}
	entries, err := os.ReadDir(ts.Getenv("TMPDIR"))
	ts.Check(err)
	for _, e := range entries {
		ts.Fatalf("left in TMPDIR: %s", e.Name())
	}
}

// cmdLs: ls [-r] DIR prints the names in DIR, one a line, sorted (-r:
// every path below DIR, relative to it), for `cmp stdout`.
func cmdLs(ts *testscript.TestScript, neg bool, args []string) {
	recursive := len(args) == 2 && args[0] == "-r"
	if recursive {
		args = args[1:]
	}
	if neg || len(args) != 1 {
		ts.Fatalf("usage: ls [-r] DIR")
	}
	dir := ts.MkAbs(args[0])
	var names []string
	if recursive {
		ts.Check(filepath.WalkDir(dir, func(p string, _ os.DirEntry, err error) error {
			if err == nil && p != dir {
				rel, _ := filepath.Rel(dir, p)
				names = append(names, filepath.ToSlash(rel))
			}
			return err
		}))
	} else {
		entries, err := os.ReadDir(dir)
		ts.Check(err)
		for _, e := range entries {
			names = append(names, e.Name())
		}
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintln(ts.Stdout(), n)
	}
}

// cmdLines: lines stdout|stderr N|* [PREFIX] checks that the last
// command's stream has exactly N lines (* any number) and, with PREFIX,
// that every one starts with it.
func cmdLines(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 2 || len(args) > 3 || (args[0] != "stdout" && args[0] != "stderr") {
		ts.Fatalf("usage: lines stdout|stderr N|* [PREFIX]")
	}
	want := -1
	if args[1] != "*" {
		n, err := strconv.Atoi(args[1])
		ts.Check(err)
		want = n
	}
	text := ts.ReadFile(args[0])
	lines := strings.Split(strings.TrimSuffix(text, "\n"), "\n")
	if text == "" {
		lines = nil
	}
	if (want >= 0 && len(lines) != want) || (text != "" && !strings.HasSuffix(text, "\n")) {
		ts.Fatalf("%s has %d lines, want %d:\n%s", args[0], len(lines), want, text)
	}
	if len(args) == 3 {
		for _, l := range lines {
			if !strings.HasPrefix(l, args[2]) {
				ts.Fatalf("%s line %q does not start with %q", args[0], l, args[2])
			}
		}
	}
}

// cmdNoSecret: nosecret [SECRET...] fails when the last command's stdout
// or stderr holds the test registry's password (or one of the given
// strings), raw or base64-encoded alone or as user:password. The password
// itself never enters a script.
func cmdNoSecret(ts *testscript.TestScript, neg bool, args []string) {
	if neg {
		ts.Fatalf("usage: nosecret [SECRET...]")
	}
	out := ts.ReadFile("stdout") + ts.ReadFile("stderr")
	check := func(what, s string) {
		for _, form := range []string{
			s,
			base64.StdEncoding.EncodeToString([]byte(s)),
			base64.StdEncoding.EncodeToString([]byte(reg.Username + ":" + s)),
		} {
			if strings.Contains(out, form) {
				ts.Fatalf("the output holds %s", what)
			}
		}
	}
	check("the registry password", reg.Password)
	for _, s := range args {
		check(strconv.Quote(s), s)
	}
}

// The test credential helper, built once per test process when a script
// first asks for it.
var (
	helperOnce sync.Once
	helperBin  string
	helperErr  error
)

// cmdCredHelper: credhelper NAME [HOST USER SECRET]... installs the test
// credential helper as docker-credential-NAME on the script's PATH, with a
// store holding the given credentials. HOST "registry" with USER and
// SECRET "-" is the test registry with its own credentials.
func cmdCredHelper(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 1 || (len(args)-1)%3 != 0 {
		ts.Fatalf("usage: credhelper NAME [HOST USER SECRET]...")
	}
	helperOnce.Do(func() {
		var dir string
		if dir, helperErr = os.MkdirTemp(binDir, "script-helper-"); helperErr == nil {
			helperBin, helperErr = credstest.BuildTo(dir)
		}
	})
	ts.Check(helperErr)
	name := args[0]
	bin := filepath.Join(ts.Getenv("WORK"), ".helpers")
	ts.Check(os.MkdirAll(bin, 0o755))
	ts.Check(os.Symlink(helperBin, filepath.Join(bin, "docker-credential-"+name)))
	if !strings.HasPrefix(ts.Getenv("PATH"), bin+string(os.PathListSeparator)) {
		ts.Setenv("PATH", bin+string(os.PathListSeparator)+ts.Getenv("PATH"))
	}
	store := map[string]credstest.Cred{}
	for i := 1; i < len(args); i += 3 {
		host, c := args[i], credstest.Cred{Username: args[i+1], Secret: args[i+2]}
		if host == "registry" && c.Username == "-" && c.Secret == "-" {
			host, c = reg.Addr, credstest.Cred{Username: reg.Username, Secret: reg.Password}
		}
		store[host] = c
	}
	var b bytes.Buffer
	fmt.Fprint(&b, "{")
	keys := make([]string, 0, len(store))
	for k := range store {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for i, k := range keys {
		if i > 0 {
			b.WriteString(",")
		}
		fmt.Fprintf(&b, "%q:{\"Username\":%q,\"Secret\":%q}", k, store[k].Username, store[k].Secret)
	}
	b.WriteString("}")
	file := filepath.Join(bin, name+".json")
	ts.Check(os.WriteFile(file, b.Bytes(), 0o600))
	ts.Setenv(credstest.StoreEnv+"_"+credstest.EnvName(name), file)
}

// cmdRegConfig: regconfig DIR writes DIR/config.json with the test
// registry's credentials inline, for --docker-config DIR.
func cmdRegConfig(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: regconfig DIR")
	}
	dir := ts.MkAbs(args[0])
	ts.Check(os.MkdirAll(dir, 0o700))
	_, err := reg.WriteDockerConfig(dir)
	ts.Check(err)
}

// cmdRegistry: [!] registry contacted REPO checks whether the registry has
// answered a request about REPO.
func cmdRegistry(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 2 || args[0] != "contacted" {
		ts.Fatalf("usage: [!] registry contacted REPO")
	}
	var seen []string
	for _, q := range reg.Requests() {
		if strings.Contains(q.Path, "/"+args[1]+"/") {
			seen = append(seen, q.Method+" "+q.Path)
		}
	}
	switch {
	case neg && len(seen) > 0:
		ts.Fatalf("the registry was contacted about %s: %v", args[1], seen)
	case !neg && len(seen) == 0:
		ts.Fatalf("the registry was not contacted about %s", args[1])
	}
}

// cmdImageConfig: imageconfig REF prints the config digest (the image ID)
// of the image pushed to the test registry at REF, read back from the
// registry with its own credentials, without a newline (as --iidfile
// writes it).
func cmdImageConfig(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: imageconfig REF")
	}
	img, err := reg.Image(args[0])
	ts.Check(err)
	h, err := img.ConfigName()
	ts.Check(err)
	// No newline: the same bytes as --iidfile writes, for cmp.
	fmt.Fprint(ts.Stdout(), h.String())
}

// cmdDaemonImage: daemonimage ID|NAME prints the ID the daemon has for the
// image (docker image inspect), and removes the image when the script
// ends.
func cmdDaemonImage(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: daemonimage ID|NAME")
	}
	cli, err := testbed.Docker(context.Background())
	ts.Check(err)
	inspect, err := cli.ImageInspect(context.Background(), args[0])
	if err != nil {
		cli.Close()
		ts.Fatalf("image %s not in the daemon: %v", args[0], err)
	}
	ts.Defer(func() {
		_, _ = cli.ImageRemove(context.Background(), inspect.ID, image.RemoveOptions{Force: true, PruneChildren: true})
		cli.Close()
	})
	fmt.Fprintln(ts.Stdout(), inspect.ID)
}
