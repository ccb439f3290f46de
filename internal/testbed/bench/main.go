// Command bench measures the wall time of `kanikorun build` against
// `docker run --rm` of the same stand-in executor image with the same
// arguments and mounts (the line `kanikorun build --dry-run` prints), over
// several alternating runs, and prints the medians and their ratio.
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
	"sort"
	"strings"
	"time"

	"github.com/kanikorun/kanikorun/internal/testbed"
)

func main() {
	runs := flag.Int("runs", 9, "measured runs of each command")
	warmup := flag.Int("warmup", 2, "unmeasured runs of each command first")
	network := flag.String("network", "bridge", "network mode for both commands")
	flag.Parse()
	if err := bench(*runs, *warmup, *network); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

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
	bin := filepath.Join(work, "kanikorun")
	if out, err := exec.Command("go", "build", "-o", bin, "./cmd/kanikorun").CombinedOutput(); err != nil {
		return fmt.Errorf("go build: %v\n%s", err, out)
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
	env := append(os.Environ(), "DOCKER_CONFIG="+cfgDir)
	krArgs := []string{"build", "--no-push", "--no-lint", "--executor-image", img, "--pull", "never", "--network", network, ctxDir}

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
	dockerLine := strings.TrimSpace(string(line))

	runKR := func() (time.Duration, error) { return timed(exec.Command(bin, krArgs...), env) }
	runDocker := func() (time.Duration, error) { return timed(exec.Command("sh", "-c", dockerLine), dockerEnv) }
	for i := 0; i < warmup; i++ {
		if _, err := runKR(); err != nil {
			return fmt.Errorf("kanikorun build: %w", err)
		}
		if _, err := runDocker(); err != nil {
			return fmt.Errorf("docker run: %w", err)
		}
	}
	var kr, dk []time.Duration
	for i := 0; i < runs; i++ {
		// Alternate, so drift in the machine's load hits both sides.
		d, err := runKR()
		if err != nil {
			return fmt.Errorf("kanikorun build: %w", err)
		}
		kr = append(kr, d)
		if d, err = runDocker(); err != nil {
			return fmt.Errorf("docker run: %w", err)
		}
		dk = append(dk, d)
	}
	mk, md := median(kr), median(dk)
	fmt.Printf("docker run line: %s\n", dockerLine)
	fmt.Printf("runs: %d each (after %d warm-up), network %s\n", runs, warmup, network)
	fmt.Printf("kanikorun build  median %7.1f ms  (min %.1f, max %.1f)\n", ms(mk), ms(minOf(kr)), ms(maxOf(kr)))
	fmt.Printf("docker run --rm  median %7.1f ms  (min %.1f, max %.1f)\n", ms(md), ms(minOf(dk)), ms(maxOf(dk)))
	fmt.Printf("ratio kanikorun/docker: %.2f (target <= 0.90)\n", float64(mk)/float64(md))
	return nil
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

func median(ds []time.Duration) time.Duration {
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func minOf(ds []time.Duration) time.Duration {
	m := ds[0]
	for _, d := range ds {
		m = min(m, d)
	}
	return m
}

func maxOf(ds []time.Duration) time.Duration {
	m := ds[0]
	for _, d := range ds {
		m = max(m, d)
	}
	return m
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
