package runner

// Tests of the Docker implementation of Engine: the mapping onto the SDK
// against a scripted Engine API server, and the whole contract against the
// real daemon (through internal/testbed: skipped without Docker on a
// workstation, failed without it in CI).

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/mount"
	"github.com/docker/docker/client"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/tarball"

	"github.com/kanikorun/kanikorun/internal/plan"
	"github.com/kanikorun/kanikorun/internal/spec"
	"github.com/kanikorun/kanikorun/internal/testbed"
)

func TestContainerConfig(t *testing.T) {
	t.Parallel()
	c := plan.Container{
		Image:           "exec:1",
		Args:            []string{"--no-push"},
		Env:             []string{"A=1"},
		WorkingDir:      "/w",
		Mounts:          []plan.Mount{{Source: "/ctx", Target: spec.WorkspaceDir, ReadOnly: true}, {Source: "/out.tar", Target: spec.LocalTarPath}},
		Network:         "host",
		Labels:          map[string]string{"k": "v"},
		DigestFile:      "/digest",
		NoNewPrivileges: true,
	}
	cfg, host := containerConfig(c)
	if cfg.Image != "exec:1" || !slices.Equal(cfg.Cmd, c.Args) || !slices.Equal(cfg.Env, c.Env) || cfg.WorkingDir != "/w" || cfg.Entrypoint != nil {
		t.Errorf("config = %+v", cfg)
	}
	if len(cfg.Labels) != 1 || cfg.Labels["k"] != "v" {
		t.Errorf("labels = %v, want exactly the plan's", cfg.Labels)
	}
	if !host.AutoRemove || host.Privileged || host.LogConfig.Type != "none" || host.NetworkMode != "host" || !slices.Equal(host.SecurityOpt, []string{"no-new-privileges"}) {
		t.Errorf("host config = %+v", host)
	}
	want := []mount.Mount{
		{Type: mount.TypeBind, Source: "/ctx", Target: spec.WorkspaceDir, ReadOnly: true},
		{Type: mount.TypeBind, Source: "/out.tar", Target: spec.LocalTarPath},
		{Type: mount.TypeBind, Source: "/digest", Target: spec.TerminationLog},
	}
	if !slices.EqualFunc(host.Mounts, want, func(a, b mount.Mount) bool {
		return a.Type == b.Type && a.Source == b.Source && a.Target == b.Target && a.ReadOnly == b.ReadOnly
	}) {
		t.Errorf("mounts = %+v, want %+v", host.Mounts, want)
	}

	// Volumes: a named one with labels; an anonymous one for a copied
	// directory, without the image's content at its target.
	c.Volumes = []plan.VolumeMount{{Name: "cache", Target: "/cache", Labels: map[string]string{"l": "1"}}, {Target: "/workspace", NoCopy: true}}
	_, host = containerConfig(c)
	vols := host.Mounts[len(host.Mounts)-2:]
	if v := vols[0]; v.Type != mount.TypeVolume || v.Source != "cache" || v.VolumeOptions == nil || v.VolumeOptions.Labels["l"] != "1" || v.VolumeOptions.NoCopy {
		t.Errorf("named volume mount = %+v", v)
	}
	if v := vols[1]; v.Type != mount.TypeVolume || v.Source != "" || v.Target != "/workspace" || v.VolumeOptions == nil || !v.VolumeOptions.NoCopy {
		t.Errorf("anonymous volume mount = %+v, want no copy of the image's content", v)
	}
	c.Volumes = nil

	c.Entrypoint = []string{}
	if cfg, _ := containerConfig(c); cfg.Entrypoint == nil || len(cfg.Entrypoint) != 0 {
		t.Errorf("an empty entrypoint must reach the daemon as empty, not unset: %#v", cfg.Entrypoint)
	}
}

func TestLoadedNames(t *testing.T) {
	t.Parallel()
	body := `{"stream":"Loaded image: a:1\n"}` + "\n" + `{"stream":"Loaded image ID: sha256:abc\n"}`
	names, err := loadedNames(strings.NewReader(body))
	if err != nil || strings.Join(names, ",") != "a:1,sha256:abc" {
		t.Fatalf("names = %v, err = %v", names, err)
	}
	if _, err := loadedNames(strings.NewReader(`{"errorDetail":{"message":"bad tar"},"error":"bad tar"}`)); err == nil || err.Error() != "bad tar" {
		t.Fatalf("err = %v, want the daemon's message", err)
	}
	if _, err := loadedNames(strings.NewReader(`{"stream":`)); err == nil || !strings.HasPrefix(err.Error(), "reading the daemon's answer: ") {
		t.Fatalf("err = %v, want a read error", err)
	}
}

