// Command benchcache measures the local loop of issue 17 with the stand-in
// executor, each figure a ratio within one run of the command:
//
//   - a warm rebuild of an unchanged Dockerfile with a `RUN sleep 5`
//     against the cold build (median of several warm runs), and the base
//     image's blob requests on the warm rebuild;
//
//   - a rebuild after editing the file only the last COPY uses;
//
//   - a --no-cache rebuild;
//
//   - the context tar+gzip throughput of stream mode;
//
//   - bind mode with a 1 GB context against a 1 MB one;
//
//   - kanikorun's peak RSS while the executor writes 100 MB of logs;
//
//   - kanikorun build against `docker run --rm` of its --dry-run line, on
//     the same network mode (bridge, none, host), and both against
//     floorrun, the same API calls from a program that does nothing else.
//
//     go run ./internal/testbed/benchcache -runs 5
package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/docker/docker/client"

	"github.com/kanikorun/kanikorun/internal/ctxtar"
	"github.com/kanikorun/kanikorun/internal/spec"
	"github.com/kanikorun/kanikorun/internal/testbed"
	"github.com/kanikorun/kanikorun/internal/testbed/benchstat"
)

func main() {
	runs := flag.Int("runs", 5, "measured runs of each warm or overhead command")
	sleep := flag.Int("sleep", 5, "seconds of the RUN step")
	flag.StringVar(&only, "only", "", "run one part only: cache, stream, logs or overhead")
	flag.Parse()
	if err := bench(*runs, *sleep); err != nil {
		fmt.Fprintln(os.Stderr, "bench-cache:", err)
		os.Exit(1)
	}
}

var only string

type env struct {
	bin, img string
	env      []string
	reg      *testbed.Registry
	cli      *client.Client
}

func (e *env) build(args ...string) (time.Duration, string, error) {
	cmd := exec.Command(e.bin, append([]string{"build", "--executor-image", e.img, "--executor-pull", "never"}, args...)...)
	cmd.Env = e.env
	d, out, err := runTimed(cmd)
	if err != nil {
		return d, out, fmt.Errorf("kanikorun build %q: %v\n%s", args, err, out)
	}
	return d, out, nil
}

// runTimed runs cmd to its end and times it; its stdout is dropped, its
// stderr returned.
func runTimed(cmd *exec.Cmd) (time.Duration, string, error) {
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = io.Discard, &out
	start := time.Now()
	err := cmd.Run()
	return time.Since(start), out.String(), err
}

func (e *env) blobGets(skip int, repo string) int {
	n := 0
	for _, r := range e.reg.Requests()[skip:] {
		if r.Method == "GET" && strings.HasPrefix(r.Path, "/v2/"+repo+"/blobs/") {
			n++
		}
	}
	return n
}

