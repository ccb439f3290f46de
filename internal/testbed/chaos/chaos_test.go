package chaos

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/volume"
	"github.com/docker/docker/client"

	"github.com/kanikorun/kanikorun/internal/spec"
	"github.com/kanikorun/kanikorun/internal/testbed"
)

var (
	executorImage string
	binary        string
)

func TestMain(m *testing.M) {
	os.Exit(func() int {
		ctx := context.Background()
		cli, err := testbed.Docker(ctx)
		if testbed.MainSkipOrFail(err) {
			defer cli.Close()
			if executorImage, err = testbed.StandInImage(ctx, cli); err != nil {
				fmt.Fprintln(os.Stderr, err)
				return 1
			}
			dir, err := os.MkdirTemp("", "kanikorun-chaos-bin-")
			if err != nil {
				fmt.Fprintln(os.Stderr, err)
				return 1
			}
			defer os.RemoveAll(dir)
			binary = filepath.Join(dir, "kanikorun")
			if out, err := exec.Command("go", "build", "-o", binary, "github.com/kanikorun/kanikorun/cmd/kanikorun").CombinedOutput(); err != nil {
				fmt.Fprintf(os.Stderr, "go build: %v\n%s", err, out)
				return 1
			}
		}
		return m.Run()
	}())
}

// scenario is one way a build is broken, and what must come of it.
type scenario string

const (
	ok         scenario = "ok"           // nothing breaks: exit 0, pushed
	flaky503   scenario = "registry503"  // the push check meets 503 (with or without body) or 429: retried to exit 0
	flakyReset scenario = "reset"        // the registry resets connections: retried to exit 0
	refused    scenario = "refused"      // the login is refused: exit 1, not retried
	exhausted  scenario = "exhausted"    // the registry stays down longer than the retries: exit 1
	sigint     scenario = "sigint"       // Ctrl-C at a random moment: 130
	sigterm    scenario = "sigterm"      // SIGTERM at a random moment: 130
	sigkill    scenario = "sigkill"      // SIGKILL at a random moment: gc cleans up
	crash      scenario = "crash"        // the executor is killed mid-build: 137, said so
	lastKill   scenario = "sigkill-last" // SIGKILL while the executor runs, left for gc
)

// fastDockerfile builds in a moment.
const fastDockerfile = "FROM scratch\nCOPY a.txt /\n"

var scenarios = []scenario{ok, flaky503, flakyReset, refused, exhausted, sigint, sigterm, sigkill, crash}

// outcome is one build's result.
type outcome struct {
	scenario scenario
	code     int
	stderr   string
	problem  string // why the outcome is wrong; "" when as expected
	retried  int    // announced attempts
}

type bed struct {
	t        *testing.T
	cli      *client.Client
	reg      *testbed.Registry
	rng      *rand.Rand
	root     string // contexts and outputs
	tmp      string // kanikorun's TMPDIR
	goodCfg  string
	wrongCfg string
	// slowDockerfile builds for two seconds, to be broken meanwhile.
	slowDockerfile string
	scan           *testbed.SecretScan
	// cacheVolume is the round's own cache volume: every build uses it,
	// the broken ones included, and it must come out intact.
	cacheVolume string
}

