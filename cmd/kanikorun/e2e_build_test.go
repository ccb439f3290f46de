package main

import (
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/creack/pty"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/image"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/kanikorun/kanikorun/internal/plan"
	"github.com/kanikorun/kanikorun/internal/spec"
	"github.com/kanikorun/kanikorun/internal/testbed"
)

// baseImage pushes a base image with a shell stub (so RUN can start), a
// file, env and a label, once per test.
func baseImage(t *testing.T) string {
	t.Helper()
	ref, err := reg.PushBase(context.Background(), "base/"+strings.ToLower(strings.ReplaceAll(t.Name(), "/", "-")),
		map[string]string{"bin/sh": "#!", "etc/base.txt": "from base\n"},
		[]string{"BASE_ENV=1"}, map[string]string{"base.label": "yes"})
	if err != nil {
		t.Fatal(err)
	}
	return ref
}

func TestBuildPushesWhatTheDockerfileSays(t *testing.T) {
	tmp := isolate(t)
	testbed.RequireDocker(t)
	base := baseImage(t)
	ctxDir := buildContext(t, map[string]string{
		"Dockerfile": "ARG GREETING=hi\nFROM " + base + "\nARG GREETING\nENV GREETING=${GREETING} APP=demo\nLABEL stage=final\nWORKDIR /app\nCOPY a.txt ./\nCOPY sub/ ./sub/\n",
		"a.txt":      "A\n",
		"sub/b.txt":  "B\n",
	})
	dest := reg.Ref("app/push:1")
	t.Setenv("FROM_ENV", "from-env")
	r := kanikorun(t, "build", ctxDir, "-t", dest, "--build-arg", "GREETING=hello", "--build-arg", "FROM_ENV",
		"--label", "team=core", "--executor-image", executorImage, "--executor-pull", "never", "--docker-config", registryConfig(t))
	if r.code != 0 {
		t.Fatalf("build failed:\n%s", r)
	}
	if !strings.Contains(r.stderr, "using host networking") {
		t.Errorf("no host-networking notice for a loopback destination:\n%s", r.stderr)
	}
	// The executor got exactly the rendered arguments.
	argv, err := testbed.ParseArgv(r.stderr)
	if err != nil {
		t.Fatal(err)
	}
	b := &spec.Build{Context: ctxDir, Dockerfile: filepath.Join(ctxDir, "Dockerfile"), Destinations: []string{dest},
		BuildArgs: []string{"GREETING=hello", "FROM_ENV=from-env"}, Labels: []string{"team=core"}}
	if want := b.Args(plan.LocalLayout(b, false)); !reflect.DeepEqual(argv, want) {
		t.Errorf("executor argv\n got %q\nwant %q", argv, want)
	}
	img, err := reg.Image(dest)
	if err != nil {
		t.Fatal(err)
	}
	digest, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	if r.lastLine() != digest.String() {
		t.Errorf("last line %q, want the pushed digest %s", r.lastLine(), digest)
	}
	files, err := testbed.Files(img)
	if err != nil {
		t.Fatal(err)
	}
	for p, want := range map[string]string{"app/a.txt": "A\n", "app/sub/b.txt": "B\n", "etc/base.txt": "from base\n"} {
		if files[p] != want {
			t.Errorf("file %s = %q, want %q", p, files[p], want)
		}
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	env := strings.Join(cf.Config.Env, " ")
	for _, want := range []string{"BASE_ENV=1", "GREETING=hello", "APP=demo"} {
		if !strings.Contains(env, want) {
			t.Errorf("env %q lacks %s", env, want)
		}
	}
	for k, v := range map[string]string{"base.label": "yes", "stage": "final", "team": "core"} {
		if cf.Config.Labels[k] != v {
			t.Errorf("label %s = %q, want %q", k, cf.Config.Labels[k], v)
		}
	}
	if cf.Config.WorkingDir != "/app" {
		t.Errorf("WorkingDir = %q", cf.Config.WorkingDir)
	}
	assertNothingLeft(t, ctxDir, tmp)
}

func TestBuildNoPushTar(t *testing.T) {
	tmp := isolate(t)
	testbed.RequireDocker(t)
	ctxDir := buildContext(t, map[string]string{"Dockerfile": "FROM scratch\nCOPY a.txt /a.txt\n", "a.txt": "tarred\n"})
	out := filepath.Join(t.TempDir(), "image.tar")
	digestFile := filepath.Join(t.TempDir(), "digest")
	r := kanikorun(t, "build", "--no-push", "--tar", out, "--digest-file", digestFile, "-t", reg.Ref("app/tar:1"),
		"--executor-image", executorImage, "--executor-pull", "never", ctxDir)
	if r.code != 0 {
		t.Fatalf("build failed:\n%s", r)
	}
	if st, err := os.Stat(out); err != nil || st.Mode().Perm()&0o022 != 0 {
		t.Errorf("tarball %v, mode %v: want it not group/world-writable", err, st.Mode())
	}
	img, err := tarball.ImageFromPath(out, nil)
	if err != nil {
		t.Fatalf("reading the tarball: %v", err)
	}
	files, err := testbed.Files(img)
	if err != nil {
		t.Fatal(err)
	}
	if files["a.txt"] != "tarred\n" {
		t.Errorf("tarball files = %v", files)
	}
	if n := reg.Requests(); len(n) > 0 {
		for _, q := range n {
			if q.Method != "GET" && strings.Contains(q.Path, "app/tar") {
				t.Errorf("--no-push pushed: %s %s", q.Method, q.Path)
			}
		}
	}
	d, err := os.ReadFile(digestFile)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.TrimSpace(string(d)); got != r.lastLine() || !strings.HasPrefix(got, "sha256:") {
		t.Errorf("digest file %q, last line %q", got, r.lastLine())
	}
	assertNothingLeft(t, ctxDir, tmp)
}

func TestBuildLoadIntoDaemon(t *testing.T) {
	tmp := isolate(t)
	cli := testbed.RequireDocker(t)
	ctxDir := filepath.Join(t.TempDir(), "Load-Me")
	writeTree(t, ctxDir, map[string]string{"Dockerfile": "FROM scratch\nLABEL loaded=yes\nCOPY a.txt /a.txt\n", "a.txt": "x"})
	r := kanikorun(t, "build", "--load", "--executor-image", executorImage, "--executor-pull", "never", ctxDir)
	if r.code != 0 {
		t.Fatalf("build failed:\n%s", r)
	}
	name := spec.GenerateLocalName(ctxDir, "latest")
	if !strings.Contains(r.stderr, "no --destination given: building with --no-push") || !strings.Contains(r.stderr, "loaded image "+name) {
		t.Errorf("stderr does not say what happened:\n%s", r.stderr)
	}
	t.Cleanup(func() { _, _ = cli.ImageRemove(context.Background(), name, image.RemoveOptions{Force: true}) })
	inspect, err := cli.ImageInspect(context.Background(), name)
	if err != nil {
		t.Fatalf("image %s not in the daemon: %v", name, err)
	}
	if inspect.Config.Labels["loaded"] != "yes" {
		t.Errorf("labels = %v", inspect.Config.Labels)
	}
	// The last line is the daemon's ID of the loaded image, so that
	// docker run $(kanikorun build -q --load .) runs it.
	if r.lastLine() != inspect.ID {
		t.Errorf("last line %q, want the loaded image's ID %q", r.lastLine(), inspect.ID)
	}
	assertNothingLeft(t, ctxDir, tmp)
}

func TestBuildDockerfileOutsideContextAndDockerignore(t *testing.T) {
	tmp := isolate(t)
	testbed.RequireDocker(t)
	ctxDir := buildContext(t, map[string]string{
		"keep.txt":      "keep\n",
		"secret.env":    "TOKEN=1\n",
		"logs/a.log":    "log\n",
		".dockerignore": "*.env\nlogs/\n",
	})
	df := filepath.Join(writeTree(t, t.TempDir(), map[string]string{"build.Dockerfile": "FROM scratch\nCOPY . /src/\n"}), "build.Dockerfile")
	dest := reg.Ref("app/ignore:1")
	r := kanikorun(t, "build", "-f", df, "-t", dest, "--executor-image", executorImage, "--executor-pull", "never", "--docker-config", registryConfig(t), ctxDir)
	if r.code != 0 {
		t.Fatalf("build failed:\n%s", r)
	}
	argv, err := testbed.ParseArgv(r.stderr)
	if err != nil {
		t.Fatal(err)
	}
	if !contains(argv, "--dockerfile="+spec.OutsideDockerfile+"/build.Dockerfile") {
		t.Errorf("argv %q does not point at the separately mounted Dockerfile", argv)
	}
	img, err := reg.Image(dest)
	if err != nil {
		t.Fatal(err)
	}
	files, err := testbed.Files(img)
	if err != nil {
		t.Fatal(err)
	}
	if files["src/keep.txt"] != "keep\n" {
		t.Errorf("keep.txt missing: %v", files)
	}
	for p := range files {
		if strings.HasSuffix(p, ".env") || strings.HasPrefix(p, "src/logs") {
			t.Errorf(".dockerignore not honoured: %s in image", p)
		}
	}
	assertNothingLeft(t, ctxDir, tmp)
}

// TestBuildDockerfileIgnoreTravelsWithIt: kaniko reads
// <Dockerfile>.dockerignore before the context's .dockerignore; for a
// Dockerfile mounted apart, its ignore file must be mounted beside it.
func TestBuildDockerfileIgnoreTravelsWithIt(t *testing.T) {
	tmp := isolate(t)
	testbed.RequireDocker(t)
	ctxDir := buildContext(t, map[string]string{"keep.txt": "keep\n", "drop.txt": "drop\n", ".dockerignore": "keep.txt\n"})
	dfDir := writeTree(t, t.TempDir(), map[string]string{
		"app.Dockerfile":              "FROM scratch\nCOPY . /src/\n",
		"app.Dockerfile.dockerignore": "drop.txt\n",
	})
	dest := reg.Ref("app/dfignore:1")
	r := kanikorun(t, "build", "-f", dfDir+"/app.Dockerfile", "-t", dest, "--executor-image", executorImage, "--executor-pull", "never", "--docker-config", registryConfig(t), ctxDir)
	if r.code != 0 {
		t.Fatalf("build failed:\n%s", r)
	}
	img, err := reg.Image(dest)
	if err != nil {
		t.Fatal(err)
	}
	files, err := testbed.Files(img)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := files["src/drop.txt"]; ok {
		t.Errorf("app.Dockerfile.dockerignore not honoured: %v", files)
	}
	if files["src/keep.txt"] != "keep\n" {
		t.Errorf("the context's .dockerignore was used instead of the Dockerfile's: %v", files)
	}
	assertNothingLeft(t, ctxDir, tmp)
}

// TestBuildCtrlC interrupts a real build process mid-RUN.
func TestBuildCtrlC(t *testing.T) {
	tmp := isolate(t)
	cli := testbed.RequireDocker(t)
	ctxDir := buildContext(t, map[string]string{"Dockerfile": "FROM " + baseImage(t) + "\nRUN sleep 60\n"})
	cmd, seen, stderr := startUntil(t, "sleep 60", "build", "--no-push", "--executor-image", executorImage, "--executor-pull", "never", "--docker-config", registryConfig(t), ctxDir)
	ids, _ := testbed.Containers(context.Background(), cli, map[string]string{spec.ContextLabel: ctxDir})
	if len(ids) != 1 {
		t.Errorf("while running: %d containers, want 1 (output %q)", len(ids), seen)
	}
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	rest, _ := io.ReadAll(stderr)
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case <-done:
	case <-time.After(60 * time.Second):
		_ = cmd.Process.Kill()
		t.Fatal("kanikorun did not stop after SIGINT")
	}
	if code := cmd.ProcessState.ExitCode(); code != 130 {
		t.Errorf("exit code %d, want 130; stderr %s", code, rest)
	}
	if !strings.Contains(string(rest), "interrupted") {
		t.Errorf("stderr does not say it was interrupted: %s", rest)
	}
	assertNothingLeft(t, ctxDir, tmp)
}