func bench(runs, sleep int) error {
	ctx := context.Background()
	cli, err := testbed.Docker(ctx)
	if err != nil {
		return err
	}
	defer cli.Close()
	img, err := testbed.StandInImage(ctx, cli)
	if err != nil {
		return err
	}
	reg, err := testbed.StartRegistry("", "")
	if err != nil {
		return err
	}
	defer reg.Close()
	work, err := os.MkdirTemp("", "kanikorun-bench-cache-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	bin, err := benchstat.BuildKanikorun(work, "urfave_cli_no_docs")
	if err != nil {
		return err
	}
	vol := "kanikorun-bench-cache-" + testbed.RandomPassword()[:8]
	defer testbed.RemoveVolumes(ctx, cli, vol)
	cfgDir := filepath.Join(work, "docker")
	_ = os.MkdirAll(cfgDir, 0o700)
	e := &env{cli: cli, bin: bin, img: img, reg: reg, env: append(os.Environ(), "DOCKER_CONFIG="+cfgDir, "KANIKORUN_CACHE_VOLUME="+vol)}

	// A base image of some weight: 8 MB that does not compress.
	noise := make([]byte, 8<<20)
	_, _ = rand.Read(noise)
	repo := "bench/base"
	base, err := reg.PushBase(ctx, repo, map[string]string{"bin/sh": "#!", "opt/blob.bin": string(noise)}, nil, nil)
	if err != nil {
		return err
	}
	ctxDir := filepath.Join(work, "app")
	write := func(name, content string) error {
		return os.WriteFile(filepath.Join(ctxDir, name), []byte(content), 0o644)
	}
	_ = os.MkdirAll(ctxDir, 0o755)
	if err := write("Dockerfile", fmt.Sprintf("FROM %s\nCOPY first.txt /first.txt\nRUN sleep %d\nCOPY last.txt /last.txt\n", base, sleep)); err != nil {
		return err
	}
	_ = write("first.txt", "first\n")
	_ = write("last.txt", "v0\n")

	switch only {
	case "logs":
		return benchLogs(e, ctx, work)
	case "overhead":
		return benchOverhead(e, work, runs)
	case "stream":
		return benchStream(e, work, runs)
	}
	fmt.Printf("== cache (RUN sleep %d, 8 MB base image, stand-in executor, volume %s)\n", sleep, vol)
	skip := len(reg.Requests())
	cold, _, err := e.build(ctxDir)
	if err != nil {
		return err
	}
	coldBlobs := e.blobGets(skip, repo)
	var warm, edited, off []time.Duration
	warmBlobs := 0
	for i := range runs {
		skip = len(reg.Requests())
		d, _, err := e.build(ctxDir)
		if err != nil {
			return err
		}
		warm, warmBlobs = append(warm, d), warmBlobs+e.blobGets(skip, repo)
		_ = write("last.txt", fmt.Sprintf("v%d\n", i+1))
		if d, _, err = e.build(ctxDir); err != nil {
			return err
		}
		edited = append(edited, d)
	}
	for range max(1, runs/2) {
		d, _, err := e.build("--no-cache", ctxDir)
		if err != nil {
			return err
		}
		off = append(off, d)
	}
	fmt.Printf("cold build                 %8.0f ms (base blob GETs: %d)\n", benchstat.MS(cold), coldBlobs)
	fmt.Printf("warm rebuild, median of %d %8.0f ms (base blob GETs in all: %d)  warm/cold %.3f (target <= 0.05)\n", len(warm), benchstat.MS(benchstat.Median(warm)), warmBlobs, benchstat.Ratio(benchstat.Median(warm), cold))
	fmt.Printf("last COPY's file edited    %8.0f ms  /cold %.3f (target <= 0.15)\n", benchstat.MS(benchstat.Median(edited)), benchstat.Ratio(benchstat.Median(edited), cold))
	fmt.Printf("--no-cache, median of %d   %8.0f ms  /cold %.3f (target about 1.0)\n", len(off), benchstat.MS(benchstat.Median(off)), benchstat.Ratio(benchstat.Median(off), cold))

	if only == "cache" {
		return nil
	}
	if err := benchStream(e, work, runs); err != nil {
		return err
	}
	if err := benchBind(e, work, runs); err != nil {
		return err
	}
	if err := benchLogs(e, ctx, work); err != nil {
		return err
	}
	return benchOverhead(e, work, runs)
}

// benchStream times the stream-mode context tar+gzip of a source-like
// tree with a .dockerignore, on every core and on one.
func benchStream(e *env, work string, runs int) error {
	dir := filepath.Join(work, "stream")
	text := bytes.Repeat([]byte("func main() { fmt.Println(\"hello, kanikorun\") } // source text\n"), 1000)
	var total int64
	for i := range 1500 {
		p := filepath.Join(dir, "src", fmt.Sprintf("d%02d", i%40), fmt.Sprintf("f%04d.go", i))
		_ = os.MkdirAll(filepath.Dir(p), 0o755)
		noise := make([]byte, 16<<10)
		_, _ = rand.Read(noise)
		data := append(append([]byte(nil), text...), noise...)
		if err := os.WriteFile(p, data, 0o644); err != nil {
			return err
		}
		total += int64(len(data))
	}
	_ = os.MkdirAll(filepath.Join(dir, "node_modules"), 0o755)
	_ = os.WriteFile(filepath.Join(dir, "node_modules", "big.bin"), make([]byte, 64<<20), 0o644)
	_ = os.WriteFile(filepath.Join(dir, ".dockerignore"), []byte("node_modules\n*.log\n"), 0o644)
	fmt.Printf("== stream mode: context tar+gzip, %d files, %.0f MB sent, 64 MB excluded by .dockerignore\n", 1500, float64(total)/1e6)
	for _, procs := range []int{0, 1} {
		var ds []time.Duration
		for range 5 {
			cw := &countWriter{}
			start := time.Now()
			if _, err := writeWithProcs(cw, dir, procs); err != nil {
				return err
			}
			ds = append(ds, time.Since(start))
		}
		what := "every core"
		if procs == 1 {
			what = "one core"
		}
		fmt.Printf("gzip level 1 on %-10s  %6.0f MB/s (median of 5)\n", what, float64(total)/1e6/benchstat.Median(ds).Seconds())
	}
	return benchUpload(e, work, dir, total, runs)
}

// benchUpload compares the context's trip to the builder end to end:
// kanikorun build --context-mode stream (tar+gzip on the executor's stdin,
// unpacked there) against docker build's legacy builder (an uncompressed
// tar posted to the daemon, unpacked there), each as the time of the
// context minus that of a context holding only the Dockerfile. The
// Dockerfile only sets a label, so neither build reads the files again.
// (BuildKit would transfer nothing here: it sends only what COPY uses.)
func benchUpload(e *env, work, dir string, total int64, runs int) error {
	if _, err := exec.LookPath("docker"); err != nil {
		fmt.Println("no docker CLI here: no comparison with docker build's context upload")
		return nil
	}
	df := "FROM scratch\nLABEL bench=upload\n"
	tiny := filepath.Join(work, "upload-tiny")
	_ = os.MkdirAll(tiny, 0o755)
	for _, d := range []string{dir, tiny} {
		if err := os.WriteFile(filepath.Join(d, "Dockerfile"), []byte(df), 0o644); err != nil {
			return err
		}
	}
	kr := func(d string) (time.Duration, error) {
		t, _, err := e.build("--context-mode", "stream", "--no-cache", d)
		return t, err
	}
	db := func(d string) (time.Duration, error) {
		cmd := exec.Command("docker", "build", "-q", d)
		cmd.Env = append(e.env, "DOCKER_BUILDKIT=0")
		start := time.Now()
		out, err := cmd.Output()
		t := time.Since(start)
		if err != nil {
			return t, fmt.Errorf("docker build: %v", err)
		}
		_ = exec.Command("docker", "rmi", strings.TrimSpace(string(out))).Run()
		return t, nil
	}
	var kBig, kTiny, dBig, dTiny []time.Duration
	for i := range runs + 1 {
		for _, s := range []struct {
			f   func(string) (time.Duration, error)
			d   string
			out *[]time.Duration
		}{{kr, dir, &kBig}, {kr, tiny, &kTiny}, {db, dir, &dBig}, {db, tiny, &dTiny}} {
			t, err := s.f(s.d)
			if err != nil {
				return err
			}
			if i > 0 {
				*s.out = append(*s.out, t)
			}
		}
	}
	k, d := benchstat.Median(kBig)-benchstat.Median(kTiny), benchstat.Median(dBig)-benchstat.Median(dTiny)
	mb := float64(total) / 1e6
	fmt.Printf("context to the builder, end to end (medians of %d; the context's time minus a Dockerfile-only one's):\n", runs)
	fmt.Printf("  kanikorun --context-mode stream %6.0f ms  %6.0f MB/s\n", benchstat.MS(k), mb/k.Seconds())
	fmt.Printf("  docker build (legacy builder)   %6.0f ms  %6.0f MB/s   kanikorun/docker %.2f\n", benchstat.MS(d), mb/d.Seconds(), benchstat.Ratio(k, d))
	return nil
}

// benchBind: bind mode does not read the context, so a 1 GB one costs
// what a 1 MB one does.
func benchBind(e *env, work string, runs int) error {
	mk := func(name string, size int64) (string, error) {
		dir := filepath.Join(work, name)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return "", err
		}
		_ = os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte("FROM scratch\nCOPY a.txt /a.txt\n"), 0o644)
		_ = os.WriteFile(filepath.Join(dir, "a.txt"), []byte("a\n"), 0o644)
		f, err := os.Create(filepath.Join(dir, "data.bin"))
		if err != nil {
			return "", err
		}
		defer f.Close()
		chunk := make([]byte, 1<<20)
		_, _ = rand.Read(chunk)
		for written := int64(0); written < size; written += int64(len(chunk)) {
			if _, err := f.Write(chunk); err != nil {
				return "", err
			}
		}
		return dir, nil
	}
	small, err := mk("bind-1mb", 1<<20)
	if err != nil {
		return err
	}
	big, err := mk("bind-1gb", 1<<30)
	if err != nil {
		return err
	}
	var s, b []time.Duration
	for i := range runs + 1 {
		ds, _, err := e.build("--context-mode", "bind", small)
		if err != nil {
			return err
		}
		db, _, err := e.build("--context-mode", "bind", big)
		if err != nil {
			return err
		}
		if i > 0 {
			s, b = append(s, ds), append(b, db)
		}
	}
	fmt.Printf("== bind mode: 1 GB context %0.f ms, 1 MB context %.0f ms (medians of %d): ratio %.2f (target <= 1.1)\n", benchstat.MS(benchstat.Median(b)), benchstat.MS(benchstat.Median(s)), runs, benchstat.Ratio(benchstat.Median(b), benchstat.Median(s)))
	return nil
}

