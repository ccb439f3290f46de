package testbed

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/client"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/tarball"

	"github.com/kanikorun/kanikorun/internal/spec"
	"github.com/kanikorun/kanikorun/internal/testfs"
)

// Shared by the package's tests; set up once in TestMain.
var (
	executorImage string    // the stand-in, loaded into the daemon
	reg           *Registry // basic auth, 127.0.0.1
	shBase        string    // a base image with /bin/sh, for RUN steps
)

func TestMain(m *testing.M) {
	os.Exit(func() int {
		ctx := context.Background()
		var err error
		if reg, err = StartRegistry("kanikorun", RandomPassword()); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		defer reg.Close()
		if shBase, err = reg.PushBase(ctx, "base/sh:1", map[string]string{"bin/sh": "#!", "etc/os-release": "testbed"}, []string{"BASE=1"}, map[string]string{"base": "yes"}); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		cli, err := Docker(ctx)
		if MainSkipOrFail(err) {
			defer cli.Close()
			if executorImage, err = StandInImage(ctx, cli); err != nil {
				fmt.Fprintln(os.Stderr, err)
				return 1
			}
		}
		return m.Run()
	}())
}

// workspace makes a build context directory from path -> content.
func workspace(t *testing.T, files map[string]string) string {
	t.Helper()
	return testfs.WriteTree(t, t.TempDir(), files)
}

// emptyFile creates a file to bind-mount: the daemon would make a
// directory of a missing source.
func emptyFile(t *testing.T) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(p, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// runExecutor runs the stand-in image as kanikorun runs the executor: host
// network, context read-only at /workspace, the docker config read-only at
// /kaniko/.docker/config.json, plus extra binds. It checks that no labelled
// container is left.
func runExecutor(t *testing.T, cli *client.Client, ctxDir, dockerConfig string, args []string, extra ...Bind) RunResult {
	t.Helper()
	binds := []Bind{{Source: ctxDir, Target: spec.WorkspaceDir, ReadOnly: true}}
	if dockerConfig != "" {
		binds = append(binds, Bind{Source: dockerConfig, Target: spec.DockerConfigPath, ReadOnly: true})
	}
	labels := Labels(t)
	labels[spec.ManagedLabel] = "true"
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	res, err := Run(ctx, cli, RunOptions{Image: executorImage, Args: args, Binds: append(binds, extra...), Labels: labels})
	if err != nil {
		t.Fatal(err)
	}
	left, err := Containers(ctx, cli, labels)
	if err != nil {
		t.Fatal(err)
	}
	if len(left) > 0 {
		t.Errorf("Run left containers behind: %v", left)
	}
	return res
}

func TestStandInImageLayout(t *testing.T) {
	t.Parallel()
	cli := RequireDocker(t)
	ctx := context.Background()
	inspect, err := cli.ImageInspect(ctx, executorImage)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(inspect.Config.Env, ExecutorEnv) {
		t.Errorf("Env = %q, want %q", inspect.Config.Env, ExecutorEnv)
	}
	if !reflect.DeepEqual(inspect.Config.Entrypoint, []string{"/kaniko/executor"}) || inspect.Config.WorkingDir != "/workspace" {
		t.Errorf("Entrypoint %q WorkingDir %q", inspect.Config.Entrypoint, inspect.Config.WorkingDir)
	}
	again, err := StandInImage(ctx, cli)
	if err != nil || again != executorImage {
		t.Errorf("second StandInImage = %q, %v; want the cached %q", again, err, executorImage)
	}

	created, err := cli.ContainerCreate(ctx, &container.Config{Image: executorImage, Labels: Labels(t)}, nil, nil, nil, "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cli.ContainerRemove(context.Background(), created.ID, container.RemoveOptions{Force: true})
	})
	for _, tc := range []struct {
		path string
		dir  bool
		perm os.FileMode
	}{
		{"/kaniko", true, 0o777},
		{"/kaniko/.docker", true, 0o755},
		{"/kaniko/executor", false, 0o755},
		{"/kaniko/ssl/certs/ca-certificates.crt", false, 0o644},
		{"/etc/nsswitch.conf", false, 0o644},
		{"/workspace", true, 0o755},
	} {
		st, err := cli.ContainerStatPath(ctx, created.ID, tc.path)
		if err != nil {
			t.Errorf("%s: %v", tc.path, err)
			continue
		}
		if st.Mode.IsDir() != tc.dir || st.Mode.Perm() != tc.perm {
			t.Errorf("%s: mode %v, want dir=%v perm %v", tc.path, st.Mode, tc.dir, tc.perm)
		}
	}
	ids, err := Containers(ctx, cli, Labels(t))
	if err != nil || len(ids) != 1 || ids[0] != created.ID {
		t.Errorf("Containers = %v, %v; want the created %s", ids, err, created.ID)
	}
}

