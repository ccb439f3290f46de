// Command bench measures the wall time of `kanikorun build` against
// `docker run --rm` of the same stand-in executor image with the same
// executor arguments and mounts, over several alternating runs, and prints
// the medians and their ratio.
//
// Two docker lines are timed. "plain" is what a user types: the mounts,
// image and arguments of the line `kanikorun build --dry-run` prints, with
// docker's defaults for everything else (bridge network, json-file logs).
// "same" is the dry-run line itself, with kanikorun's container options
// (network chosen for the build, no daemon-side log copy), so the
// difference between it and kanikorun is the client's own overhead.
//
//	go run ./internal/testbed/bench -runs 9
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/kanikorun/kanikorun/internal/lint/lintbench"
	"github.com/kanikorun/kanikorun/internal/spec"
	"github.com/kanikorun/kanikorun/internal/testbed"
	"github.com/kanikorun/kanikorun/internal/testbed/benchstat"
)

func main() {
	runs := flag.Int("runs", 9, "measured runs of each command")
	warmup := flag.Int("warmup", 2, "unmeasured runs of each command first")
	network := flag.String("network", "", "pass --network to kanikorun (default: let it choose)")
	flag.IntVar(&lintRuns, "lint-runs", 30, "measured runs of kanikorun lint")
	flag.StringVar(&buildTags, "tags", "", "build tags for kanikorun, as make build uses")
	flag.Parse()
	if err := bench(*runs, *warmup, *network); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

var (
	lintRuns  int
	buildTags string
)

func bench(runs, warmup int, network string) error {
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
	work, err := os.MkdirTemp("", "kanikorun-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	bin, err := benchstat.BuildKanikorun(work, buildTags)
	if err != nil {
		return err
	}
	ctxDir := filepath.Join(work, "context")
	if err := os.MkdirAll(ctxDir, 0o755); err != nil {
		return err
	}
	for name, content := range map[string]string{"Dockerfile": "FROM scratch\nCOPY a.txt /a.txt\n", "a.txt": "bench\n"} {
		if err := os.WriteFile(filepath.Join(ctxDir, name), []byte(content), 0o644); err != nil {
			return err
		}
	}
	// An empty docker config, so neither side resolves credentials.
	cfgDir := filepath.Join(work, "docker")
	if err := os.MkdirAll(cfgDir, 0o700); err != nil {
		return err
	}
	// A cache volume of the bench's own, not the user's kanikorun-cache.
	vol := "kanikorun-bench-" + testbed.RandomPassword()[:8]
	defer testbed.RemoveVolumes(ctx, cli, vol)
	env := append(os.Environ(), "DOCKER_CONFIG="+cfgDir, "KANIKORUN_CACHE_VOLUME="+vol)
	krArgs := []string{"build", "--no-push", "--executor-image", img, "--executor-pull", "never", ctxDir}
	if network != "" {
		krArgs = append(krArgs[:len(krArgs)-1], "--network", network, ctxDir)
	}

	// The docker side runs exactly the line kanikorun prints for --dry-run,
	// with the files kanikorun would generate made by hand.
	dry := exec.Command(bin, append([]string{"build", "--dry-run"}, krArgs[1:]...)...)
	dry.Env = env
	line, err := dry.Output()
	if err != nil {
		return fmt.Errorf("kanikorun --dry-run: %v", err)
	}
	tmp := filepath.Join(work, "kanikorun-tmp")
	if err := os.MkdirAll(tmp, 0o700); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(tmp, "config.json"), []byte("{}"), 0o600); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(tmp, "termination-log"), nil, 0o666); err != nil {
		return err
	}
	dockerEnv := append(env, "KANIKORUN_TMP="+tmp)
	sameLine := strings.TrimSpace(string(line))
	plainLine := benchstat.PlainLine(sameLine, false)

	// kanikorun returns at its container's exit; the daemon's removal of
	// the container, which docker run --rm waits for, must end before the
	// next command runs, and how long after kanikorun's return it ends is
	// printed.
	td := benchstat.FollowTeardowns(ctx, cli, spec.ContextLabel+"="+ctxDir, spec.ManagedLabel+"=true")
	defer td.Close()
	var gone []time.Duration
	cmds := []struct {
		name string
		run  func() (time.Duration, error)
	}{
		{"kanikorun build", func() (time.Duration, error) {
			td.Drain()
			d, err := timed(exec.Command(bin, krArgs...), env)
			if err != nil {
				return d, err
			}
			lag, err := td.Next(time.Now(), 10*time.Second)
			if err != nil {
				return d, fmt.Errorf("its container's removal: %w", err)
			}
			gone = append(gone, lag)
			return d, nil
		}},
		{"docker run --rm (plain)", func() (time.Duration, error) { return timed(exec.Command("sh", "-c", plainLine), dockerEnv) }},
		{"docker run --rm (same)", func() (time.Duration, error) { return timed(exec.Command("sh", "-c", sameLine), dockerEnv) }},
	}
	times := make([][]time.Duration, len(cmds))
	for i := 0; i < warmup+runs; i++ {
		// Interleaved, so drift in the machine's load hits every side.
		for j, c := range cmds {
			d, err := c.run()
			if err != nil {
				return fmt.Errorf("%s: %w", c.name, err)
			}
			if i >= warmup {
				times[j] = append(times[j], d)
			}
		}
	}
	fmt.Printf("plain: %s\nsame:  %s\n", plainLine, sameLine)
	fmt.Printf("runs: %d each, interleaved, after %d warm-up\n", runs, warmup)
	for j, c := range cmds {
		fmt.Printf("%-24s median %7.1f ms  (min %.1f, max %.1f)\n", c.name, benchstat.MS(benchstat.Median(times[j])), benchstat.MS(slices.Min(times[j])), benchstat.MS(slices.Max(times[j])))
	}
	mk := benchstat.Median(times[0])
	fmt.Printf("ratio kanikorun/docker run (plain): %.2f (target <= 0.90)\n", float64(mk)/float64(benchstat.Median(times[1])))
	fmt.Printf("ratio kanikorun/docker run (same container options): %.2f\n", float64(mk)/float64(benchstat.Median(times[2])))
	fmt.Printf("the daemon removed kanikorun's container a median %.1f ms after kanikorun returned (docker run --rm waits for that removal)\n", benchstat.MS(benchstat.Median(gone)))
	return benchLint(bin, work, env, lintRuns)
}