// benchLogs measures kanikorun's peak RSS while the executor writes
// 100 MB to stdout (a RUN cat of a 100 MB file).
func benchLogs(e *env, ctx context.Context, work string) error {
	line := strings.Repeat("log line of the executor, written to stdout ", 2) + "\n"
	big := strings.Repeat(line, (100<<20)/len(line)+1)
	base, err := e.reg.PushBase(ctx, "bench/logs", map[string]string{"bin/sh": "#!", "big.txt": big}, nil, nil)
	if err != nil {
		return err
	}
	dir := filepath.Join(work, "logs")
	_ = os.MkdirAll(dir, 0o755)
	_ = os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte("FROM "+base+"\nRUN cat /big.txt\n"), 0o644)
	cmd := exec.Command(e.bin, "build", "--executor-image", e.img, "--executor-pull", "never", "--no-cache", dir)
	if p := os.Getenv("KANIKORUN_BENCH_PPROF"); p != "" {
		cmd.Env = append(cmd.Env, "KANIKORUN_BENCH_PPROF="+p)
	}
	cmd.Env = e.env
	cw := &countWriter{}
	cmd.Stdout, cmd.Stderr = cw, io.Discard
	// wait4's ru_maxrss would count this process's memory too (Go starts
	// children with CLONE_VM), so the peak is read from the child's own
	// /proc/PID/status (VmHWM) while it runs.
	if err := cmd.Start(); err != nil {
		return err
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	var peak int64
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for running := true; running; {
		select {
		case err := <-done:
			if err != nil {
				return fmt.Errorf("logs build: %v", err)
			}
			running = false
		case <-tick.C:
			if b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", cmd.Process.Pid)); err == nil {
				for _, l := range strings.Split(string(b), "\n") {
					if v, ok := strings.CutPrefix(l, "VmHWM:"); ok {
						var kb int64
						fmt.Sscanf(strings.TrimSpace(v), "%d", &kb)
						peak = max(peak, kb)
					}
				}
			}
		}
	}
	fmt.Printf("== logs: %.0f MB of executor output through kanikorun, its peak RSS %.1f MB (VmHWM; target <= 40 MB)\n", float64(cw.n)/1e6, float64(peak)/1024)
	return nil
}

