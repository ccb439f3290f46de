package main

import (
	"bytes"
	"context"
	"io"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"

	"github.com/kanikorun/kanikorun/internal/spec"
	"github.com/kanikorun/kanikorun/internal/testbed"
)

// removeByContext removes, when the test ends, every container built from
// ctxDir: what the daemon still runs after kanikorun lost it.
func removeByContext(t *testing.T, ctxDir string) {
	t.Helper()
	cli := testbed.RequireDocker(t)
	t.Cleanup(func() {
		ids, _ := testbed.Containers(context.Background(), cli, map[string]string{spec.ContextLabel: ctxDir})
		for _, id := range ids {
			_ = cli.ContainerRemove(context.Background(), id, container.RemoveOptions{Force: true})
		}
	})
}

// sleepingBuild is a context whose build runs `sleep 30` after its first
// step, and the marker line the executor logs when it gets there.
func sleepingBuild(t *testing.T) (ctxDir, marker string) {
	t.Helper()
	base := baseImage(t)
	return buildContext(t, map[string]string{"Dockerfile": "FROM " + base + "\nRUN sleep 30\n"}), "RUN sleep 30"
}

// The daemon going away mid-build (its socket cut) ends the build at once
// with one line and exit 125; nothing hangs.
func TestDaemonGoneMidBuild(t *testing.T) {
	testbed.RequireDocker(t)
	// Its socket lives outside the TMPDIR whose leftovers are counted.
	proxy := testbed.NewDaemonProxy(t)
	tmp := isolate(t)
	ctxDir, marker := sleepingBuild(t)
	removeByContext(t, ctxDir)
	t.Setenv("DOCKER_HOST", proxy.Host)
	cmd, _, rest := startUntil(t, marker, "build", ctxDir, "--no-push", "--executor-image", executorImage, "--executor-pull", "never", "--docker-config", registryConfig(t))
	proxy.Cut()
	cut := time.Now()
	var after bytes.Buffer
	_, _ = io.Copy(&after, rest)
	err := cmd.Wait()
	took := time.Since(cut)
	code := cmd.ProcessState.ExitCode()
	if code != exitTool {
		t.Errorf("exit code %d (%v), want %d; stderr after the cut:\n%s", code, err, exitTool, after.String())
	}
	lines := strings.Split(strings.TrimSpace(after.String()), "\n")
	var ours []string
	for _, l := range lines {
		if strings.HasPrefix(l, "kanikorun:") {
			ours = append(ours, l)
		}
	}
	if len(ours) != 1 || !strings.Contains(ours[0], "Docker daemon") {
		t.Errorf("want one kanikorun line about the daemon after the cut, got:\n%s", after.String())
	}
	// No timing assertion beyond "not a hang": the executor sleeps 30s.
	if took > 25*time.Second {
		t.Errorf("kanikorun took %s after the daemon went away", took)
	}
	t.Logf("ended %s after the cut: %s", took.Round(10*time.Millisecond), strings.Join(ours, " | "))
	// kanikorun's own files went with it.
	if entries, _ := os.ReadDir(tmp); len(entries) != 0 {
		t.Errorf("left in TMPDIR: %v", entries)
	}
}

// A container removed by someone else mid-build (docker rm -f) is
// reported, and the build ends: it is not waited on forever.
func TestContainerRemovedBySomeoneElse(t *testing.T) {
	tmp := isolate(t)
	cli := testbed.RequireDocker(t)
	ctxDir, marker := sleepingBuild(t)
	removeByContext(t, ctxDir)
	cmd, _, rest := startUntil(t, marker, "build", ctxDir, "--no-push", "--executor-image", executorImage, "--executor-pull", "never", "--docker-config", registryConfig(t))
	ids, err := testbed.Containers(context.Background(), cli, map[string]string{spec.ContextLabel: ctxDir})
	if err != nil || len(ids) != 1 {
		t.Fatalf("containers of the build: %v, %v", ids, err)
	}
	if err := cli.ContainerRemove(context.Background(), ids[0], container.RemoveOptions{Force: true}); err != nil {
		t.Fatal(err)
	}
	var after bytes.Buffer
	_, _ = io.Copy(&after, rest)
	_ = cmd.Wait()
	code := cmd.ProcessState.ExitCode()
	if code == 0 || !strings.Contains(after.String(), "kanikorun: the executor container was killed from outside") {
		t.Errorf("exit %d; want a failure that says the container was killed; stderr after the removal:\n%s", code, after.String())
	}
	assertNothingLeft(t, ctxDir, tmp)
}