func TestBuildTimeoutRemovesTheContainer(t *testing.T) {
	tmp := isolate(t)
	testbed.RequireDocker(t)
	ctxDir := buildContext(t, map[string]string{"Dockerfile": "FROM " + baseImage(t) + "\nRUN sleep 60\n"})
	r := kanikorun(t, "build", "--no-push", "--timeout", "3s", "--executor-image", executorImage, "--executor-pull", "never", "--docker-config", registryConfig(t), ctxDir)
	if r.code != exitTimeout {
		t.Fatalf("exit %d, want %d:\n%s", r.code, exitTimeout, r)
	}
	last := strings.Split(strings.TrimSpace(r.stderr), "\n")
	if l := last[len(last)-1]; !strings.Contains(l, "timed out after 3s") || !strings.Contains(l, "--timeout") {
		t.Errorf("last stderr line %q", l)
	}
	assertNothingLeft(t, ctxDir, tmp)
}

// TestBuildKilledStillRemovesTheContainer: even when kanikorun dies
// without a chance to clean up (SIGKILL), the daemon removes the container
// once the executor exits (AutoRemove, as docker run --rm), and the next
// build removes the private directory (credentials file included) the
// killed one left.
func TestBuildKilledStillRemovesTheContainer(t *testing.T) {
	tmp := isolate(t)
	cli := testbed.RequireDocker(t)
	ctxDir := buildContext(t, map[string]string{"Dockerfile": "FROM " + baseImage(t) + "\nRUN sleep 2\n"})
	cmd, _, _ := startUntil(t, "sleep 2", "build", "--no-push", "--executor-image", executorImage, "--executor-pull", "never", "--docker-config", registryConfig(t), ctxDir)
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	filter := map[string]string{spec.ContextLabel: ctxDir}
	if ids, _ := testbed.Containers(context.Background(), cli, filter); len(ids) != 1 {
		t.Fatalf("right after SIGKILL: %d containers, want the running one", len(ids))
	}
	// Poll (not a timing assertion): the executor sleeps 2 s, then the
	// daemon removes its container.
	deadline := time.Now().Add(60 * time.Second)
	for {
		ids, err := testbed.Containers(context.Background(), cli, filter)
		if err != nil {
			t.Fatal(err)
		}
		if len(ids) == 0 {
			break
		}
		if time.Now().After(deadline) {
			for _, id := range ids {
				_ = cli.ContainerRemove(context.Background(), id, container.RemoveOptions{Force: true})
			}
			t.Fatalf("container %v still there a minute after the executor finished", ids)
		}
		time.Sleep(200 * time.Millisecond)
	}

	left, _ := filepath.Glob(filepath.Join(tmp, "kanikorun-*", "config.json"))
	if len(left) != 1 {
		t.Fatalf("after SIGKILL: credentials files %v, want the killed build's one", left)
	}
	next := buildContext(t, map[string]string{"Dockerfile": "FROM scratch\n"})
	if r := kanikorun(t, "build", "--no-push", "--executor-image", executorImage, "--executor-pull", "never", next); r.code != 0 {
		t.Fatalf("next build:\n%s", r)
	}
	assertNothingLeft(t, next, tmp)
}