func TestChaos(t *testing.T) {
	cli := testbed.RequireDocker(t)
	builds := 20
	if v := os.Getenv("KANIKORUN_CHAOS_BUILDS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 5000 {
			t.Fatalf("KANIKORUN_CHAOS_BUILDS=%q: give 1 to 5000", v)
		}
		builds = n
	}
	seed := uint64(time.Now().UnixNano())
	if v := os.Getenv("KANIKORUN_CHAOS_SEED"); v != "" {
		s, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			t.Fatal(err)
		}
		seed = s
	}
	b := newBed(t, cli, seed)

	// Bounded in count and in time: a round that runs long stops early
	// and says so.
	deadline := time.Now().Add(time.Duration(builds) * 4 * time.Second)
	var results []outcome
	for i := 0; i < builds && time.Now().Before(deadline); i++ {
		s := scenarios[i%len(scenarios)]
		if i >= len(scenarios) {
			s = scenarios[b.rng.IntN(len(scenarios))]
		}
		results = append(results, b.build(i, s))
	}

	// The last build is SIGKILLed while its executor runs, and nothing
	// after it sweeps: its container, temp dir and partial tarball are
	// gc's to remove.
	results = append(results, b.build(len(results), lastKill))

	// What the SIGKILLed runs left, before gc.
	before := b.leftovers(false)
	gc := exec.Command(binary, "gc")
	gc.Env = b.env(b.goodCfg)
	gcOut, err := gc.CombinedOutput()
	if err != nil {
		t.Errorf("kanikorun gc: %v\n%s", err, gcOut)
	}
	b.scan.Scan("kanikorun gc output", gcOut)
	after := b.leftovers(true)
	b.scan.ScanFiles(b.tmp, nil)
	b.scan.ScanFiles(filepath.Join(b.root, "out"), nil)

	// The report.
	byScenario := map[scenario][2]int{}
	failed := 0
	retries := 0
	for _, r := range results {
		c := byScenario[r.scenario]
		c[0]++
		if r.problem == "" {
			c[1]++
		} else {
			failed++
			t.Errorf("%s build: %s (exit %d)\n%s", r.scenario, r.problem, r.code, tail(r.stderr, 12))
		}
		byScenario[r.scenario] = c
		retries += r.retried
	}
	var names []string
	for s := range byScenario {
		names = append(names, string(s))
	}
	sort.Strings(names)
	fmt.Printf("chaos: seed %d, %d builds, %d as expected, %d not; %d retries announced\n", seed, len(results), len(results)-failed, failed, retries)
	for _, n := range names {
		c := byScenario[scenario(n)]
		fmt.Printf("chaos:   %-12s %4d builds, %4d as expected\n", n, c[0], c[1])
	}
	fmt.Printf("chaos: before gc: %s\n", before)
	fmt.Printf("chaos: gc: %s", lastLine(string(gcOut)))
	fmt.Printf("chaos: after gc: %s\n", after)
	fmt.Printf("chaos: secrets scan: %d pieces scanned, %d findings\n", b.scan.Scanned(), len(b.scan.Findings()))
	if before.containers == 0 || before.tempEntries == 0 || before.partials == 0 {
		t.Errorf("the last SIGKILLed build left nothing for gc (%s): the round proves nothing about gc", before)
	}
	if len(results) < builds {
		t.Errorf("only %d of %d builds ran before the round's deadline", len(results), builds)
	}
	if !after.zero() {
		t.Errorf("left after gc: %s", after)
	}
	b.checkCache()
	for _, f := range b.scan.Findings() {
		t.Errorf("secret leaked: %s", f)
	}
}

func newBed(t *testing.T, cli *client.Client, seed uint64) *bed {
	reg := testbed.NewRegistry(t)
	root := t.TempDir()
	b := &bed{t: t, cli: cli, reg: reg, rng: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)), root: root,
		tmp: filepath.Join(root, "tmp"), scan: testbed.NewSecretScan(reg.Username, reg.Password)}
	for _, d := range []string{b.tmp, filepath.Join(root, "out"), filepath.Join(root, "good"), filepath.Join(root, "wrong")} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	var err error
	if _, err = reg.WriteDockerConfig(filepath.Join(root, "good")); err != nil {
		t.Fatal(err)
	}
	b.goodCfg = filepath.Join(root, "good")
	// The right registry, the wrong password.
	wrong, err := testbed.StartRegistry(reg.Username, "not-the-password")
	if err != nil {
		t.Fatal(err)
	}
	wrong.Close()
	wrong.Addr = reg.Addr
	if _, err = wrong.WriteDockerConfig(filepath.Join(root, "wrong")); err != nil {
		t.Fatal(err)
	}
	b.wrongCfg = filepath.Join(root, "wrong")
	base, err := reg.PushBase(context.Background(), "chaos/base:1", map[string]string{"bin/sh": "#!"}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	// The first RUN differs per build (see context), so the slow RUN is
	// never a cache hit and runs while the build is broken.
	b.slowDockerfile = "FROM " + base + "\nRUN echo build-%d\nRUN sleep 2\nCOPY a.txt /\n"
	b.cacheVolume = "kanikorun-chaos-cache-" + strings.ToLower(testbed.RandomPassword()[:10])
	t.Cleanup(func() {
		b.removeOurs()
		_ = testbed.RemoveVolume(context.Background(), cli, b.cacheVolume)
	})
	return b
}

