package main

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/volume"
	"github.com/docker/docker/client"

	"github.com/kanikorun/kanikorun/internal/spec"
	"github.com/kanikorun/kanikorun/internal/testbed"
	"github.com/kanikorun/kanikorun/internal/tmpdir"
	"github.com/kanikorun/kanikorun/runner"
)

// createOnly creates, never starts, a container with the given labels
// (and the test's, for the leftover check), and returns its ID.
func createOnly(t *testing.T, cli *client.Client, labels map[string]string) string {
	t.Helper()
	for k, v := range testbed.Labels(t) {
		labels[k] = v
	}
	c, err := cli.ContainerCreate(context.Background(), &container.Config{Image: executorImage, Labels: labels},
		&container.HostConfig{NetworkMode: "none"}, nil, nil, "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cli.ContainerRemove(context.Background(), c.ID, container.RemoveOptions{Force: true})
	})
	return c.ID
}

// makeVolume creates a named volume with the given labels, removed when
// the test ends.
func makeVolume(t *testing.T, cli *client.Client, labels map[string]string) string {
	t.Helper()
	name := "kanikorun-gc-test-" + testbed.RandomPassword()[:12]
	if _, err := cli.VolumeCreate(context.Background(), volume.CreateOptions{Name: name, Labels: labels}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = testbed.RemoveVolume(context.Background(), cli, name) })
	return name
}

func volumeExists(cli *client.Client, name string) bool {
	_, err := cli.VolumeInspect(context.Background(), name)
	return err == nil
}

func exists(cli *client.Client, id string) bool {
	_, err := cli.ContainerInspect(context.Background(), id)
	return err == nil
}

// kanikorun gc removes a killed run's never-started container, its temp
// dir and partial tarball, and leaves a live run's container and another
// tool's alone.
func TestGCRemovesOnlyDeadRunsLeftovers(t *testing.T) {
	tmp := isolate(t)
	cli := testbed.RequireDocker(t)
	host, _ := os.Hostname()

	// A killed run: its directory (unlocked), a partial tarball it
	// recorded, and a container created but never started.
	killed, err := tmpdir.New(tmp, "kanikorun-")
	if err != nil {
		t.Fatal(err)
	}
	outDir := t.TempDir()
	partial := filepath.Join(outDir, ".kanikorun-1.tar.partial")
	if err := os.WriteFile(partial, []byte("half"), 0o666); err != nil {
		t.Fatal(err)
	}
	if err := killed.Record(partial); err != nil {
		t.Fatal(err)
	}
	deadDir := killed.Path
	dead := createOnly(t, cli, map[string]string{spec.ManagedLabel: "true", runner.RunLabel: deadDir, runner.HostLabel: host})
	// Its process dies: the lock goes with it, the directory stays.
	killed.Abandon()

	live, err := tmpdir.New(t.TempDir(), "kanikorun-")
	if err != nil {
		t.Fatal(err)
	}
	defer live.Remove()
	alive := createOnly(t, cli, map[string]string{spec.ManagedLabel: "true", runner.RunLabel: live.Path, runner.HostLabel: host})
	foreign := createOnly(t, cli, map[string]string{runner.RunLabel: deadDir, runner.HostLabel: host})
	deadVol := makeVolume(t, cli, map[string]string{spec.ManagedLabel: "true", runner.RunLabel: deadDir, runner.HostLabel: host})
	liveVol := makeVolume(t, cli, map[string]string{spec.ManagedLabel: "true", runner.RunLabel: live.Path, runner.HostLabel: host})

	r := kanikorun(t, "gc")
	if r.code != 0 {
		t.Fatalf("gc failed:\n%s", r)
	}
	if exists(cli, dead) {
		t.Errorf("the killed run's container survived:\n%s", r)
	}
	if !exists(cli, alive) || !exists(cli, foreign) {
		t.Errorf("gc removed a live run's (%v) or another tool's (%v) container", exists(cli, alive), exists(cli, foreign))
	}
	for _, want := range []string{"removed container " + dead[:12] + " (created, never started)", "removed temp dir " + deadDir, "removed partial tarball " + partial} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("report lacks %q:\n%s", want, r.stdout)
		}
	}
	if volumeExists(cli, deadVol) || !volumeExists(cli, liveVol) {
		t.Errorf("volumes: the dead run's exists %v (want false), the live run's %v (want true)", volumeExists(cli, deadVol), volumeExists(cli, liveVol))
	}
	if !strings.Contains(r.stdout, "removed volume "+deadVol) {
		t.Errorf("report lacks the volume:\n%s", r.stdout)
	}
	if _, err := os.Stat(partial); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("partial tarball left: %v", err)
	}
	if _, err := os.Stat(deadDir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("temp dir left: %v", err)
	}
	// A second gc finds nothing more of ours.
	if r := kanikorun(t, "gc"); !strings.HasPrefix(r.stdout, "0 containers, 0 volumes, 0 temp dirs, 0 partial tarballs removed") {
		t.Errorf("second gc:\n%s", r)
	}
}