func TestBuildPullsTheExecutor(t *testing.T) {
	cli := testbed.RequireDocker(t)
	ctx := context.Background()
	for _, terminal := range []bool{false, true} {
		name := "plain"
		if terminal {
			name = "terminal"
		}
		t.Run(name, func(t *testing.T) {
			tmp := isolate(t)
			ref := pushFreshStandIn(t, "pulled/executor-"+name)
			t.Cleanup(func() { _, _ = cli.ImageRemove(ctx, ref, image.RemoveOptions{}) })
			ctxDir := buildContext(t, map[string]string{"Dockerfile": "FROM scratch\n"})
			args := []string{"build", "--no-push", "--executor-image", ref, "--executor-pull", "always", "--docker-config", registryConfig(t), ctxDir}
			var out string
			var code int
			if terminal {
				cmd := exec.Command(kanikorunBinary(t), args...)
				cmd.Env = os.Environ()
				f, err := pty.Start(cmd)
				if err != nil {
					t.Fatal(err)
				}
				b, _ := io.ReadAll(f) // EIO when the process exits
				_ = cmd.Wait()
				f.Close()
				out, code = string(b), cmd.ProcessState.ExitCode()
			} else {
				r := kanikorun(t, args...)
				out, code = r.stdout, r.code
			}
			if code != 0 {
				t.Fatalf("exit %d:\n%s", code, out)
			}
			if !strings.Contains(out, "Pulling from pulled/executor-"+name) || !strings.Contains(out, "Pull complete") {
				t.Errorf("no pull progress:\n%q", out)
			}
			// On a terminal the progress is redrawn in place (cursor
			// movement); in a pipe it is plain lines without escapes.
			hasEscapes := strings.Contains(out, "\x1b[")
			if hasEscapes != terminal {
				t.Errorf("terminal=%v but escape sequences present=%v:\n%q", terminal, hasEscapes, out)
			}
			if _, err := cli.ImageInspect(ctx, ref); err != nil {
				t.Errorf("pulled image not in the daemon: %v", err)
			}
			assertNothingLeft(t, ctxDir, tmp)
		})
	}
}

// pushFreshStandIn pushes the stand-in with one extra layer of random
// content, so the daemon has a layer to download and shows progress for it.
func pushFreshStandIn(t *testing.T, repo string) string {
	t.Helper()
	ctx := context.Background()
	img, err := testbed.StandIn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	layer, err := random.Layer(64<<10, types.DockerLayer)
	if err != nil {
		t.Fatal(err)
	}
	if img, err = mutate.AppendLayers(img, layer); err != nil {
		t.Fatal(err)
	}
	tag, err := name.NewTag(reg.Ref(repo + ":latest"))
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(tag, img, remote.WithContext(ctx), remote.WithAuth(reg.Authenticator())); err != nil {
		t.Fatal(err)
	}
	return tag.String()
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