func (b *bed) context(name, dockerfile string) string {
	dir := filepath.Join(b.root, name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		b.t.Fatal(err)
	}
	for f, c := range map[string]string{"Dockerfile": dockerfile, "a.txt": "A\n"} {
		if err := os.WriteFile(filepath.Join(dir, f), []byte(c), 0o644); err != nil {
			b.t.Fatal(err)
		}
	}
	return dir
}

func (b *bed) env(cfg string) []string {
	env := []string{"TMPDIR=" + b.tmp, "DOCKER_CONFIG=" + cfg, "KANIKORUN_EXECUTOR_FLAVOR=upstream", "KANIKORUN_CACHE_VOLUME=" + b.cacheVolume}
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		switch k {
		case "TMPDIR", "DOCKER_CONFIG", "KANIKORUN_EXECUTOR_IMAGE", "KANIKORUN_EXECUTOR_FLAVOR", "KANIKORUN_CACHE_VOLUME":
			continue
		}
		env = append(env, kv)
	}
	return env
}

// build runs build number i broken as s says, and judges the outcome.
func (b *bed) build(i int, s scenario) outcome {
	b.reg.Fail(0, 0)
	defer b.reg.Fail(0, 0)
	o := outcome{scenario: s}
	cfg := b.goodCfg
	var ctxDir string
	// The cache is on, as by default: a kill while kanikorun warms it or
	// the executor writes it must not leave it broken.
	args := []string{"build", "--executor-image", executorImage, "--executor-pull", "never", "--retries", "2", "--retry-delay", "20ms"}
	switch s {
	case ok, flaky503, flakyReset, refused, exhausted:
		// A context of its own: its containers carry its path.
		ctxDir = b.context(fmt.Sprintf("build-%d", i), fastDockerfile)
		args = append(args, ctxDir, "-t", b.reg.Ref(fmt.Sprintf("chaos/app:%d", i)))
	default:
		ctxDir = b.context(fmt.Sprintf("build-%d", i), fmt.Sprintf(b.slowDockerfile, i))
		// A tarball too, so a kill can leave a partial one for gc.
		args = append(args, ctxDir, "--no-push", "--tar", filepath.Join(b.root, "out", fmt.Sprintf("image-%d.tar", i)))
	}
	switch s {
	case flaky503:
		b.reg.Fail(1+b.rng.IntN(2), []testbed.Fault{testbed.FaultUnavailable, testbed.FaultBare503, testbed.FaultTooManyRequests}[b.rng.IntN(3)])
	case flakyReset:
		b.reg.Fail(1+b.rng.IntN(2), testbed.FaultReset)
	case refused:
		cfg = b.wrongCfg
	case exhausted:
		b.reg.Fail(1000, testbed.FaultUnavailable)
	}
	cmd := exec.Command(binary, args...)
	cmd.Env = b.env(cfg)
	var stdout strings.Builder
	cmd.Stdout = &stdout
	pipe, err := cmd.StderrPipe()
	if err != nil {
		b.t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		b.t.Fatal(err)
	}
	lines := make(chan string, 1024)
	var stderr strings.Builder
	go func() {
		sc := bufio.NewScanner(pipe)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	collect := func(until string, limit time.Duration) bool {
		timer := time.NewTimer(limit)
		defer timer.Stop()
		for {
			select {
			case l, more := <-lines:
				if !more {
					return false
				}
				stderr.WriteString(l + "\n")
				if until != "" && strings.Contains(l, until) {
					return true
				}
			case <-timer.C:
				return false
			}
		}
	}
	switch s {
	case lastKill:
		if collect("RUN sleep 2", 20*time.Second) {
			_ = cmd.Process.Signal(syscall.SIGKILL)
		}
	case sigint, sigterm, sigkill:
		// A random moment: before the container exists, while it is
		// being made, or while the executor runs.
		collect("", time.Duration(20+b.rng.IntN(1500))*time.Millisecond)
		sig := map[scenario]syscall.Signal{sigint: syscall.SIGINT, sigterm: syscall.SIGTERM, sigkill: syscall.SIGKILL}[s]
		_ = cmd.Process.Signal(sig)
	case crash:
		if collect("RUN sleep 2", 20*time.Second) {
			b.killExecutor(ctxDir)
		}
	}
	collect("", 60*time.Second)
	if err := cmd.Wait(); err != nil && cmd.ProcessState == nil {
		b.t.Fatal(err)
	}
	o.code = cmd.ProcessState.ExitCode()
	o.stderr = stderr.String()
	b.scan.Scan(fmt.Sprintf("build %d (%s) stdout", i, s), []byte(stdout.String()))
	b.scan.Scan(fmt.Sprintf("build %d (%s) stderr", i, s), []byte(o.stderr))
	o.retried = strings.Count(o.stderr, "kanikorun: attempt ")
	o.problem = b.judge(i, s, o, ctxDir)
	if s == sigkill {
		// The executor of a killed kanikorun runs on, pulling from the
		// registry: let it finish before the next build's faults are set.
		b.waitNotRunning(ctxDir, 20*time.Second)
	}
	return o
}

// waitNotRunning waits, at most limit, until no container of ctxDir runs.
func (b *bed) waitNotRunning(ctxDir string, limit time.Duration) {
	for end := time.Now().Add(limit); time.Now().Before(end); time.Sleep(100 * time.Millisecond) {
		list, err := b.cli.ContainerList(context.Background(), container.ListOptions{Filters: filters.NewArgs(
			filters.Arg("label", spec.ContextLabel+"="+ctxDir), filters.Arg("status", "running"))})
		if err != nil || len(list) == 0 {
			return
		}
	}
}

// judge says what is wrong with a build's outcome, "" when nothing is.
func (b *bed) judge(i int, s scenario, o outcome, ctxDir string) string {
	want := map[scenario][]int{
		ok: {0}, flaky503: {0}, flakyReset: {0}, refused: {1}, exhausted: {1},
		// Killed before its handler is set up, the process dies of the
		// signal itself (-1); either way nothing may be left.
		sigint: {130, -1}, sigterm: {130, -1}, sigkill: {-1}, lastKill: {-1}, crash: {137},
	}[s]
	if !contains(want, o.code) {
		return fmt.Sprintf("exit %d, want one of %v", o.code, want)
	}
	switch s {
	case ok, flaky503, flakyReset:
		if _, err := b.reg.Image(b.reg.Ref(fmt.Sprintf("chaos/app:%d", i))); err != nil {
			return "not pushed: " + err.Error()
		}
	case refused:
		if o.retried != 0 {
			return "a refused login was retried"
		}
	case exhausted:
		if o.retried != 2 {
			return fmt.Sprintf("%d retries announced, want 2", o.retried)
		}
	case crash:
		if !strings.Contains(o.stderr, "killed from outside") {
			return "the kill was not reported"
		}
	}
	if s == flaky503 || s == flakyReset {
		// Go's HTTP client retries a reset request on its own at times;
		// otherwise kanikorun must have.
		if s == flaky503 && o.retried == 0 {
			return "no retry announced"
		}
	}
	if s != sigkill && s != lastKill {
		if n := b.settledContainersOf(ctxDir); n != 0 {
			return fmt.Sprintf("%d containers left by a build that was not SIGKILLed", n)
		}
	}
	return ""
}

func contains(list []int, v int) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

// killExecutor kills the slow build's container from outside, as a crash.
func (b *bed) killExecutor(ctxDir string) {
	ctx := context.Background()
	list, err := b.cli.ContainerList(ctx, container.ListOptions{All: true, Filters: filters.NewArgs(filters.Arg("label", spec.ContextLabel+"="+ctxDir))})
	if err != nil {
		b.t.Fatal(err)
	}
	for _, c := range list {
		if info, err := b.cli.ContainerInspect(ctx, c.ID); err == nil {
			raw, _ := json.Marshal(info)
			b.scan.Scan("inspect of "+c.ID[:12], raw)
		}
		_ = b.cli.ContainerKill(ctx, c.ID, "KILL")
	}
}

// containersOf counts the containers of one build's context, or of every
// build of the round for "".
func (b *bed) containersOf(ctxDir string) int {
	return len(b.ours(ctxDir))
}

// settledContainersOf is containersOf once the daemon has finished the
// removals it was making: a build returns at its container's exit, and
// AutoRemove takes the container away a moment later.
func (b *bed) settledContainersOf(ctxDir string) int {
	if ids := b.ours(ctxDir); len(ids) > 0 {
		testbed.AwaitRemoval(context.Background(), b.cli, ids)
	}
	return len(b.ours(ctxDir))
}

func (b *bed) ours(ctxDir string) []string {
	f := filters.NewArgs(filters.Arg("label", spec.ContextLabel))
	if ctxDir != "" {
		f = filters.NewArgs(filters.Arg("label", spec.ContextLabel+"="+ctxDir))
	}
	list, err := b.cli.ContainerList(context.Background(), container.ListOptions{All: true, Filters: f})
	if err != nil {
		b.t.Fatal(err)
	}
	var ids []string
	for _, c := range list {
		if strings.HasPrefix(c.Labels[spec.ContextLabel], b.root+string(filepath.Separator)) {
			ids = append(ids, c.ID)
		}
	}
	return ids
}

// left is what a round left behind.
type left struct {
	containers, volumes, tempEntries, partials int
}

func (l left) zero() bool { return l == left{} }

func (l left) String() string {
	return fmt.Sprintf("%d containers, %d volumes, %d temp entries, %d partial tarballs", l.containers, l.volumes, l.tempEntries, l.partials)
}

func (b *bed) leftovers(settle bool) left {
	l := left{containers: b.containersOf("")}
	if settle {
		l.containers = b.settledContainersOf("")
	}
	vols, err := b.cli.VolumeList(context.Background(), volume.ListOptions{Filters: filters.NewArgs(filters.Arg("label", spec.ManagedLabel+"=true"))})
	if err != nil {
		b.t.Fatal(err)
	}
	for _, v := range vols.Volumes {
		if strings.HasPrefix(v.Labels["io.kanikorun.run"], b.tmp+string(filepath.Separator)) {
			l.volumes++
		}
	}
	entries, _ := os.ReadDir(b.tmp)
	l.tempEntries = len(entries)
	outs, _ := os.ReadDir(filepath.Join(b.root, "out"))
	for _, e := range outs {
		if strings.HasSuffix(e.Name(), ".partial") {
			l.partials++
		}
	}
	return l
}

// removeOurs removes whatever this round's builds left, so a failed
// round does not leave the daemon dirty.
func (b *bed) removeOurs() {
	for _, id := range b.ours("") {
		_ = b.cli.ContainerRemove(context.Background(), id, container.RemoveOptions{Force: true})
	}
}

// checkCache proves the round's cache volume intact: it exists, kanikorun
// cache ls reads every entry, and a build on it succeeds from the cache.
func (b *bed) checkCache() {
	b.t.Helper()
	if !volumeExists(b.t, b.cli, b.cacheVolume) {
		b.t.Errorf("the cache volume %s is gone", b.cacheVolume)
		return
	}
	ls := exec.Command(binary, "cache", "ls", "--executor-image", executorImage, "--executor-pull", "never")
	ls.Env = b.env(b.goodCfg)
	if out, err := ls.CombinedOutput(); err != nil {
		b.t.Errorf("kanikorun cache ls after the round: %v\n%s", err, out)
	}
	ctxDir := b.context("after-the-round", fmt.Sprintf(b.slowDockerfile, 0))
	for attempt := 0; attempt < 2; attempt++ {
		cmd := exec.Command(binary, "build", "--executor-image", executorImage, "--executor-pull", "never", "--no-push", ctxDir)
		cmd.Env = b.env(b.goodCfg)
		out, err := cmd.CombinedOutput()
		if err != nil {
			b.t.Errorf("a build on the cache after the round failed: %v\n%s", err, tail(string(out), 12))
			return
		}
		b.scan.Scan("cache check", out)
	}
}

func volumeExists(t *testing.T, cli *client.Client, name string) bool {
	_, err := cli.VolumeInspect(context.Background(), name)
	return err == nil
}

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return lines[len(lines)-1] + "\n"
}