// apiEngine is the Docker Engine over a scripted Engine API server.
func apiEngine(t *testing.T, h http.HandlerFunc) Engine {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	cli, err := client.NewClientWithOpts(client.WithHost("tcp://"+srv.Listener.Addr().String()), client.WithVersion("1.41"), client.WithHTTPClient(srv.Client()))
	if err != nil {
		t.Fatal(err)
	}
	e := newDockerEngine(cli, Endpoint{})
	t.Cleanup(func() { _ = e.Close() })
	return e
}

func TestDockerEngineAPI(t *testing.T) {
	t.Parallel()
	ctx := context.Background()

	t.Run("pull renders plain lines and sends the auth", func(t *testing.T) {
		t.Parallel()
		var gotAuth, gotQuery string
		e := apiEngine(t, func(w http.ResponseWriter, r *http.Request) {
			gotAuth, gotQuery = r.Header.Get("X-Registry-Auth"), r.URL.RawQuery
			io.WriteString(w, `{"status":"Pulling from team/exec","id":"1"}`+"\n"+
				`{"status":"Downloading","progressDetail":{"current":5,"total":10},"progress":"[=====>     ]","id":"abc"}`+"\n"+
				`{"status":"Pull complete","id":"abc"}`+"\n"+
				`{"status":"Status: Downloaded newer image for reg.example:5000/team/exec:1"}`+"\n")
		})
		var out bytes.Buffer
		if err := e.PullImage(ctx, "reg.example:5000/team/exec:1", "YXV0aA==", &out); err != nil {
			t.Fatal(err)
		}
		if gotAuth != "YXV0aA==" || !strings.Contains(gotQuery, "fromImage=reg.example%3A5000%2Fteam%2Fexec") {
			t.Errorf("auth %q, query %q", gotAuth, gotQuery)
		}
		for _, want := range []string{"1: Pulling from team/exec\n", "abc: Pull complete\n", "Status: Downloaded newer image for reg.example:5000/team/exec:1\n"} {
			if !strings.Contains(out.String(), want) {
				t.Errorf("progress %q lacks %q", out.String(), want)
			}
		}
		if strings.Contains(out.String(), "\x1b") {
			t.Errorf("terminal escapes written to a non-terminal: %q", out.String())
		}
	})

	t.Run("pull error in the stream", func(t *testing.T) {
		t.Parallel()
		e := apiEngine(t, func(w http.ResponseWriter, r *http.Request) {
			io.WriteString(w, `{"errorDetail":{"message":"denied: no access"},"error":"denied: no access"}`+"\n")
		})
		if err := e.PullImage(ctx, "r/x:1", "", io.Discard); err == nil || err.Error() != "denied: no access" {
			t.Fatalf("err = %v, want the stream's error", err)
		}
	})

	t.Run("create of a missing image", func(t *testing.T) {
		t.Parallel()
		e := apiEngine(t, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusNotFound)
			io.WriteString(w, `{"message":"No such image: exec:1"}`)
		})
		_, err := e.CreateContainer(ctx, plan.Container{Image: "exec:1"})
		if !errors.Is(err, ErrImageNotFound) || !strings.Contains(err.Error(), "No such image: exec:1") || strings.Contains(err.Error(), ErrImageNotFound.Error()) {
			t.Fatalf("err = %v, want ErrImageNotFound with the daemon's message alone", err)
		}
	})

	t.Run("create fails otherwise", func(t *testing.T) {
		t.Parallel()
		e := apiEngine(t, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusInternalServerError)
			io.WriteString(w, `{"message":"disk full"}`)
		})
		_, err := e.CreateContainer(ctx, plan.Container{Image: "exec:1"})
		if err == nil || errors.Is(err, ErrImageNotFound) || !strings.Contains(err.Error(), "disk full") {
			t.Fatalf("err = %v, want the daemon's error, not ErrImageNotFound", err)
		}
	})

	t.Run("remove", func(t *testing.T) {
		t.Parallel()
		for status, wantErr := range map[int]bool{http.StatusNoContent: false, http.StatusNotFound: false, http.StatusConflict: false, http.StatusInternalServerError: true} {
			var gotQuery, gotMethod string
			e := apiEngine(t, func(w http.ResponseWriter, r *http.Request) {
				gotMethod, gotQuery = r.Method, r.URL.RawQuery
				if status != http.StatusNoContent {
					w.Header().Set("Content-Type", "application/json")
				}
				w.WriteHeader(status)
				if status != http.StatusNoContent {
					io.WriteString(w, `{"message":"some state"}`)
				}
			})
			err := e.RemoveContainer(ctx, "c0ffee")
			if (err != nil) != wantErr {
				t.Errorf("status %d: err = %v, want error %v", status, err, wantErr)
			}
			if gotMethod != http.MethodDelete || !strings.Contains(gotQuery, "force=1") || !strings.Contains(gotQuery, "v=1") {
				t.Errorf("status %d: %s ?%s, want a forced removal with volumes", status, gotMethod, gotQuery)
			}
		}
	})

	t.Run("load sends the tar and reads the names", func(t *testing.T) {
		t.Parallel()
		var got []byte
		var mu sync.Mutex
		e := apiEngine(t, func(w http.ResponseWriter, r *http.Request) {
			b, _ := io.ReadAll(r.Body)
			mu.Lock()
			got = b
			mu.Unlock()
			io.WriteString(w, `{"stream":"Loaded image: app:1\n"}`)
		})
		names, err := e.LoadImage(ctx, strings.NewReader("tar bytes"))
		mu.Lock()
		defer mu.Unlock()
		if err != nil || !slices.Equal(names, []string{"app:1"}) || string(got) != "tar bytes" {
			t.Fatalf("names = %v, err = %v, daemon got %q", names, err, got)
		}
	})

	t.Run("ping", func(t *testing.T) {
		t.Parallel()
		e := apiEngine(t, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Api-Version", "1.41")
			w.Header().Set("Ostype", "linux")
			io.WriteString(w, "OK")
		})
		info, err := e.Ping(ctx)
		if err != nil || info != (DaemonInfo{APIVersion: "1.41", OSType: "linux"}) {
			t.Fatalf("info = %+v, err = %v", info, err)
		}
	})
}

