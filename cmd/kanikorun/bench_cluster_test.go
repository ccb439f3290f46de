package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kanikorun/kanikorun/internal/testbed/benchstat"
	"github.com/kanikorun/kanikorun/internal/testbed/kubenode"
)

// TestClusterBench measures the cluster backend on the test node (`make
// bench-cluster`): submit as a process until the Job exists, submit --wait
// against kubectl apply + kubectl wait of the same Job, the executor's
// first log line reaching our stderr, and the upload of a 100 MB context.
// It runs only with KANIKORUN_BENCH_CLUSTER=1.
func TestClusterBench(t *testing.T) {
	if os.Getenv("KANIKORUN_BENCH_CLUSTER") == "" {
		t.Skip("set KANIKORUN_BENCH_CLUSTER=1 (make bench-cluster)")
	}
	n := requireCluster(t)
	ns := clusterNamespace(t, n)
	bin := kanikorunBinary(t)
	binDir, _ := kubenode.BinDir()
	kubectl := filepath.Join(binDir, "kubectl")
	runs := 5
	if v, err := strconv.Atoi(os.Getenv("BENCH_RUNS")); err == nil && v > 0 {
		runs = v
	}
	ctxDir := buildContext(t, map[string]string{"Dockerfile": "FROM " + clusterBase + "\nCOPY a.txt /a.txt\n", "a.txt": "bench\n"})
	dest := clusterRegistry.Ref("bench/app:1")
	common := []string{"-n", ns, "--executor-image", clusterExecutor, "--overrides", hostNetwork, "-t", dest, "--backoff-limit", "0"}
	timeCmd := func(name string, args ...string) time.Duration {
		t.Helper()
		start := time.Now()
		cmd := exec.Command(name, args...)
		cmd.Env = os.Environ()
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("%s %q: %v\n%s", name, args, err, out)
		}
		return time.Since(start)
	}

	var submitOnly, submitWait, kubectlWait []time.Duration
	for i := 0; i < runs; i++ {
		submitOnly = append(submitOnly, timeCmd(bin, append(append([]string{"submit", "--name", fmt.Sprintf("bs-%d", i)}, common...), ctxDir)...))

		submitWait = append(submitWait, timeCmd(bin, append(append([]string{"submit", "--wait", "--name", fmt.Sprintf("bw-%d", i)}, common...), ctxDir)...))

		manifest := filepath.Join(t.TempDir(), "job.yaml")
		out, err := exec.Command(bin, append(append([]string{"job", "--upload", "--name", fmt.Sprintf("bk-%d", i)}, common...), ctxDir)...).Output()
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(manifest, out, 0o644); err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		timeCmd(kubectl, "apply", "-n", ns, "-f", manifest)
		timeCmd(kubectl, "wait", "-n", ns, "--for=condition=Complete", "--timeout=120s", "job/"+fmt.Sprintf("bk-%d", i))
		kubectlWait = append(kubectlWait, time.Since(start))
	}
	ms, mw, mk := median(submitOnly), median(submitWait), median(kubectlWait)
	t.Logf("submit until the Job exists: median %s (%v)", ms, submitOnly)
	t.Logf("submit --wait: median %s; kubectl apply + kubectl wait: median %s; ratio %.2f (target 1.0)", mw, mk, float64(mw)/float64(mk))

	// First log line: the container runtime stamps each line as the
	// executor writes it (the pod's log file); we stamp it as it reaches
	// our stderr.
	var firstLine []time.Duration
	for i := 0; i < runs; i++ {
		name := fmt.Sprintf("bl-%d", i)
		cmd := exec.Command(bin, append(append([]string{"submit", "--wait", "--name", name}, common...), ctxDir)...)
		stderr, _ := cmd.StderrPipe()
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		var seen time.Time
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			if seen.IsZero() && strings.Contains(sc.Text(), "kanikorun-standin argv") {
				seen = time.Now()
			}
		}
		if err := cmd.Wait(); err != nil {
			t.Fatal(err)
		}
		written := firstLogStamp(t, n, ns, name)
		firstLine = append(firstLine, seen.Sub(written))
	}
	t.Logf("executor's first log line to our stderr: median %s (%v; target under 1 s)", median(firstLine), firstLine)

	// Upload of a 100 MB context (incompressible: streamed to stdin).
	big := buildContext(t, map[string]string{"Dockerfile": "FROM " + clusterBase + "\nCOPY big.bin /big.bin\n"})
	data := make([]byte, 100<<20)
	_, _ = rand.Read(data)
	if err := os.WriteFile(filepath.Join(big, "big.bin"), data, 0o644); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	out, err := exec.Command(bin, append(append([]string{"submit", "--wait", "--name", "bu-100m"}, common...), big)...).CombinedOutput()
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	whole := time.Since(start)
	sent := regexp.MustCompile(`context: sent .*`).FindString(string(out))
	t.Logf("100 MB context: %s; whole submit --wait %s", sent, whole.Round(time.Millisecond))
}

// firstLogStamp is the runtime's timestamp of the first line the pod's
// executor wrote (CRI log format: RFC3339Nano first).
func firstLogStamp(t *testing.T, n *kubenode.Node, ns, job string) time.Time {
	t.Helper()
	pods, err := n.Client.CoreV1().Pods(ns).List(context.Background(), metav1.ListOptions{LabelSelector: "batch.kubernetes.io/job-name=" + job})
	if err != nil || len(pods.Items) != 1 {
		t.Fatalf("pods of %s: %v", job, err)
	}
	p := pods.Items[0]
	path := filepath.Join(n.Dir, "pod-logs", fmt.Sprintf("%s_%s_%s", ns, p.Name, p.UID), "kaniko", "0.log")
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	if !sc.Scan() {
		t.Fatalf("%s is empty", path)
	}
	ts, err := time.Parse(time.RFC3339Nano, strings.Fields(sc.Text())[0])
	if err != nil {
		t.Fatal(err)
	}
	return ts
}

func median(ds []time.Duration) time.Duration {
	return benchstat.Median(ds).Round(time.Millisecond)
}