// benchOverhead times kanikorun build against docker run --rm of its own
// --dry-run line (same image, mounts, arguments, cache volume) on each
// network mode, and both against floorrun, the least any client can do:
// the same five API calls from a standard-library program, with the
// create request docker's own create makes of that line.
func benchOverhead(e *env, work string, runs int) error {
	dir := filepath.Join(work, "overhead")
	_ = os.MkdirAll(dir, 0o755)
	_ = os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte("FROM scratch\nCOPY a.txt /a.txt\n"), 0o644)
	_ = os.WriteFile(filepath.Join(dir, "a.txt"), []byte("a\n"), 0o644)
	tmp := filepath.Join(work, "kanikorun-tmp")
	_ = os.MkdirAll(tmp, 0o700)
	_ = os.WriteFile(filepath.Join(tmp, "config.json"), []byte("{}"), 0o600)
	_ = os.WriteFile(filepath.Join(tmp, "termination-log"), nil, 0o666)
	if _, err := exec.LookPath("docker"); err != nil {
		fmt.Println("== overhead: no docker CLI here to compare with")
		return nil
	}
	floor, socket, err := buildFloorrun(work)
	if err != nil {
		return err
	}
	fmt.Printf("== overhead against docker run --rm of the same line (FROM scratch + COPY, medians of %d, interleaved)\n", runs)
	// kanikorun returns at its container's exit; the daemon's removal,
	// which docker run --rm and floorrun wait for, ends before the next
	// command runs, and how long after kanikorun's return it ends is
	// printed.
	td := benchstat.FollowTeardowns(context.Background(), e.cli, spec.ContextLabel+"="+dir, spec.ManagedLabel+"=true")
	defer td.Close()
	for _, network := range []string{"bridge", "none", "host"} {
		args := []string{"--network", network, dir}
		dry := exec.Command(e.bin, append([]string{"build", "--dry-run", "--executor-image", e.img, "--executor-pull", "never"}, args...)...)
		dry.Env = e.env
		out, err := dry.Output()
		if err != nil {
			return fmt.Errorf("--dry-run: %v", err)
		}
		line := strings.TrimSpace(string(out))
		shEnv := append(e.env, "KANIKORUN_TMP="+tmp)
		body := ""
		if floor != "" {
			if body, err = createBody(line, shEnv, filepath.Join(work, "create-"+network+".json")); err != nil {
				return err
			}
		}
		plain := benchstat.PlainLine(line, true)
		var k, d, p, f, g []time.Duration
		for i := range runs + 2 {
			td.Drain()
			dk, _, err := e.build(args...)
			if err != nil {
				return err
			}
			gone, err := td.Next(time.Now(), 10*time.Second)
			if err != nil {
				return fmt.Errorf("kanikorun's container's removal: %v", err)
			}
			dd, err := timed(shEnv, "sh", "-c", line)
			if err != nil {
				return fmt.Errorf("docker run: %v", err)
			}
			dp, err := timed(shEnv, "sh", "-c", plain)
			if err != nil {
				return fmt.Errorf("docker run: %v", err)
			}
			var df time.Duration
			if body != "" {
				if df, err = timed(shEnv, floor, "-socket", socket, body); err != nil {
					return fmt.Errorf("floorrun: %v", err)
				}
			}
			if i >= 2 {
				k, d, p, f, g = append(k, dk), append(d, dd), append(p, dp), append(f, df), append(g, gone)
			}
		}
		mk, md, mp, mf := benchstat.Median(k), benchstat.Median(d), benchstat.Median(p), benchstat.Median(f)
		fmt.Printf("%-7s kanikorun %4.0f ms; docker run --rm of the same line %4.0f ms: ratio %.2f; with docker's defaults but the network %4.0f ms: ratio %.2f (target <= 0.95)",
			network, benchstat.MS(mk), benchstat.MS(md), benchstat.Ratio(mk, md), benchstat.MS(mp), benchstat.Ratio(mk, mp))
		if body != "" {
			fmt.Printf("; floorrun %4.0f ms: floor/same line %.2f, kanikorun/floor %.2f", benchstat.MS(mf), benchstat.Ratio(mf, md), benchstat.Ratio(mk, mf))
		}
		fmt.Printf("; its container removed %.0f ms after kanikorun returned", benchstat.MS(benchstat.Median(g)))
		fmt.Println()
	}
	return nil
}