// daemon returns the real daemon as an Engine, its SDK client for
// checks, and the stand-in executor image loaded into it.
func daemon(t *testing.T) (Engine, *client.Client, string) {
	t.Helper()
	cli := testbed.RequireDocker(t)
	ctx := context.Background()
	img, err := testbed.StandInImage(ctx, cli)
	if err != nil {
		t.Fatal(err)
	}
	eng, err := Connect(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = eng.Close() })
	return eng, cli, img
}

func noLeftovers(t *testing.T, cli *client.Client) {
	t.Helper()
	left, err := testbed.Leftovers(context.Background(), cli, testbed.Labels(t))
	if err != nil {
		t.Fatal(err)
	}
	if len(left) != 0 {
		t.Errorf("containers left behind: %v", left)
	}
}

func TestDockerEngineRun(t *testing.T) {
	t.Parallel()
	eng, cli, img := daemon(t)
	ctx := context.Background()

	info, err := eng.Ping(ctx)
	if err != nil || info.APIVersion == "" || info.OSType == "" {
		t.Fatalf("ping = %+v, %v", info, err)
	}

	// The engine alone: RunContainer returns at the exit, with all of the
	// output, and the daemon removes the container by itself.
	id, err := eng.CreateContainer(ctx, plan.Container{Image: img, Args: []string{"--help"}, Network: "none", Labels: testbed.Labels(t)})
	if err != nil {
		t.Fatal(err)
	}
	var out, errOut bytes.Buffer
	code, err := eng.RunContainer(ctx, id, &out, &errOut)
	if err != nil || code != 0 {
		t.Fatalf("exit code %d, err %v; stderr %q", code, err, errOut.String())
	}
	if !strings.Contains(out.String(), "Usage:") || strings.Contains(out.String(), testbed.ArgvMarker) {
		t.Errorf("stdout = %q, want the usage alone", out.String())
	}
	if argv, err := testbed.ParseArgv(errOut.String()); err != nil || !slices.Equal(argv, []string{"--help"}) || strings.Contains(errOut.String(), "Usage:") {
		t.Errorf("stderr = %q (argv %v, %v), want the argv line alone", errOut.String(), argv, err)
	}
	noLeftovers(t, cli)
	if err := eng.RemoveContainer(ctx, id); err != nil {
		t.Errorf("removing a container that is gone: %v", err)
	}

	// Through the runner: an exit code other than 0 is a result, not an
	// error, and the managed label is set.
	errOut.Reset()
	var labelled []string
	watch := writerFunc(func(p []byte) (int, error) {
		if labelled == nil {
			labelled, _ = testbed.Containers(ctx, cli, map[string]string{spec.ManagedLabel: "true", testbed.TestLabel: testbed.Labels(t)[testbed.TestLabel]})
		}
		return errOut.Write(p)
	})
	r := &Runner{Engine: eng, Stdout: io.Discard, Stderr: watch, Pull: PullNever}
	res, err := r.Run(ctx, plan.Container{Image: img, Args: []string{"--no-such-flag"}, Network: "none", Labels: testbed.Labels(t)})
	if err != nil || res.ExitCode != 1 || !strings.Contains(errOut.String(), "Error: unknown flag: --no-such-flag") {
		t.Fatalf("result %+v, err %v, stderr %q", res, err, errOut.String())
	}
	if len(labelled) != 1 {
		t.Errorf("containers with the managed label while running: %v, want 1", labelled)
	}
	noLeftovers(t, cli)
}

