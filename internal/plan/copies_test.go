package plan

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/kanikorun/kanikorun/internal/spec"
)

// replayLike is a replay's plan as kube.Manifest.Plan makes it: the
// workspace claim read-only, an output claim writable, a Secret's
// directory read-only, a subPath file inside the workspace, a named
// volume and the termination log.
func replayLike() Container {
	return Container{
		Image:      "exec:1",
		Entrypoint: []string{"/kaniko/executor", "--digest-file", "/dev/termination-log"},
		Args: []string{"--context=dir:///workspace/app", "--tar-path=/out/image.tar", "--digest-file=/dev//termination-log",
			"--oci-layout-path=/out/layout", "--image-name-with-digest-file=/workspace/name", "--image-name-tag-with-digest-file=rel/tag"},
		WorkingDir: "/work",
		Mounts: []Mount{
			{Source: "/host/claim", Target: "/workspace", ReadOnly: true},
			{Source: "/host/out", Target: "/out/"},
			{Source: "/tmp/replay/volumes/docker-config", Target: "/kaniko/.docker", ReadOnly: true},
			{Source: "/host/extra/Dockerfile", Target: "/workspace/app/Dockerfile", ReadOnly: true},
			{Source: "/host/work", Target: "/work"},
		},
		Volumes:    []VolumeMount{{Name: "cache", Target: "/cache"}},
		DigestFile: "/tmp/replay/termination-log",
		Labels:     map[string]string{"a": "b"},
	}
}

func TestMountsToCopiesCopiesEveryMountIn(t *testing.T) {
	t.Parallel()
	c := replayLike()
	got := MountsToCopies(c, nil)
	if len(got.Mounts) != 0 || len(got.AllMounts()) != 0 || got.DigestFile != "" {
		t.Errorf("bind mounts left: %+v, digest file %q", got.AllMounts(), got.DigestFile)
	}
	if !got.KeepAfterExit {
		t.Errorf("the container is not kept for the copies out")
	}
	// Outer targets first; the workspace copy leaves out the Dockerfile
	// its own mount puts there. Mode zero: host modes, trees.
	want := []CopyIn{
		{Source: "/host/claim", Target: "/workspace", Skip: []string{"/workspace/app/Dockerfile"}},
		{Source: "/host/out", Target: "/out"},
		{Source: "/host/work", Target: "/work"},
		{Source: "/tmp/replay/volumes/docker-config", Target: "/kaniko/.docker"},
		{Source: "/host/extra/Dockerfile", Target: "/workspace/app/Dockerfile"},
	}
	if !reflect.DeepEqual(got.CopyIn, want) {
		t.Errorf("copies in\n%+v\nwant\n%+v", got.CopyIn, want)
	}
	if !reflect.DeepEqual(got.Volumes, c.Volumes) {
		t.Errorf("named volumes %+v, want them mounted as before", got.Volumes)
	}
	if !reflect.DeepEqual(c, replayLike()) {
		t.Errorf("the transform changed its input")
	}
}

func TestMountsToCopiesCopiesWrittenOutputsOut(t *testing.T) {
	t.Parallel()
	c := replayLike()
	flags, err := spec.ParseExecutorArgs(c.ExecutorArgs())
	if err != nil {
		t.Fatal(err)
	}
	outputs := ExecutorOutputs(flags, c.WorkingDir)
	if want := []string{"/out/image.tar", "/workspace/name", "/work/rel/tag", "/out/layout"}; !reflect.DeepEqual(outputs, want) {
		t.Errorf("ExecutorOutputs = %q, want %q (the termination log is the digest file's)", outputs, want)
	}
	got := MountsToCopies(c, append(outputs, "/nowhere/x", "/out/image.tar"))
	// /workspace/name is in a read-only mount: the host claim is never
	// written; /nowhere is in no mount; the duplicate goes once.
	want := []CopyOut{
		{Source: "/out/image.tar", Target: "/host/out/image.tar", Within: "/host/out", Optional: true, Create: true},
		{Source: "/work/rel/tag", Target: "/host/work/rel/tag", Within: "/host/work", Optional: true, Create: true},
		{Source: "/out/layout", Target: "/host/out/layout", Within: "/host/out", Optional: true, Create: true},
		{Source: spec.StreamDigestFile, Target: "/tmp/replay/termination-log"},
	}
	if !reflect.DeepEqual(got.CopyOut, want) {
		t.Errorf("copies out\n%+v\nwant\n%+v", got.CopyOut, want)
	}
	if got.DigestFrom != "/tmp/replay/termination-log" {
		t.Errorf("DigestFrom %q", got.DigestFrom)
	}
}