func timed(env []string, name string, args ...string) (time.Duration, error) {
	cmd := exec.Command(name, args...)
	cmd.Env = env
	d, out, err := runTimed(cmd)
	if err != nil {
		return d, fmt.Errorf("%v\n%s", err, out)
	}
	return d, nil
}

// buildFloorrun builds internal/testbed/floorrun, which speaks to a unix
// socket only: with DOCKER_HOST set to anything else it is left out.
func buildFloorrun(work string) (bin, socket string, err error) {
	socket = "/var/run/docker.sock"
	if h := os.Getenv("DOCKER_HOST"); h != "" {
		if !strings.HasPrefix(h, "unix://") {
			fmt.Println("== overhead: DOCKER_HOST is not a unix socket, so no floorrun figure")
			return "", "", nil
		}
		socket = strings.TrimPrefix(h, "unix://")
	}
	bin = filepath.Join(work, "floorrun")
	if out, err := exec.Command("go", "build", "-o", bin, "./internal/testbed/floorrun").CombinedOutput(); err != nil {
		return "", "", fmt.Errorf("go build floorrun: %v\n%s", err, out)
	}
	return bin, socket, nil
}

// createBody writes the create request of a docker run --rm line: docker's
// own create of it, read back with inspect (Config and HostConfig, without
// the container's hostname), and the container removed.
func createBody(line string, env []string, file string) (string, error) {
	createLine, ok := strings.CutPrefix(line, "docker run ")
	if !ok {
		return "", fmt.Errorf("--dry-run line does not start with docker run: %s", line)
	}
	cmd := exec.Command("sh", "-c", "docker create "+createLine)
	cmd.Env = env
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("docker create: %v", err)
	}
	id := strings.TrimSpace(string(out))
	defer exec.Command("docker", "rm", "-f", id).Run()
	js, err := exec.Command("docker", "container", "inspect", id).Output()
	if err != nil {
		return "", fmt.Errorf("docker inspect: %v", err)
	}
	var inspected []struct {
		Config     map[string]any
		HostConfig map[string]any
	}
	if err := json.Unmarshal(js, &inspected); err != nil || len(inspected) != 1 {
		return "", fmt.Errorf("docker inspect: %v", err)
	}
	req := inspected[0].Config
	delete(req, "Hostname")
	req["HostConfig"] = inspected[0].HostConfig
	b, err := json.Marshal(req)
	if err != nil {
		return "", err
	}
	return file, os.WriteFile(file, b, 0o600)
}

func writeWithProcs(w io.Writer, dir string, procs int) (ctxtar.Stats, error) {
	if procs > 0 {
		prev := setProcs(procs)
		defer setProcs(prev)
	}
	return ctxtar.Write(w, dir, ctxtar.Options{Dockerfile: filepath.Join(dir, "Dockerfile")})
}

type countWriter struct{ n int64 }

func (c *countWriter) Write(p []byte) (int, error) { c.n += int64(len(p)); return len(p), nil }

func setProcs(n int) int { return runtime.GOMAXPROCS(n) }