// The die event is subscribed to with a since in the past because the
// daemon sends its headers before it subscribes: an exit logged before the
// subscription must still arrive. Here the container has exited (and
// been removed) before dieEvent is even called.
func TestDieEventReplaysAnExitLoggedBeforeTheSubscription(t *testing.T) {
	t.Parallel()
	eng, cli, img := daemon(t)
	d := eng.(*dockerEngine)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	id, err := eng.CreateContainer(ctx, plan.Container{Image: img, Args: []string{"--no-such-flag"}, Network: "none", Labels: testbed.Labels(t)})
	if err != nil {
		t.Fatal(err)
	}
	waitC, errC := cli.ContainerWait(ctx, id, container.WaitConditionRemoved)
	if err := cli.ContainerStart(ctx, id, container.StartOptions{}); err != nil {
		t.Fatal(err)
	}
	select {
	case <-waitC:
	case err := <-errC:
		t.Fatal(err)
	}
	select {
	case code := <-d.dieEvent(ctx, id):
		if code != 1 {
			t.Errorf("exit code %d from the die event, want 1", code)
		}
	case <-ctx.Done():
		t.Fatal("no die event for a container that exited before the subscription")
	}
	noLeftovers(t, cli)
}

// A run returns at its container's exit, while the daemon may still be
// removing the container and releasing what it mounted: removing a volume
// it held right after must not fail as "in use".
func TestRemoveVolumeRightAfterARunThatHeldIt(t *testing.T) {
	t.Parallel()
	eng, cli, img := daemon(t)
	ctx := context.Background()
	for i := range 3 {
		vol := "kanikorun-test-held-" + testbed.RandomPassword()[:12]
		t.Cleanup(func() { _ = testbed.RemoveVolume(context.Background(), cli, vol) })
		if err := eng.EnsureVolume(ctx, vol, map[string]string{spec.ManagedLabel: "true"}); err != nil {
			t.Fatal(err)
		}
		// The bridge network's release makes the daemon's teardown the
		// longest.
		c := plan.Container{Image: img, Args: []string{"--help"}, Network: "bridge", Labels: testbed.Labels(t),
			Volumes: []plan.VolumeMount{{Name: vol, Target: "/cache"}}}
		id, err := eng.CreateContainer(ctx, c)
		if err != nil {
			t.Fatal(err)
		}
		if code, err := eng.RunContainer(ctx, id, io.Discard, io.Discard); err != nil || code != 0 {
			t.Fatalf("run %d: exit code %d, err %v", i, code, err)
		}
		if err := eng.RemoveVolume(ctx, vol); err != nil {
			t.Fatalf("run %d: removing the volume it held: %v", i, err)
		}
		if _, err := cli.VolumeInspect(ctx, vol); err == nil {
			t.Errorf("run %d: volume %s still there", i, vol)
		}
	}
	noLeftovers(t, cli)
}