// benchLint times `kanikorun lint` as a whole process, start-up included,
// on the linter benchmark's input (300-line Dockerfile, 10,000-file
// context with a .dockerignore).
func benchLint(bin, work string, env []string, runs int) error {
	dir := filepath.Join(work, "lint-context")
	df, err := lintbench.WriteContext(dir)
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "Dockerfile"), df, 0o644); err != nil {
		return err
	}
	// Interleaved with `--version`, the binary's start-up alone, so a slow
	// machine shows as such.
	var ds, startup []time.Duration
	for i := 0; i < runs+3; i++ {
		d, err := timedRun(bin, env, "lint", dir)
		if err != nil {
			return err
		}
		s, err := timedRun(bin, env, "--version")
		if err != nil {
			return err
		}
		if i >= 3 {
			ds, startup = append(ds, d), append(startup, s)
		}
	}
	fmt.Printf("kanikorun --version (start-up alone) process median %.1f ms (min %.1f) over %d runs\n", benchstat.MS(benchstat.Median(startup)), benchstat.MS(slices.Min(startup)), runs)
	fmt.Printf("kanikorun lint (300-line Dockerfile, 10,000-file context) process median %.1f ms (min %.1f) over %d runs (target < 30 ms)\n", benchstat.MS(benchstat.Median(ds)), benchstat.MS(slices.Min(ds)), runs)
	return nil
}

// timedRun runs the kanikorun binary to completion and times it. Exit 0
// (lint: warnings only) is expected; anything else is a failure.
func timedRun(bin string, env []string, args ...string) (time.Duration, error) {
	cmd := exec.Command(bin, args...)
	cmd.Env = env
	start := time.Now()
	if out, err := cmd.CombinedOutput(); err != nil {
		return 0, fmt.Errorf("kanikorun %s: %v\n%s", args[0], err, out)
	}
	return time.Since(start), nil
}

func timed(cmd *exec.Cmd, env []string) (time.Duration, error) {
	cmd.Env = env
	start := time.Now()
	out, err := cmd.CombinedOutput()
	d := time.Since(start)
	if err != nil {
		return d, fmt.Errorf("%v\n%s", err, out)
	}
	return d, nil
}
