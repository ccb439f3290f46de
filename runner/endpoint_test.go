package runner

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/docker/cli/cli/context/store"

	"github.com/kanikorun/kanikorun/internal/cache"
	"github.com/kanikorun/kanikorun/internal/plan"
	"github.com/kanikorun/kanikorun/internal/spec"
	"github.com/kanikorun/kanikorun/internal/tmpdir"
)

func TestEndpointRemote(t *testing.T) {
	t.Parallel()
	for host, remote := range map[string]bool{
		"unix:///var/run/docker.sock":       false,
		"unix:///run/user/1000/docker.sock": false, // rootless Docker
		"npipe:////./pipe/docker_engine":    false,
		"tcp://127.0.0.1:2375":              true, // loopback counts: it may be a tunnel
		"tcp://docker.example.com:2376":     true,
		"ssh://me@build-host":               true,
		"":                                  false,
	} {
		if got := (Endpoint{Host: host}).Remote(); got != remote {
			t.Errorf("Endpoint{%q}.Remote() = %v, want %v", host, got, remote)
		}
	}
}

// writeContext stores a docker context as the docker CLI does, in the
// config directory dir.
func writeContext(t *testing.T, dir, name, host string) {
	t.Helper()
	s := store.New(filepath.Join(dir, "contexts"), store.NewConfig(
		func() any { return &map[string]any{} },
		store.EndpointTypeGetter(dockerEndpoint, func() any { return &endpointMeta{} }),
	))
	if err := s.CreateOrUpdate(store.Metadata{Name: name, Endpoints: map[string]any{dockerEndpoint: endpointMeta{Host: host}}}); err != nil {
		t.Fatal(err)
	}
}