// ListContainers tells a container the daemon is removing by itself
// (returned at its exit, AutoRemove) from one nobody will remove: one
// created and never started, and a kept one (stream mode) that exited.
func TestListContainersTellsWhatTheDaemonRemoves(t *testing.T) {
	t.Parallel()
	eng, cli, img := daemon(t)
	ctx := context.Background()
	labels := testbed.Labels(t)
	never, err := eng.CreateContainer(ctx, plan.Container{Image: img, Args: []string{"--help"}, Network: "none", Labels: labels})
	if err != nil {
		t.Fatal(err)
	}
	kept, err := eng.CreateContainer(ctx, plan.Container{Image: img, Args: []string{"--help"}, Network: "none", Labels: labels, KeepAfterExit: true})
	if err != nil {
		t.Fatal(err)
	}
	if code, err := eng.RunContainer(ctx, kept, io.Discard, io.Discard); err != nil || code != 0 {
		t.Fatalf("kept: exit code %d, err %v", code, err)
	}
	// On a bridge network the daemon's teardown after the exit is the
	// longest: the listing below falls into it.
	auto, err := eng.CreateContainer(ctx, plan.Container{Image: img, Args: []string{"--help"}, Network: "bridge", Labels: labels})
	if err != nil {
		t.Fatal(err)
	}
	if code, err := eng.RunContainer(ctx, auto, io.Discard, io.Discard); err != nil || code != 0 {
		t.Fatalf("auto: exit code %d, err %v", code, err)
	}
	list, err := eng.ListContainers(ctx, labels)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]ContainerInfo{}
	for _, c := range list {
		seen[c.ID] = c
	}
	if c, ok := seen[auto]; ok && !c.Leaving {
		t.Errorf("the run's container, in state %s, is not said to be leaving", c.State)
	}
	for name, id := range map[string]string{"never started": never, "kept": kept} {
		if c, ok := seen[id]; !ok || c.Leaving {
			t.Errorf("%s container: listed %v, leaving %v; want listed, not leaving", name, ok, c.Leaving)
		}
	}
	for _, id := range []string{never, kept} {
		if err := eng.RemoveContainer(ctx, id); err != nil {
			t.Fatal(err)
		}
	}
	noLeftovers(t, cli)
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }

func TestDockerEngineMissingImage(t *testing.T) {
	t.Parallel()
	eng, cli, _ := daemon(t)
	ctx := context.Background()
	absent := "kanikorun-test/absent:" + testbed.RandomPassword()[:12]
	if _, err := eng.CreateContainer(ctx, plan.Container{Image: absent, Labels: testbed.Labels(t)}); !errors.Is(err, ErrImageNotFound) {
		t.Fatalf("err = %v, want ErrImageNotFound", err)
	}
	r := &Runner{Engine: eng, Stdout: io.Discard, Stderr: io.Discard, Pull: PullNever}
	if _, err := r.Run(ctx, plan.Container{Image: absent, Labels: testbed.Labels(t)}); !errors.Is(err, ErrImageMissing) {
		t.Fatalf("err = %v, want ErrImageMissing", err)
	}
	noLeftovers(t, cli)
}

func TestDockerEnginePullAndLoad(t *testing.T) {
	t.Parallel()
	eng, cli, img := daemon(t)
	ctx := context.Background()

	reg := testbed.NewRegistry(t)
	ref, err := reg.PushStandIn(ctx, "runner-test/executor:1")
	if err != nil {
		t.Fatal(err)
	}
	testbed.CleanupImage(t, cli, ref)
	if err := eng.PullImage(ctx, ref, "", io.Discard); err == nil {
		t.Errorf("anonymous pull from a registry that needs a login succeeded")
	}
	var progress bytes.Buffer
	if err := eng.PullImage(ctx, ref, reg.RegistryAuth(), &progress); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(progress.String(), "Status: Downloaded newer image for "+ref) || strings.Contains(progress.String(), "\x1b") {
		t.Errorf("progress = %q, want plain lines ending with the status", progress.String())
	}

	// Loading the stand-in under its own tag changes nothing in the daemon.
	standIn, err := testbed.StandIn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	tag, err := name.NewTag(img)
	if err != nil {
		t.Fatal(err)
	}
	tarPath := filepath.Join(t.TempDir(), "image.tar")
	if err := tarball.WriteToFile(tarPath, tag, standIn); err != nil {
		t.Fatal(err)
	}
	r := &Runner{Engine: eng, Stdout: io.Discard, Stderr: io.Discard}
	names, err := r.Load(ctx, tarPath)
	if err != nil || !slices.Equal(names, []string{img}) {
		t.Fatalf("loaded %v, %v; want [%s]", names, err, img)
	}
	if err := os.WriteFile(tarPath, []byte("not a tar"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Load(ctx, tarPath); !errors.Is(err, ErrLoad) || strings.Contains(err.Error(), "\n") {
		t.Errorf("err = %q, want one line wrapping ErrLoad", err)
	}
}
