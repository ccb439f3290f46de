package main

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/tarball"

	"github.com/kanikorun/kanikorun/internal/spec"
	"github.com/kanikorun/kanikorun/internal/testbed"
	"github.com/kanikorun/kanikorun/runner"
)

// TestStreamMode forces --context-mode stream on the real engine: the
// context goes on the executor's stdin with the .dockerignore applied,
// the credentials are copied in (the push needs them), a Dockerfile from
// outside the context is copied in, --tar and --digest-file come back
// out, and nothing is left behind: no container, no temporary file.
func TestStreamMode(t *testing.T) {
	tmp := isolate(t)
	testbed.RequireDocker(t)
	base := baseImage(t)
	ctxDir := buildContext(t, map[string]string{
		"Dockerfile":     "FROM " + base + "\nCOPY . /app/\n",
		".dockerignore":  "secret.txt\nbuild/\n",
		"a.txt":          "A\n",
		"secret.txt":     "do not send\n",
		"build/out.o":    "obj\n",
		"sub/b.txt":      "B\n",
		"outside/x.file": "",
	})
	out := t.TempDir()
	dest := reg.Ref("stream/app:1")
	r := kanikorun(t, "build", ctxDir, "--context-mode", "stream", "-t", dest, "--tar", filepath.Join(out, "img.tar"),
		"--digest-file", filepath.Join(out, "digest"), "--iidfile", filepath.Join(out, "iid"), "--executor-image", executorImage, "--executor-pull", "never", "--docker-config", registryConfig(t))
	if r.code != 0 {
		t.Fatalf("stream build failed:\n%s", r)
	}
	if !strings.Contains(r.stderr, "kanikorun: context mode stream") {
		t.Errorf("the mode is not said:\n%s", r.stderr)
	}
	argv, err := testbed.ParseArgv(r.stderr)
	if err != nil {
		t.Fatal(err)
	}
	if !kubeContains(argv, "--context=tar://stdin") {
		t.Errorf("argv %q lacks --context=tar://stdin", argv)
	}
	img, err := reg.Image(dest)
	if err != nil {
		t.Fatal(err)
	}
	files, err := testbed.Files(img)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"app/a.txt", "app/sub/b.txt", "app/Dockerfile"} {
		if _, ok := files[want]; !ok {
			t.Errorf("image lacks %s: %v", want, files)
		}
	}
	for _, never := range []string{"app/secret.txt", "app/build/out.o"} {
		if _, ok := files[never]; ok {
			t.Errorf("image holds %s, which .dockerignore excludes", never)
		}
	}
	d, _ := img.Digest()
	if got, _ := os.ReadFile(filepath.Join(out, "digest")); strings.TrimSpace(string(got)) != d.String() || r.lastLine() != d.String() {
		t.Errorf("digest file %q, last line %q, want %s", got, r.lastLine(), d)
	}
	if _, err := tarball.ImageFromPath(filepath.Join(out, "img.tar"), nil); err != nil {
		t.Errorf("--tar output: %v", err)
	}
	// --iidfile: the config digest, as docker build writes it.
	if cfg, err := img.ConfigName(); err != nil {
		t.Error(err)
	} else if got, _ := os.ReadFile(filepath.Join(out, "iid")); strings.TrimSpace(string(got)) != cfg.String() {
		t.Errorf("--iidfile %q, want the config digest %s", got, cfg)
	}
	if strings.Contains(r.stdout+r.stderr, reg.Password) {
		t.Errorf("the registry password leaked")
	}
	assertNothingLeft(t, ctxDir, tmp)

	// The cache volume lives on the daemon's side and works as in bind
	// mode: the rebuild fetches no blob of the base image.
	baseRef, err := name.ParseReference(base)
	if err != nil {
		t.Fatal(err)
	}
	repo := baseRef.Context().RepositoryStr()
	skip := len(reg.Requests())
	r = kanikorun(t, "build", ctxDir, "--context-mode", "stream", "--no-push", "--executor-image", executorImage, "--executor-pull", "never", "--docker-config", registryConfig(t))
	if r.code != 0 {
		t.Fatalf("stream rebuild failed:\n%s", r)
	}
	if n := blobGets(skip, repo); n != 0 {
		t.Errorf("the stream-mode rebuild fetched %d base blobs, want 0 (repo %s)", n, repo)
	}

	// A Dockerfile outside the context is copied in.
	df := filepath.Join(t.TempDir(), "Other.Dockerfile")
	if err := os.WriteFile(df, []byte("FROM scratch\nCOPY a.txt /a.txt\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cli := testbed.RequireDocker(t)
	r = kanikorun(t, "build", ctxDir, "-f", df, "--load", "--context-mode", "stream", "--executor-image", executorImage, "--executor-pull", "never")
	if r.code != 0 || !strings.HasPrefix(r.lastLine(), "sha256:") {
		t.Fatalf("stream build with -f outside the context:\n%s", r)
	}
	// --load: the tarball came out of the container and into the daemon.
	loaded := kubeLines(r.stderr, "kanikorun: loaded image ")
	if len(loaded) != 1 {
		t.Fatalf("stream build --load loaded %q:\n%s", loaded, r.stderr)
	}
	testbed.CleanupImage(t, cli, strings.TrimPrefix(loaded[0], "kanikorun: loaded image "))
	assertNothingLeft(t, ctxDir, tmp)
}

// TestStreamModeWithKanikoDir: with --kaniko-dir after -- the executor
// copies /kaniko there and removes /kaniko before it builds (the stand-in
// as kaniko's checkKanikoDir), which a mount point under /kaniko would
// make fail. Stream mode mounts nothing there: the push finds the copied
// credentials in the moved directory and the digest comes back. Bind mode
// is refused before anything starts.
func TestStreamModeWithKanikoDir(t *testing.T) {
	tmp := isolate(t)
	testbed.RequireDocker(t)
	ctxDir := buildContext(t, map[string]string{"Dockerfile": "FROM " + baseImage(t) + " AS first\nRUN echo first\nFROM " + baseImage(t) + "\nCOPY a.txt /a.txt\n", "a.txt": "A\n"})
	dest := reg.Ref("stream/kaniko-dir:1")
	common := []string{"build", ctxDir, "-t", dest, "--executor-image", executorImage, "--executor-pull", "never", "--docker-config", registryConfig(t)}
	r := kanikorun(t, append(append(common, "--context-mode", "stream"), "--", "--kaniko-dir=/k")...)
	if r.code != 0 {
		t.Fatalf("stream build with --kaniko-dir failed:\n%s", r)
	}
	img, err := reg.Image(dest)
	if err != nil {
		t.Fatalf("the push did not land: %v", err)
	}
	if d, _ := img.Digest(); r.lastLine() != d.String() {
		t.Errorf("last line %q, want the pushed digest %s", r.lastLine(), d)
	}
	assertNothingLeft(t, ctxDir, tmp)

	r = kanikorun(t, append(append(common, "--context-mode", "bind"), "--", "--kaniko-dir=/k")...)
	if r.code != 2 || !strings.Contains(r.stderr, "cannot be used with the bind mounts of a local build") {
		t.Errorf("bind mode with --kaniko-dir: want exit 2 and the refusal:\n%s", r)
	}
	assertNothingLeft(t, ctxDir, tmp)
}

// TestStreamAutoForTCPDaemon reaches the daemon through a tcp:// address
// (a proxy in the test forwards a loopback port to the daemon's socket):
// a tcp:// daemon is remote, even on loopback, so auto mode streams.
func TestStreamAutoForTCPDaemon(t *testing.T) {
	tmp := isolate(t)
	testbed.RequireDocker(t)
	proxy := testbed.NewDaemonProxyTCP(t)
	t.Setenv("DOCKER_HOST", proxy.Host)
	ctxDir := buildContext(t, map[string]string{"Dockerfile": "FROM scratch\nCOPY a.txt /a.txt\n", "a.txt": "a\n"})
	r := kanikorun(t, "build", ctxDir, "--executor-image", executorImage, "--executor-pull", "never")
	if r.code != 0 {
		t.Fatalf("build through tcp:// failed:\n%s", r)
	}
	want := "kanikorun: context mode stream: the daemon at " + proxy.Host + " is remote"
	if !strings.Contains(r.stderr, want) {
		t.Errorf("stderr lacks %q:\n%s", want, r.stderr)
	}
	argv, err := testbed.ParseArgv(r.stderr)
	if err != nil {
		t.Fatal(err)
	}
	if !kubeContains(argv, "--context=tar://stdin") {
		t.Errorf("argv %q lacks --context=tar://stdin", argv)
	}
	assertNothingLeft(t, ctxDir, tmp)
}

// TestStreamOverSSHDaemon reaches the daemon as ssh://USER@127.0.0.1:PORT
// through a real sshd (the docker client's connection helper runs ssh,
// and docker system dial-stdio on the far side): an ssh:// daemon is
// remote, so auto mode streams the context on stdin through ssh, copies
// the credentials in and the outputs back out, and the cache volume
// on the daemon's side keeps the base image.
func TestStreamOverSSHDaemon(t *testing.T) {
	testbed.RequireDocker(t)
	// sshd's keys and configuration stay outside the run's TMPDIR, which
	// must be empty after each build.
	sshd := testbed.StartSSHDaemon(t)
	tmp := isolate(t)
	base := baseImage(t)
	t.Setenv("PATH", sshd.PathDir+string(os.PathListSeparator)+os.Getenv("PATH"))
	// kanikorun runs in this process: DOCKER_HOST names the ssh:// daemon
	// for its runs only, the test's own checks use the socket.
	prev := os.Getenv("DOCKER_HOST")
	t.Setenv("DOCKER_HOST", prev)
	viaSSH := func(args ...string) result {
		os.Setenv("DOCKER_HOST", sshd.Host)
		defer os.Setenv("DOCKER_HOST", prev)
		return kanikorun(t, args...)
	}
	ctxDir := buildContext(t, map[string]string{
		"Dockerfile":    "FROM " + base + "\nCOPY . /app/\n",
		".dockerignore": "secret.txt\n",
		"a.txt":         "A\n",
		"secret.txt":    "do not send\n",
	})
	out := t.TempDir()
	dest := reg.Ref("ssh/app:1")
	logins := sshd.Logins()
	r := viaSSH("build", ctxDir, "-t", dest, "--tar", filepath.Join(out, "img.tar"), "--digest-file", filepath.Join(out, "digest"),
		"--executor-image", executorImage, "--executor-pull", "never", "--docker-config", registryConfig(t))
	if r.code != 0 {
		logged, _ := os.ReadFile(sshd.Log)
		t.Fatalf("build through ssh:// failed:\n%s\nsshd log:\n%s", r, logged)
	}
	if want := "kanikorun: context mode stream: the daemon at " + sshd.Host + " is remote"; !strings.Contains(r.stderr, want) {
		t.Errorf("stderr lacks %q:\n%s", want, r.stderr)
	}
	if n := sshd.Logins() - logins; n == 0 {
		t.Errorf("the build made no ssh login")
	} else {
		t.Logf("the build's API connections took %d ssh logins", n)
	}
	img, err := reg.Image(dest)
	if err != nil {
		t.Fatalf("the push did not land: %v", err)
	}
	files, err := testbed.Files(img)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := files["app/a.txt"]; !ok {
		t.Errorf("image lacks app/a.txt: %v", files)
	}
	if _, ok := files["app/secret.txt"]; ok {
		t.Errorf("image holds app/secret.txt, which .dockerignore excludes")
	}
	d, _ := img.Digest()
	if got, _ := os.ReadFile(filepath.Join(out, "digest")); strings.TrimSpace(string(got)) != d.String() || r.lastLine() != d.String() {
		t.Errorf("digest file %q, last line %q, want %s", got, r.lastLine(), d)
	}
	if _, err := tarball.ImageFromPath(filepath.Join(out, "img.tar"), nil); err != nil {
		t.Errorf("--tar output through ssh: %v", err)
	}
	assertNothingLeft(t, ctxDir, tmp)

	baseRef, err := name.ParseReference(base)
	if err != nil {
		t.Fatal(err)
	}
	skip := len(reg.Requests())
	r = viaSSH("build", ctxDir, "--no-push", "--executor-image", executorImage, "--executor-pull", "never", "--docker-config", registryConfig(t))
	if r.code != 0 {
		t.Fatalf("rebuild through ssh:// failed:\n%s", r)
	}
	if n := blobGets(skip, baseRef.Context().RepositoryStr()); n != 0 {
		t.Errorf("the rebuild through ssh:// fetched %d base blobs, want 0", n)
	}
	assertNothingLeft(t, ctxDir, tmp)
}

// TestGCRemovesAKilledStreamRun: a stream-mode container cannot use
// AutoRemove, so one whose kanikorun was killed (SIGKILL) stays once the
// executor exits; `kanikorun gc` removes it.
func TestGCRemovesAKilledStreamRun(t *testing.T) {
	tmp := isolate(t)
	cli := testbed.RequireDocker(t)
	base := baseImage(t)
	ctxDir := buildContext(t, map[string]string{"Dockerfile": "FROM " + base + "\nRUN sleep 1\n"})
	cmd, _, rest := startUntil(t, "Running: [/bin/sh -c sleep 1]", "build", ctxDir, "--no-cache", "--context-mode", "stream",
		"--executor-image", executorImage, "--executor-pull", "never", "--docker-config", registryConfig(t))
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, rest)
	_ = cmd.Wait()
	left := func() []string {
		ids, err := testbed.Containers(context.Background(), cli, map[string]string{spec.ContextLabel: ctxDir})
		if err != nil {
			t.Fatal(err)
		}
		return ids
	}
	if len(left()) != 1 {
		t.Fatalf("the killed run left %d containers, want its one", len(left()))
	}
	// The context is unpacked on a volume of its own, labelled with the
	// run, not in the container's file system.
	info, err := cli.ContainerInspect(context.Background(), left()[0])
	if err != nil {
		t.Fatal(err)
	}
	var unpacked string
	for _, m := range info.Mounts {
		if m.Destination == "/kaniko/buildcontext" && m.Type == "volume" {
			unpacked = m.Name
		}
	}
	if unpacked == "" {
		t.Fatalf("no volume at /kaniko/buildcontext: %+v", info.Mounts)
	}
	if v, err := cli.VolumeInspect(context.Background(), unpacked); err != nil || !strings.HasPrefix(v.Labels[runner.RunLabel], tmp) {
		t.Errorf("the context volume: %v, labels %v; want the run's label", err, v.Labels)
	}
	// The executor finishes its sleep and exits; gc leaves running ones.
	deadline := time.Now().Add(30 * time.Second)
	for {
		r := kanikorun(t, "gc")
		if r.code != 0 {
			t.Fatalf("gc failed:\n%s", r)
		}
		if len(left()) == 0 {
			if !strings.Contains(r.stdout, "removed container ") {
				t.Errorf("gc did not say what it removed:\n%s", r)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("gc left the killed run's container")
		}
		time.Sleep(500 * time.Millisecond)
	}
	if _, err := cli.VolumeInspect(context.Background(), unpacked); err == nil {
		t.Errorf("gc left the context volume %s", unpacked)
	}
	assertNothingLeft(t, ctxDir, tmp)
}

// TestStreamCtrlCAndTimeout: in stream mode, without AutoRemove, Ctrl-C
// and --timeout still remove the container and every temporary file.
func TestStreamCtrlCAndTimeout(t *testing.T) {
	tmp := isolate(t)
	testbed.RequireDocker(t)
	ctxDir := buildContext(t, map[string]string{"Dockerfile": "FROM " + baseImage(t) + "\nRUN sleep 60\n"})
	cfg := registryConfig(t)
	cmd, _, stderr := startUntil(t, "sleep 60", "build", "--context-mode", "stream", "--executor-image", executorImage, "--executor-pull", "never", "--docker-config", cfg, ctxDir)
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	rest, _ := io.ReadAll(stderr)
	_ = cmd.Wait()
	if code := cmd.ProcessState.ExitCode(); code != 130 {
		t.Errorf("Ctrl-C: exit code %d, want 130; stderr %s", code, rest)
	}
	assertNothingLeft(t, ctxDir, tmp)

	r := kanikorun(t, "build", "--context-mode", "stream", "--timeout", "2s", "--executor-image", executorImage, "--executor-pull", "never", "--docker-config", cfg, ctxDir)
	if r.code != 124 {
		t.Errorf("--timeout: exit code %d, want 124:\n%s", r.code, r)
	}
	assertNothingLeft(t, ctxDir, tmp)
}
