package main

import (
	"archive/tar"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/docker/docker/api/types/mount"
	"github.com/docker/docker/client"

	"github.com/kanikorun/kanikorun/internal/kube"
	"github.com/kanikorun/kanikorun/internal/spec"
	"github.com/kanikorun/kanikorun/internal/testbed"
)

// replayStreamJob is a Job whose executor reads its context from the
// "sources" claim, writes outputs into the writable "outputs" claim and its
// digest to the termination log, and pushes with the credentials of the
// Secret "regcred". extra are further args.
func replayStreamJob(t *testing.T, name, dest string, extra ...string) (manifest string, args []string) {
	t.Helper()
	args = append([]string{
		"--context=dir:///workspace/app",
		"--dockerfile=/workspace/app/Dockerfile",
		"--destination=" + dest,
		"--digest-file=/dev/termination-log",
		"--image-name-with-digest-file=/out/name",
		"--oci-layout-path=/out/layout",
	}, extra...)
	var b strings.Builder
	b.WriteString(`apiVersion: batch/v1
kind: Job
metadata:
  name: ` + name + `
spec:
  template:
    spec:
      restartPolicy: Never
      containers:
      - name: kaniko
        image: ` + executorImage + `
        args:
`)
	for _, a := range args {
		b.WriteString("        - \"" + a + "\"\n")
	}
	b.WriteString(`        volumeMounts:
        - {name: workspace, mountPath: /workspace}
        - {name: out, mountPath: /out}
        - {name: docker-config, mountPath: /kaniko/.docker}
      volumes:
      - name: workspace
        persistentVolumeClaim: {claimName: sources}
      - name: out
        persistentVolumeClaim: {claimName: outputs}
      - name: docker-config
        secret:
          secretName: regcred
          items: [{key: .dockerconfigjson, path: config.json}]
`)
	manifest = filepath.Join(t.TempDir(), name+".yaml")
	if err := os.WriteFile(manifest, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return manifest, args
}

// replayStreamClaim is the sources claim: the context in app/ (with a
// .dockerignore kaniko applies, not kanikorun), a file outside the
// context, an executable. The Dockerfile has two stages and copies from
// the context in the second: kaniko deletes its file system between
// stages but for its own directory and the mount points, so a context
// copied onto the container's own file system would be gone by then.
func replayStreamClaim(t *testing.T, base string) string {
	t.Helper()
	dir := writeTree(t, t.TempDir(), map[string]string{
		"app/Dockerfile":    "FROM " + base + " AS first\nRUN sleep 2\nFROM " + base + "\nCOPY . /app/\n",
		"app/.dockerignore": "ignored.txt\n",
		"app/a.txt":         "A\n",
		"app/sub/b.txt":     "B\n",
		"app/ignored.txt":   "not in the image\n",
		"app/run.sh":        "#!/bin/sh\n",
		"notes/outside.txt": "beside the context\n",
	})
	if err := os.Chmod(filepath.Join(dir, "app", "run.sh"), 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// wantStreamArgv is the manifest's args as the executor gets them in
// stream mode: the same, but for the termination log.
func wantStreamArgv(args []string) []string {
	out := append([]string(nil), args...)
	for i, a := range out {
		if a == "--digest-file="+spec.TerminationLog {
			out[i] = "--digest-file=" + spec.StreamDigestFile
		}
	}
	return out
}

// seenContainer is what TestReplayStreamMode saw of the running
// executor's container.
type seenContainer struct {
	binds      []string
	autoRemove bool
	// volumes are the targets of the container's volumes.
	volumes []string
	// files are the container's /workspace and /kaniko/.docker entries by
	// path, with their modes.
	files map[string]int64
}

// watchReplay waits for the running container replayed from workload
// and reads what it holds; done ends the wait.
func watchReplay(t *testing.T, cli *client.Client, workload string, done <-chan struct{}) (*seenContainer, error) {
	ctx := context.Background()
	for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		select {
		case <-done:
			return nil, errors.New("the replay ended before its container was seen running")
		default:
		}
		ids, err := testbed.Containers(ctx, cli, map[string]string{kube.ReplayLabel: workload})
		if err != nil || len(ids) == 0 {
			continue
		}
		info, err := cli.ContainerInspect(ctx, ids[0])
		if err != nil || info.State == nil || !info.State.Running {
			continue
		}
		seen := &seenContainer{binds: info.HostConfig.Binds, autoRemove: info.HostConfig.AutoRemove, files: map[string]int64{}}
		for _, m := range info.Mounts {
			switch m.Type {
			case mount.TypeBind:
				seen.binds = append(seen.binds, m.Source+":"+m.Destination)
			case mount.TypeVolume:
				seen.volumes = append(seen.volumes, m.Destination)
			}
		}
		for _, m := range info.HostConfig.Mounts {
			if m.Type == mount.TypeBind {
				seen.binds = append(seen.binds, m.Source+":"+m.Target)
			}
		}
		for _, dir := range []string{"/workspace", "/kaniko/.docker"} {
			rc, _, err := cli.CopyFromContainer(ctx, ids[0], dir)
			if err != nil {
				return nil, err
			}
			tr := tar.NewReader(rc)
			for {
				h, err := tr.Next()
				if err == io.EOF {
					break
				}
				if err != nil {
					rc.Close()
					return nil, err
				}
				// Entries start with the directory's base name; content
				// (the credentials among it) is never read.
				seen.files[filepath.Join(filepath.Dir(dir), h.Name)] = h.Mode & 0o7777
			}
			rc.Close()
		}
		return seen, nil
	}
	return nil, errors.New("no running replay container within 60s")
}

// replayLeftNothing fails when the replay of workload left a container,
// a volume of its runs, or anything in tmp (the isolated TMPDIR).
func replayLeftNothing(t *testing.T, workload, tmp string) {
	t.Helper()
	kubeNoReplayContainer(t, workload)
	assertNoRunVolumes(t, tmp)
	kubeEmptyDir(t, tmp)
}

// TestReplayStreamMode forces --context-mode stream on the local daemon:
// the created container has no bind mount and no AutoRemove; the whole
// claim is in it (no .dockerignore applied by kanikorun, files outside the
// context too, modes kept) and the Secret's config.json with its tight
// 0600; the executor gets the manifest's args but for the termination log;
// the build reads the claim's context and pushes with the Secret's
// credentials; the digest comes back (stdout, --digest-file) and so do the
// outputs written into the writable claim; the sources claim is left as
// it was, and nothing is left behind.
func TestReplayStreamMode(t *testing.T) {
	tmp := isolate(t)
	cli := testbed.RequireDocker(t)
	claim := replayStreamClaim(t, baseImage(t))
	before := kubeTree(t, claim)
	outputs := t.TempDir()
	cfgDir := registryConfig(t)
	dest := reg.Ref("replay-stream/app:1")
	manifest, args := replayStreamJob(t, "replay-stream", dest)
	digestFile := filepath.Join(t.TempDir(), "digest")

	var r result
	done := make(chan struct{})
	go func() {
		defer close(done)
		r = kanikorun(t, "replay", "--context-mode", "stream", "--executor-pull", "never",
			"--claim", "sources="+claim, "--claim", "outputs="+outputs, "--secret", "regcred="+filepath.Join(cfgDir, "config.json"),
			"--digest-file", digestFile, manifest)
	}()
	seen, werr := watchReplay(t, cli, "Job/replay-stream", done)
	<-done
	if r.code != 0 {
		t.Fatalf("stream replay failed:\n%s", r)
	}
	if werr != nil {
		t.Fatalf("watching the container: %v", werr)
	}
	if len(seen.binds) != 0 || seen.autoRemove {
		t.Errorf("the container has bind mounts %q, AutoRemove %v; want none, false", seen.binds, seen.autoRemove)
	}
	// Each copied directory is a mount point, as the pod's volumes are.
	for _, want := range []string{"/workspace", "/out", "/kaniko/.docker"} {
		if !slices.Contains(seen.volumes, want) {
			t.Errorf("no volume at %s in the container: %q", want, seen.volumes)
		}
	}
	for p, mode := range map[string]int64{
		"/workspace/app/Dockerfile":    0o644,
		"/workspace/app/.dockerignore": 0o644,
		"/workspace/app/ignored.txt":   0o644,
		"/workspace/app/sub/b.txt":     0o644,
		"/workspace/app/run.sh":        0o755,
		"/workspace/notes/outside.txt": 0o644,
		"/kaniko/.docker/config.json":  0o600,
		"/workspace/app/a.txt":         0o644,
		"/workspace/notes":             0o755,
		"/workspace/app/sub":           0o755,
		"/kaniko/.docker":              0o700,
		"/workspace/app":               0o755,
	} {
		if got, ok := seen.files[p]; !ok || got != mode {
			t.Errorf("%s in the container: present %v, mode %o; want mode %o", p, ok, got, mode)
		}
	}

	if !strings.Contains(r.stderr, "kanikorun: context mode stream (--context-mode): copying the pod's volumes into the executor container") {
		t.Errorf("the mode is not said:\n%s", r.stderr)
	}
	if strings.Contains(r.stderr, "bind-mounts --claim") {
		t.Errorf("the bind-mount warning is shown in stream mode:\n%s", r.stderr)
	}
	argv, err := testbed.ParseArgv(r.stderr)
	if err != nil {
		t.Fatal(err)
	}
	if want := wantStreamArgv(args); !reflect.DeepEqual(argv, want) {
		t.Errorf("executor argv\n%q\nwant the manifest's but for the termination log\n%q", argv, want)
	}
	img, err := reg.Image(dest)
	if err != nil {
		t.Fatalf("the push did not land: %v\n%s", err, r)
	}
	files, err := testbed.Files(img)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"app/a.txt", "app/sub/b.txt", "app/run.sh", "app/Dockerfile"} {
		if _, ok := files[want]; !ok {
			t.Errorf("image lacks %s: %v", want, files)
		}
	}
	if _, ok := files["app/ignored.txt"]; ok {
		t.Errorf("image holds app/ignored.txt, which the context's .dockerignore excludes")
	}
	d, _ := img.Digest()
	if r.lastLine() != d.String() {
		t.Errorf("last line %q, want the pushed digest %s", r.lastLine(), d)
	}
	if got, _ := os.ReadFile(digestFile); strings.TrimSpace(string(got)) != d.String() {
		t.Errorf("--digest-file holds %q, want %s", got, d)
	}
	// The outputs the executor wrote into the writable claim came back.
	if got, _ := os.ReadFile(filepath.Join(outputs, "name")); !strings.Contains(string(got), "@"+d.String()) {
		t.Errorf("outputs/name holds %q, want the name with %s", got, d)
	}
	if _, err := os.Stat(filepath.Join(outputs, "layout", "index.json")); err != nil {
		t.Errorf("the OCI layout did not come back: %v", err)
	}
	if after := kubeTree(t, claim); !reflect.DeepEqual(after, before) {
		t.Errorf("the sources claim changed: %v, was %v", after, before)
	}
	if strings.Contains(r.stdout+r.stderr, reg.Password) {
		t.Errorf("the registry password leaked into the output")
	}
	replayLeftNothing(t, "Job/replay-stream", tmp)
}

// TestReplayStreamAutoForTCPDaemon reaches the daemon through a tcp://
// address, which counts as remote: auto mode streams and says so in build's
// words, the dry run shows the copies and no bind mount, the replay
// pushes and its digest comes back, and nothing is left. A forced bind mode
// gets its warning.
func TestReplayStreamAutoForTCPDaemon(t *testing.T) {
	tmp := isolate(t)
	testbed.RequireDocker(t)
	claim := replayStreamClaim(t, baseImage(t))
	proxy := testbed.NewDaemonProxyTCP(t)
	t.Setenv("DOCKER_HOST", proxy.Host)
	outputs := t.TempDir()
	cfg := filepath.Join(registryConfig(t), "config.json")
	dest := reg.Ref("replay-stream/tcp:1")
	manifest, args := replayStreamJob(t, "replay-stream-tcp", dest)
	maps := []string{"--claim", "sources=" + claim, "--claim", "outputs=" + outputs, "--secret", "regcred=" + cfg}

	dr := kanikorun(t, append(append([]string{"replay", "--dry-run"}, maps...), manifest)...)
	if dr.code != 0 {
		t.Fatalf("stream dry run failed:\n%s", dr)
	}
	for _, want := range []string{
		"#   " + claim + " -> /workspace\n",
		"#   /out/layout -> " + filepath.Join(outputs, "layout") + " (if written)\n",
		`#   /kaniko/kanikorun-digest -> "$KANIKORUN_TMP/termination-log"` + "\n",
		"--digest-file=/kaniko/kanikorun-digest",
	} {
		if !strings.Contains(dr.stdout, want) {
			t.Errorf("the dry run lacks %q:\n%s", want, dr.stdout)
		}
	}
	if strings.Contains(dr.stdout, "type=bind") || !strings.HasPrefix(dr.lastLine(), "docker run ") {
		t.Errorf("the dry run's last line is not a docker run line without bind mounts:\n%s", dr.stdout)
	}
	if strings.Contains(dr.stdout+dr.stderr, reg.Password) {
		t.Errorf("the dry run shows the registry password")
	}

	r := kanikorun(t, append(append([]string{"replay", "--executor-pull", "never"}, maps...), manifest)...)
	if r.code != 0 {
		t.Fatalf("replay through tcp:// failed:\n%s", r)
	}
	want := "kanikorun: context mode stream: the daemon at " + proxy.Host + " is remote, so the pod's volumes are copied into the executor container"
	if !strings.Contains(r.stderr, want) || strings.Contains(r.stderr, "bind-mounts --claim") {
		t.Errorf("stderr lacks %q, or warns of bind mounts:\n%s", want, r.stderr)
	}
	argv, err := testbed.ParseArgv(r.stderr)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(argv, wantStreamArgv(args)) {
		t.Errorf("executor argv %q, want %q", argv, wantStreamArgv(args))
	}
	img, err := reg.Image(dest)
	if err != nil {
		t.Fatalf("the push did not land: %v", err)
	}
	if d, _ := img.Digest(); r.lastLine() != d.String() {
		t.Errorf("last line %q, want %s", r.lastLine(), d)
	}
	replayLeftNothing(t, "Job/replay-stream-tcp", tmp)

	// Forced bind mode on a remote daemon: one warning line.
	br := kanikorun(t, append(append([]string{"replay", "--dry-run", "--context-mode", "bind"}, maps...), manifest)...)
	warn := "kanikorun: warning: the daemon at " + proxy.Host + " is remote: with --context-mode bind replay bind-mounts --claim, --secret and --volume paths, which must exist on the daemon's machine\n"
	if br.code != 0 || strings.Count(br.stderr, warn) != 1 || !strings.Contains(br.stdout, "type=bind,source="+claim+",target=/workspace") {
		t.Errorf("forced bind mode through tcp://: want one warning and the bind mounts:\n%s", br)
	}
	kubeEmptyDir(t, tmp)
}

// TestReplayStreamFailingExecutor: an executor that fails in stream mode
// (no AutoRemove) still has its container removed and every temporary
// file with it; no output is copied back and no digest reported.
func TestReplayStreamFailingExecutor(t *testing.T) {
	tmp := isolate(t)
	testbed.RequireDocker(t)
	base := baseImage(t)
	claim := writeTree(t, t.TempDir(), map[string]string{"app/Dockerfile": "FROM " + base + "\nRUN exit 3\n"})
	outputs := t.TempDir()
	manifest, _ := replayStreamJob(t, "replay-stream-fail", reg.Ref("replay-stream/fail:1"))
	digestFile := filepath.Join(t.TempDir(), "digest")
	r := kanikorun(t, "replay", "--context-mode", "stream", "--executor-pull", "never", "--claim", "sources="+claim, "--claim", "outputs="+outputs,
		"--secret", "regcred="+filepath.Join(registryConfig(t), "config.json"), "--digest-file", digestFile, manifest)
	// The executor's own failure, past the copies in: it ran the build.
	if r.code != 3 || !strings.Contains(r.stderr, "RUN exit 3") {
		t.Fatalf("want the executor to fail at RUN exit 3, exit code 3:\n%s", r)
	}
	if strings.HasPrefix(r.lastLine(), "sha256:") {
		t.Errorf("a failed replay printed a digest:\n%s", r)
	}
	if _, err := os.Stat(digestFile); err == nil {
		t.Errorf("--digest-file was written for a failed build")
	}
	if entries, _ := os.ReadDir(outputs); len(entries) != 0 {
		t.Errorf("outputs came back from a failed build: %v", entries)
	}
	replayLeftNothing(t, "Job/replay-stream-fail", tmp)
}

// TestGCRemovesAKilledStreamReplay: a stream-mode replay's container has
// no AutoRemove; when kanikorun is killed (SIGKILL) it stays, labelled
// with the dead run, and `kanikorun gc` removes it and the temp files.
func TestGCRemovesAKilledStreamReplay(t *testing.T) {
	tmp := isolate(t)
	testbed.RequireDocker(t)
	claim := writeTree(t, t.TempDir(), map[string]string{"app/Dockerfile": "FROM " + baseImage(t) + "\nRUN sleep 1\n"})
	manifest, _ := replayStreamJob(t, "replay-stream-killed", reg.Ref("replay-stream/killed:1"))
	cmd, _, rest := startUntil(t, "Running: [/bin/sh -c sleep 1]", "replay", "--context-mode", "stream", "--executor-pull", "never",
		"--claim", "sources="+claim, "--claim", "outputs="+t.TempDir(), "--secret", "regcred="+filepath.Join(registryConfig(t), "config.json"), manifest)
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, rest)
	_ = cmd.Wait()
	cli := testbed.RequireDocker(t)
	left := func() []string {
		ids, err := testbed.Containers(context.Background(), cli, map[string]string{kube.ReplayLabel: "Job/replay-stream-killed"})
		if err != nil {
			t.Fatal(err)
		}
		return ids
	}
	if len(left()) != 1 {
		t.Fatalf("the killed replay left %d containers, want its one", len(left()))
	}
	// Its copied directories' volumes carry the dead run's labels too.
	if n := len(runVolumes(t, tmp)); n != 3 {
		t.Errorf("the killed replay left %d labelled volumes, want 3 (/workspace, /out, /kaniko/.docker)", n)
	}
	for deadline := time.Now().Add(30 * time.Second); len(left()) > 0; time.Sleep(500 * time.Millisecond) {
		if r := kanikorun(t, "gc"); r.code != 0 {
			t.Fatalf("gc failed:\n%s", r)
		}
		if time.Now().After(deadline) {
			t.Fatalf("gc left the killed replay's container")
		}
	}
	assertNoRunVolumes(t, tmp)
	kubeEmptyDir(t, tmp)
}