// TestDockerContextResolution: DOCKER_HOST wins, then DOCKER_CONTEXT,
// then the config's currentContext, as the docker CLI resolves them.
func TestDockerContextResolution(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("DOCKER_CONFIG", dir)
	writeContext(t, dir, "remote-a", "tcp://10.1.2.3:2375")
	writeContext(t, dir, "remote-b", "ssh://builder@10.1.2.4")
	if err := os.WriteFile(filepath.Join(dir, "config.json"), []byte(`{"currentContext":"remote-a"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("DOCKER_HOST", "")
	os.Unsetenv("DOCKER_HOST")
	t.Setenv("DOCKER_CONTEXT", "")
	os.Unsetenv("DOCKER_CONTEXT")

	_, ep, err := clientOpts()
	if err != nil || ep != (Endpoint{Host: "tcp://10.1.2.3:2375", Context: "remote-a"}) {
		t.Errorf("currentContext: %+v, %v", ep, err)
	}
	t.Setenv("DOCKER_CONTEXT", "remote-b")
	if _, ep, err = clientOpts(); err != nil || ep != (Endpoint{Host: "ssh://builder@10.1.2.4", Context: "remote-b"}) || !ep.Remote() {
		t.Errorf("DOCKER_CONTEXT: %+v, %v", ep, err)
	}
	t.Setenv("DOCKER_CONTEXT", "default")
	if _, ep, err = clientOpts(); err != nil || ep.Context != "" || ep.Remote() {
		t.Errorf("the default context: %+v, %v", ep, err)
	}
	t.Setenv("DOCKER_CONTEXT", "missing")
	if _, _, err = clientOpts(); err == nil || !strings.Contains(err.Error(), `docker context "missing"`) {
		t.Errorf("a missing context: %v", err)
	}
	t.Setenv("DOCKER_HOST", "tcp://10.9.9.9:2375")
	if _, ep, err = clientOpts(); err != nil || ep != (Endpoint{Host: "tcp://10.9.9.9:2375"}) {
		t.Errorf("DOCKER_HOST over the context: %+v, %v", ep, err)
	}
}

// TestConnectSaysWhatFailed: an unreachable daemon's error names the
// endpoint, the context it came from and what to check.
func TestConnectSaysWhatFailed(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("DOCKER_CONFIG", dir)
	t.Setenv("DOCKER_HOST", "")
	os.Unsetenv("DOCKER_HOST")
	writeContext(t, dir, "gone", "tcp://127.0.0.1:1")
	t.Setenv("DOCKER_CONTEXT", "gone")
	_, err := Connect(context.Background())
	if !errors.Is(err, ErrDaemonUnreachable) {
		t.Fatalf("Connect: %v", err)
	}
	for _, want := range []string{"tcp://127.0.0.1:1 (docker context gone)", "connection refused", "choose another context"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
	t.Setenv("DOCKER_HOST", "ssh://nobody@127.0.0.1:1")
	_, err = Connect(context.Background())
	if !errors.Is(err, ErrDaemonUnreachable) || !strings.Contains(err.Error(), "ssh://nobody@127.0.0.1:1") || !strings.Contains(err.Error(), "ssh to the host") {
		t.Errorf("ssh: %v", err)
	}
}

// TestStreamPlanRun runs a stream-mode plan on the fake engine: the
// credentials are copied in before the start, the context arrives on
// stdin as a gzip tar, the digest is copied out, the container removed.
func TestStreamPlanRun(t *testing.T) {
	t.Parallel()
	b := testBuild(t)
	tmp := t.TempDir()
	cfg := filepath.Join(tmp, "config.json")
	digest := filepath.Join(tmp, "digest")
	_ = os.WriteFile(cfg, []byte(`{"auths":{}}`), 0o600)
	_ = os.WriteFile(digest, nil, 0o600)
	f := &fakeEngine{haveImage: true}
	// The digest the executor writes, as CopyFrom will find it.
	_ = f.CopyTo(context.Background(), "c0ffee", "/kaniko", strings.NewReader(tarOf(t, "kanikorun-digest", "sha256:abc")))
	f.calls = nil
	r := &Runner{Engine: f, Stdout: &strings.Builder{}, Stderr: &strings.Builder{}, Pull: PullNever}
	res, err := r.Run(context.Background(), plan.Stream(b, plan.HostFiles{DockerConfig: cfg, Digest: digest}, "none"))
	if err != nil {
		t.Fatal(err)
	}
	if res.Digest != "sha256:abc" {
		t.Errorf("digest %q", res.Digest)
	}
	if _, ok := f.fs.files["/kaniko/.docker/config.json"]; !ok {
		t.Errorf("the credentials were not copied in: %v", f.fs.files)
	}
	if len(f.stdin) < 2 || f.stdin[0] != 0x1f || f.stdin[1] != 0x8b {
		t.Errorf("stdin is not a gzip stream: % x", f.stdin[:min(4, len(f.stdin))])
	}
	if calls := f.callList(); calls != "create,copy-to,run,remove" {
		t.Errorf("calls %s", calls)
	}
	if f.created.KeepAfterExit != true || len(f.created.Mounts) != 0 {
		t.Errorf("stream container: keep %v, mounts %v", f.created.KeepAfterExit, f.created.Mounts)
	}
}

// The context is unpacked on an anonymous volume at kaniko's build
// context directory; with a --kaniko-dir there is none, as the executor
// removes /kaniko, and a mount point under it would make that fail.
func TestStreamUnpacksOnAVolume(t *testing.T) {
	t.Parallel()
	for dir, want := range map[string]int{"": 1, "/kaniko": 1, "/k": 0} {
		b := testBuild(t)
		b.KanikoDir = dir
		c := plan.Stream(b, plan.HostFiles{}, "none")
		if len(c.Volumes) != want {
			t.Fatalf("%q: volumes %+v, want %d", dir, c.Volumes, want)
		}
		if want == 0 {
			continue
		}
		if c.Volumes[0].Name != "" || c.Volumes[0].Target != "/kaniko/buildcontext" {
			t.Errorf("%q: volumes %+v, want one anonymous at /kaniko/buildcontext", dir, c.Volumes)
		}
		if line := c.DockerRun(); !strings.Contains(line, "--mount type=volume,target=/kaniko/buildcontext ") {
			t.Errorf("%q: the line lacks the volume: %s", dir, line)
		}
	}
}

// TestGCRemovesWhatDeadRunsLeft: a stream-mode container (no AutoRemove)
// carries its run's labels, so once the run has ended (its locked
// directory is gone, as after a SIGKILL) gc removes it; a live run's
// container stays.
func TestGCRemovesWhatDeadRunsLeft(t *testing.T) {
	t.Parallel()
	b := testBuild(t)
	f := &fakeEngine{haveImage: true}
	// The digest the executor writes, as CopyFrom will find it.
	_ = f.CopyTo(context.Background(), "c0ffee", "/kaniko", strings.NewReader(tarOf(t, "kanikorun-digest", "sha256:abc")))
	r := &Runner{Engine: f, Stdout: io.Discard, Stderr: io.Discard, Pull: PullNever}
	if _, err := r.Build(context.Background(), Local{Build: b, Network: "none", Stream: true}); err != nil {
		t.Fatal(err)
	}
	labels := f.created.Labels
	if !f.created.KeepAfterExit || labels[RunLabel] == "" || labels[HostLabel] != hostname() || labels[spec.ManagedLabel] != "true" {
		t.Fatalf("stream container: keep %v, labels %v; want the run's labels", f.created.KeepAfterExit, labels)
	}
	live, err := tmpdir.New(t.TempDir(), "kanikorun-")
	if err != nil {
		t.Fatal(err)
	}
	defer live.Remove()
	alive := map[string]string{}
	for k, v := range labels {
		alive[k] = v
	}
	alive[RunLabel] = live.Path
	f.containers = []ContainerInfo{
		{ID: "killedstream00", State: "exited", Labels: labels},
		{ID: "livestream0000", State: "running", Labels: alive},
		// A finished run's container the daemon's AutoRemove is taking
		// away: neither gc's to remove nor one it leaves alone.
		{ID: "beingremoved00", State: "exited", Leaving: true, Labels: labels},
	}
	f.removed = nil
	g, err := CollectGarbage(context.Background(), f, GCOptions{TempDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	if len(f.removed) != 1 || f.removed[0] != "killedstream00" || len(g.Containers) != 1 || g.Kept != 1 {
		t.Errorf("gc removed %v (report %+v), want the killed stream run's container alone, one kept", f.removed, g)
	}
}

// TestPruneStopsWhenTheCacheIsInUse: prune replaces the volume; a build
// using it makes prune stop, with the cache left and the copy removed.
func TestPruneStopsWhenTheCacheIsInUse(t *testing.T) {
	t.Parallel()
	f := &fakeEngine{haveImage: true}
	_ = f.EnsureVolume(context.Background(), "c", cacheVolumeLabels())
	// An orphan, so prune has something to remove.
	_ = f.CopyTo(context.Background(), "x", "/cache", strings.NewReader(tarOf(t, "base/upstream/.data/sha256:0-abc", "x")))
	f.fs.inUse = map[string]bool{"c": true}
	_, err := cachePrune(context.Background(), f, CacheOptions{Volume: "c", Image: "exec:1"}, cache.PruneOptions{}, false, Streams{Stdout: io.Discard, Stderr: io.Discard})
	if !errors.Is(err, ErrCacheInUse) {
		t.Fatalf("prune of a volume in use: %v", err)
	}
	vols, _ := f.ListVolumes(context.Background(), nil)
	if len(vols) != 1 || vols[0].Name != "c" {
		t.Errorf("volumes after the stopped prune: %+v, want the cache alone", vols)
	}
	if _, err := cachePrune(context.Background(), f, CacheOptions{Volume: "c"}, cache.PruneOptions{}, true, Streams{Stdout: io.Discard, Stderr: io.Discard}); !errors.Is(err, ErrCacheInUse) {
		t.Errorf("prune --all of a volume in use: %v", err)
	}
}
