package main

import (
	"context"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/v1/tarball"

	"github.com/kanikorun/kanikorun/internal/testbed"
)

// The fork-mode image (testbed.StandInForkImage) on the real Docker
// engine, run as kanikorun runs the executor (context read-only at
// /workspace, the secret file read-only, the tarball written in place):
// --target a,b builds both and pushes the first, --secret serves the
// secret mount, a heredoc runs and a quoted one is skipped with exit 0.
// The upstream image refuses the list and the flag, as kaniko v1.24.0.
func TestForkImageInDocker(t *testing.T) {
	t.Parallel()
	cli := testbed.RequireDocker(t)
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	forkImage, err := testbed.StandInForkImage(ctx, cli)
	if err != nil {
		t.Fatal(err)
	}
	upstreamImage, err := testbed.StandInImage(ctx, cli)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(forkImage, testbed.StandInForkRepository+":") || forkImage == upstreamImage {
		t.Errorf("fork image %q, upstream %q", forkImage, upstreamImage)
	}
	got, err := cli.ImageInspect(ctx, forkImage)
	if err != nil {
		t.Fatal(err)
	}
	if !contains(got.Config.Env, testbed.StandInFlavorEnv+"=fork") {
		t.Errorf("fork image env %q lacks %s=fork", got.Config.Env, testbed.StandInFlavorEnv)
	}

	ctxDir := writeContext(t, map[string]string{
		"Dockerfile": shStage +
			"FROM sh AS app\nCOPY a /a\n" +
			"RUN --mount=type=secret,id=tok cat /run/secrets/tok\n" +
			"RUN <<'EOF'\necho quoted-heredoc-ran\nEOF\n" +
			"RUN <<EOF\necho heredoc-ran\nEOF\n" +
			"FROM sh AS test\nRUN echo built-test\n" +
			"FROM sh\nRUN echo built-last\n",
		"sh": "#!", "a": "A",
	})
	tmp := t.TempDir()
	tok := filepath.Join(tmp, "tok")
	tarPath := filepath.Join(tmp, "image.tar")
	for _, f := range []struct{ path, data string }{{tok, "s3cret-from-file\n"}, {tarPath, ""}} {
		if err := os.WriteFile(f.path, []byte(f.data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	binds := []testbed.Bind{
		{Source: ctxDir, Target: "/workspace", ReadOnly: true},
		{Source: tok, Target: "/kaniko/kanikorun-secrets/tok", ReadOnly: true},
		{Source: tarPath, Target: "/out/image.tar"},
	}
	base := []string{"--context=dir:///workspace/", "--no-push", "--destination=example.com/t/app:1", "--tar-path=/out/image.tar"}
	run := func(image string, args ...string) testbed.RunResult {
		t.Helper()
		labels := testbed.Labels(t)
		res, err := testbed.Run(ctx, cli, testbed.RunOptions{Image: image, Args: append(append([]string(nil), base...), args...), Binds: binds, Labels: labels, Network: "none"})
		if err != nil {
			t.Fatal(err)
		}
		if left, err := testbed.Containers(ctx, cli, labels); err != nil || len(left) > 0 {
			t.Errorf("containers left: %v, %v", left, err)
		}
		return res
	}

	res := run(forkImage, "--target=app,test", "--secret=id=tok,src=/kaniko/kanikorun-secrets/tok")
	if res.ExitCode != 0 {
		t.Fatalf("fork: exit %d\nstdout:\n%s\nstderr:\n%s", res.ExitCode, res.Stdout, res.Stderr)
	}
	for _, want := range []string{"s3cret-from-file", "heredoc-ran", "built-test"} {
		if !strings.Contains(res.Stdout, want) {
			t.Errorf("fork: stdout lacks %q:\n%s", want, res.Stdout)
		}
	}
	for _, not := range []string{"quoted-heredoc-ran", "built-last"} {
		if strings.Contains(res.Stdout, not) {
			t.Errorf("fork: stdout has %q:\n%s", not, res.Stdout)
		}
	}
	img, err := tarball.ImageFromPath(tarPath, nil)
	if err != nil {
		t.Fatal(err)
	}
	files, err := testbed.Files(img)
	if err != nil {
		t.Fatal(err)
	}
	if want := map[string]string{"bin/sh": "#!", "a": "A"}; !reflect.DeepEqual(files, want) {
		t.Errorf("fork: pushed image files = %v, want the first target's %v", files, want)
	}

	if res := run(upstreamImage, "--target=app,test"); res.ExitCode != 1 || !strings.Contains(res.Stderr, "app,test is not a valid target build stage") {
		t.Errorf("upstream --target list: exit %d\n%s", res.ExitCode, res.Stderr)
	}
	if res := run(upstreamImage, "--target=app", "--secret=id=tok,src=/kaniko/kanikorun-secrets/tok"); res.ExitCode != 1 || !strings.Contains(res.Stderr, "unknown flag: --secret") {
		t.Errorf("upstream --secret: exit %d\n%s", res.ExitCode, res.Stderr)
	}
	// Upstream ignores the secret mount: the cat finds nothing.
	if res := run(upstreamImage, "--target=app"); res.ExitCode != 1 || !strings.Contains(res.Stderr, "can't open '/run/secrets/tok'") {
		t.Errorf("upstream secret mount: exit %d\n%s", res.ExitCode, res.Stderr)
	}
}