// The arguments stay the manifest's, but for the termination log, which
// no copy reaches: both spellings, in the command and in the args.
func TestMountsToCopiesKeepsTheArguments(t *testing.T) {
	t.Parallel()
	c := replayLike()
	got := MountsToCopies(c, nil)
	if want := []string{"/kaniko/executor", "--digest-file", spec.StreamDigestFile}; !reflect.DeepEqual(got.Entrypoint, want) {
		t.Errorf("entrypoint %q, want %q", got.Entrypoint, want)
	}
	wantArgs := append([]string(nil), c.Args...)
	wantArgs[2] = "--digest-file=" + spec.StreamDigestFile
	if !reflect.DeepEqual(got.Args, wantArgs) {
		t.Errorf("args\n%q\nwant\n%q", got.Args, wantArgs)
	}

	// No termination log: the arguments are untouched.
	c = Container{Args: []string{"--digest-file=/out/d", "--", "--digest-file=/dev/termination-log"}, Mounts: []Mount{{Source: "/h", Target: "/out"}}}
	got = MountsToCopies(c, []string{"/out/d"})
	if !reflect.DeepEqual(got.Args, c.Args) || got.DigestFrom != "" {
		t.Errorf("args %q, DigestFrom %q; want the input's, none", got.Args, got.DigestFrom)
	}
	// A value split over the command and the args.
	c = Container{Entrypoint: []string{"/kaniko/executor", "--digest-file"}, Args: []string{"/dev/termination-log", "-c", "/w"}, DigestFile: "/tmp/d"}
	got = MountsToCopies(c, nil)
	if want := []string{spec.StreamDigestFile, "-c", "/w"}; !reflect.DeepEqual(got.Args, want) || !reflect.DeepEqual(got.Entrypoint, c.Entrypoint) {
		t.Errorf("entrypoint %q args %q", got.Entrypoint, got.Args)
	}
}

// A writable mount hidden by a deeper read-only one does not take the
// output; a deeper writable one does.
func TestMountsToCopiesDeepestMountDecides(t *testing.T) {
	t.Parallel()
	c := Container{Mounts: []Mount{
		{Source: "/h/rw", Target: "/data"},
		{Source: "/h/ro", Target: "/data/ro", ReadOnly: true},
		{Source: "/h/deep", Target: "/data/ro/rw"},
	}}
	got := MountsToCopies(c, []string{"/data/a", "/data/ro/b", "/data/ro/rw/c", "/data"})
	var targets []string
	for _, o := range got.CopyOut {
		targets = append(targets, o.Target)
	}
	if want := []string{"/h/rw/a", "/h/deep/c", "/h/rw"}; !reflect.DeepEqual(targets, want) {
		t.Errorf("copied out to %q, want %q", targets, want)
	}
	if skip := got.CopyIn[0].Skip; !reflect.DeepEqual(skip, []string{"/data/ro", "/data/ro/rw"}) {
		t.Errorf("the outer copy skips %q", skip)
	}
}

func TestCopyPlanSaysWhatIsCopied(t *testing.T) {
	t.Parallel()
	got := MountsToCopies(replayLike(), []string{"/out/image.tar"})
	plan := got.CopyPlan()
	for _, want := range []string{
		"#   /host/claim -> /workspace (without /workspace/app/Dockerfile)\n",
		"#   /tmp/replay/volumes/docker-config -> /kaniko/.docker\n",
		"#   /out/image.tar -> /host/out/image.tar (if written)\n",
		"#   /kaniko/kanikorun-digest -> /tmp/replay/termination-log\n",
	} {
		if !strings.Contains(plan, want) {
			t.Errorf("CopyPlan lacks %q:\n%s", want, plan)
		}
	}
	for _, line := range strings.Split(strings.TrimSuffix(plan, "\n"), "\n") {
		if !strings.HasPrefix(line, "# ") {
			t.Errorf("line %q is not a shell comment", line)
		}
	}
	if run := got.DockerRun(); strings.Contains(run, "type=bind") {
		t.Errorf("the docker run line still binds: %s", run)
	}
	if (Container{}).CopyPlan() != "" {
		t.Errorf("a plan without copies says something")
	}
}

// TestMountsToCopiesKeepsDirectoriesMountPoints: a copied directory lands
// in an anonymous volume at its target, so it stays a mount point (kaniko
// deletes all else between stages and snapshots none of it), without the
// image's content there, as a mount hides it; a copied file and a target
// that already has a volume get none.
func TestMountsToCopiesKeepsDirectoriesMountPoints(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	claim, cfg, file := filepath.Join(dir, "claim"), filepath.Join(dir, "cfg"), filepath.Join(dir, "Dockerfile")
	for _, d := range []string{claim, cfg} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(file, []byte("FROM scratch\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	c := Container{
		Image: "exec:1",
		Mounts: []Mount{
			{Source: claim, Target: "/workspace/", ReadOnly: true},
			{Source: file, Target: "/workspace/app/Dockerfile", ReadOnly: true},
			{Source: cfg, Target: "/kaniko/.docker"},
			{Source: claim, Target: "/cache"},
		},
		Volumes: []VolumeMount{{Name: "cache", Target: "/cache"}},
	}
	got := MountsToCopies(c, nil)
	want := []VolumeMount{{Name: "cache", Target: "/cache"}, {Target: "/workspace", NoCopy: true}, {Target: "/kaniko/.docker", NoCopy: true}}
	if !reflect.DeepEqual(got.Volumes, want) {
		t.Errorf("volumes %+v, want %+v", got.Volumes, want)
	}
	if len(c.Volumes) != 1 {
		t.Errorf("the transform changed its input's volumes: %+v", c.Volumes)
	}
	if line := got.DockerRun(); !strings.Contains(line, "--mount type=volume,target=/workspace,volume-nocopy") {
		t.Errorf("the docker run line lacks the workspace's volume:\n%s", line)
	}
}