func TestStandInRootfsLayout(t *testing.T) {
	t.Parallel()
	rootfs, err := StandInRootfs(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(bytes.NewReader(rootfs))
	got := map[string]int64{}
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		got[h.Name] = h.Mode
		if h.Name == "kaniko/executor" && h.Size < 1<<20 {
			t.Errorf("kaniko/executor is only %d bytes", h.Size)
		}
	}
	for p, mode := range map[string]int64{"kaniko/": 0o777, "kaniko/.docker/": 0o755, "kaniko/executor": 0o755, "workspace/": 0o755, "etc/nsswitch.conf": 0o644} {
		if got[p] != mode {
			t.Errorf("%s: mode %o, want %o (entries %v)", p, got[p], mode, got)
		}
	}
}

// The end-to-end path kanikorun takes: FROM a base in the authenticated
// loopback registry, COPY, ENV, LABEL, push with the mounted config, digest
// through a bind mount on /dev/termination-log.
func TestStandInContainerBuildsAndPushes(t *testing.T) {
	t.Parallel()
	cli := RequireDocker(t)
	ctxDir := workspace(t, map[string]string{
		"Dockerfile":    "FROM " + shBase + "\nCOPY app/ /app/\nENV GREETING=hello\nLABEL stage=test\nRUN echo from-run\n",
		"app/main.txt":  "main",
		"app/skip.log":  "skip",
		".dockerignore": "**/*.log\n",
	})
	cfg, err := reg.WriteDockerConfig(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	digestFile := emptyFile(t)
	dest := reg.Addr + "/e2e/app:1"
	args := []string{"--context=dir:///workspace/", "--dockerfile=/workspace/Dockerfile", "--destination=" + dest,
		"--digest-file=" + spec.TerminationLog, "--label=build=42"}
	res := runExecutor(t, cli, ctxDir, cfg, args, Bind{Source: digestFile, Target: spec.TerminationLog})
	if res.ExitCode != 0 {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", res.ExitCode, res.Stdout, res.Stderr)
	}
	argv, err := ParseArgv(res.Stderr)
	if err != nil || !reflect.DeepEqual(argv, args) {
		t.Errorf("ParseArgv = %q, %v; want %q", argv, err, args)
	}
	if !strings.Contains(res.Stdout, "from-run") {
		t.Errorf("RUN echo output missing from stdout %q", res.Stdout)
	}
	for _, want := range []string{"Pushing image to " + dest, "Pushed " + reg.Addr + "/e2e/app@sha256:"} {
		if !strings.Contains(res.Stderr, want) {
			t.Errorf("log lacks %q:\n%s", want, res.Stderr)
		}
	}

	img, err := reg.Image("e2e/app:1")
	if err != nil {
		t.Fatal(err)
	}
	files, err := Files(img)
	if err != nil {
		t.Fatal(err)
	}
	if want := map[string]string{"bin/sh": "#!", "etc/os-release": "testbed", "app/main.txt": "main"}; !reflect.DeepEqual(files, want) {
		t.Errorf("files = %v, want %v", files, want)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	if want := map[string]string{"base": "yes", "stage": "test", "build": "42"}; !reflect.DeepEqual(cf.Config.Labels, want) {
		t.Errorf("labels = %v, want %v", cf.Config.Labels, want)
	}
	if want := []string{"BASE=1", "GREETING=hello"}; !reflect.DeepEqual(cf.Config.Env, want) {
		t.Errorf("env = %q, want %q", cf.Config.Env, want)
	}
	d, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	written, err := os.ReadFile(digestFile)
	if err != nil {
		t.Fatal(err)
	}
	if string(written) != d.String() {
		t.Errorf("digest through /dev/termination-log = %q, registry has %s", written, d)
	}
	var authedPut bool
	for _, q := range reg.Requests() {
		if q.Method == "PUT" && q.Path == "/v2/e2e/app/manifests/1" && q.Status == 201 && q.User == reg.Username {
			authedPut = true
		}
	}
	if !authedPut {
		t.Error("no authenticated manifest PUT for e2e/app:1")
	}
}

func TestStandInContainerFailures(t *testing.T) {
	t.Parallel()
	cli := RequireDocker(t)
	goodConfig, err := reg.WriteDockerConfig(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	wrong := &Registry{Addr: reg.Addr, Username: reg.Username, Password: "wrong"}
	badConfig, err := wrong.WriteDockerConfig(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	dest := "--destination=" + reg.Addr + "/fail/app:1"
	tests := []struct {
		name       string
		dockerfile string
		config     string
		args       []string
		wantCode   int
		wantStderr string
	}{
		{"wrong password fails before the build", "FROM scratch\nCOPY Dockerfile /\n", badConfig, []string{dest}, 1,
			`error checking push permissions -- make sure you entered the correct tag name, and that you are authenticated correctly, and try again: checking push permission for "` + reg.Addr + `/fail/app:1": `},
		{"unknown flag", "FROM scratch\n", goodConfig, []string{dest, "--foo"}, 1, "Error: unknown flag: --foo"},
		{"positional argument", "FROM scratch\n", goodConfig, []string{dest, "/workspace"}, 1, `Error: unknown command "/workspace" for "executor"`},
		{"failing RUN keeps its code", "FROM " + shBase + "\nRUN exit 3\n", goodConfig, []string{dest}, 3,
			"error building image: error building stage: failed to execute command: waiting for process to exit: exit status 3"},
		{"WORKDIR on the read-only context", "FROM scratch\nWORKDIR /workspace/x\n", goodConfig, []string{dest}, 1, "mkdir /workspace/x: read-only file system"},
		{"COPY onto the read-only context", "FROM scratch\nCOPY Dockerfile /workspace/copy\n", goodConfig, []string{dest}, 1, "/workspace/copy: read-only file system"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ctxDir := workspace(t, map[string]string{"Dockerfile": tc.dockerfile})
			res := runExecutor(t, cli, ctxDir, tc.config, tc.args)
			if res.ExitCode != tc.wantCode {
				t.Fatalf("exit %d, want %d\nstderr:\n%s", res.ExitCode, tc.wantCode, res.Stderr)
			}
			if !strings.Contains(res.Stderr, tc.wantStderr) {
				t.Errorf("stderr lacks %q:\n%s", tc.wantStderr, res.Stderr)
			}
			if _, err := os.Stat(filepath.Join(ctxDir, "x")); err == nil {
				t.Error("the read-only context was written to")
			}
		})
	}
}

// --tar-path onto a bind-mounted single file, as the runner mounts the
// host's output file at spec.LocalTarPath: written in place (same inode).
func TestStandInTarPathOnBindMountedFile(t *testing.T) {
	t.Parallel()
	cli := RequireDocker(t)
	ctxDir := workspace(t, map[string]string{"Dockerfile": "FROM scratch\nCOPY a.txt /a.txt\n", "a.txt": "A"})
	tarFile := emptyFile(t)
	before, err := os.Stat(tarFile)
	if err != nil {
		t.Fatal(err)
	}
	const local = "kanikorun.local/ctx:abc"
	res := runExecutor(t, cli, ctxDir, "", []string{"--context=dir:///workspace/", "--destination=" + local, "--no-push", "--tar-path=" + spec.LocalTarPath},
		Bind{Source: tarFile, Target: spec.LocalTarPath})
	if res.ExitCode != 0 {
		t.Fatalf("exit %d\nstderr:\n%s", res.ExitCode, res.Stderr)
	}
	after, err := os.Stat(tarFile)
	if err != nil {
		t.Fatal(err)
	}
	if !os.SameFile(before, after) {
		t.Error("the tarball replaced the bind-mounted file instead of writing into it")
	}
	tag, err := name.NewTag(local)
	if err != nil {
		t.Fatal(err)
	}
	img, err := tarball.ImageFromPath(tarFile, &tag)
	if err != nil {
		t.Fatalf("the tarball does not hold %s: %v", local, err)
	}
	files, err := Files(img)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(files, map[string]string{"a.txt": "A"}) {
		t.Errorf("files = %v", files)
	}
}

// The daemon pulls the stand-in from the loopback registry over plain
// HTTP, but only with RegistryAuth.
func TestDaemonPullsStandInFromRegistry(t *testing.T) {
	t.Parallel()
	cli := RequireDocker(t)
	ctx := context.Background()
	ref, err := reg.PushStandIn(ctx, "pull/executor:test")
	if err != nil {
		t.Fatal(err)
	}
	if rc, err := cli.ImagePull(ctx, ref, image.PullOptions{}); err == nil {
		err = readJSONMessages(rc)
		rc.Close()
		if err == nil {
			t.Fatal("the daemon pulled without credentials; is the registry enforcing auth?")
		}
	}
	rc, err := cli.ImagePull(ctx, ref, image.PullOptions{RegistryAuth: reg.RegistryAuth()})
	if err != nil {
		t.Fatal(err)
	}
	err = readJSONMessages(rc)
	rc.Close()
	if err != nil {
		t.Fatalf("pulling %s: %v", ref, err)
	}
	t.Cleanup(func() {
		_, _ = cli.ImageRemove(context.Background(), ref, image.RemoveOptions{})
	})
	pulled, err := cli.ImageInspect(ctx, ref)
	if err != nil {
		t.Fatal(err)
	}
	loaded, err := cli.ImageInspect(ctx, executorImage)
	if err != nil {
		t.Fatal(err)
	}
	if pulled.ID != loaded.ID {
		t.Errorf("pulled image %s differs from the loaded stand-in %s", pulled.ID, loaded.ID)
	}
}

// SIGTERM ends a build at once: like kaniko, the stand-in leaves the signal
// to the Go runtime, which exits with status 2 when it is PID 1.
func TestStandInStopsOnSIGTERM(t *testing.T) {
	t.Parallel()
	cli := RequireDocker(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	ctxDir := workspace(t, map[string]string{"Dockerfile": "FROM " + shBase + "\nRUN sleep 600\n"})
	cfg, err := reg.WriteDockerConfig(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	created, err := cli.ContainerCreate(ctx, &container.Config{
		Image:  executorImage,
		Cmd:    []string{"--no-push"},
		Labels: Labels(t),
	}, &container.HostConfig{
		NetworkMode: "host",
		Binds:       []string{ctxDir + ":/workspace:ro", cfg + ":" + spec.DockerConfigPath + ":ro"},
	}, nil, nil, "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cli.ContainerRemove(context.Background(), created.ID, container.RemoveOptions{Force: true})
	})
	waitC, errC := cli.ContainerWait(ctx, created.ID, container.WaitConditionNextExit)
	if err := cli.ContainerStart(ctx, created.ID, container.StartOptions{}); err != nil {
		t.Fatal(err)
	}
	for !logsContain(ctx, t, cli, created.ID, "Running: [/bin/sh -c sleep 600]") {
		select {
		case <-ctx.Done():
			t.Fatal("the build never reached RUN sleep")
		case <-time.After(50 * time.Millisecond):
		}
	}
	if err := cli.ContainerKill(ctx, created.ID, "SIGTERM"); err != nil {
		t.Fatal(err)
	}
	select {
	case w := <-waitC:
		if w.StatusCode != 2 {
			t.Errorf("exit %d after SIGTERM, want 2 (Go runtime, PID 1)", w.StatusCode)
		}
	case err := <-errC:
		t.Fatal(err)
	}
}

func logsContain(ctx context.Context, t *testing.T, cli *client.Client, id, s string) bool {
	t.Helper()
	rc, err := cli.ContainerLogs(ctx, id, container.LogsOptions{ShowStdout: true, ShowStderr: true})
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	b, _ := io.ReadAll(rc)
	return bytes.Contains(b, []byte(s))
}
