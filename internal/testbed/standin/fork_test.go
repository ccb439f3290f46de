package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/tarball"

	"github.com/kanikorun/kanikorun/internal/testbed"
)

// buildAs is build in the given mode ("fork", or "" for upstream).
func buildAs(t *testing.T, flavor string, files map[string]string, extra ...string) (v1.Image, result) {
	t.Helper()
	ctxDir := writeContext(t, files)
	tarPath := filepath.Join(t.TempDir(), "image.tar")
	args := append([]string{"--context=dir://" + ctxDir + "/", "--destination=example.com/test/app:1", "--no-push", "--tar-path=" + tarPath}, extra...)
	var stdout, stderr bytes.Buffer
	code := runFlavor(context.Background(), flavor, args, &stdout, &stderr)
	r := result{code: code, stdout: stdout.String(), stderr: stderr.String()}
	if code != 0 {
		return nil, r
	}
	img, err := tarball.ImageFromPath(tarPath, nil)
	if err != nil {
		t.Fatalf("reading the tarball: %v", err)
	}
	return img, r
}

// secretFile writes a secret to a file outside the context.
func secretFile(t *testing.T, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "tok")
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// Fork mode follows the fork where kanikorun relies on it (--target list,
// --secret, heredocs); upstream mode stays upstream.
func TestForkMode(t *testing.T) {
	t.Parallel()
	tok := secretFile(t, "s3cret-token\n")
	// An environment secret: PATH is set wherever tests run.
	envSecret := os.Getenv("PATH")
	const stages = shStage +
		"FROM sh AS app\nCOPY a /a\nRUN echo built app\n" +
		"FROM sh AS test\nCOPY b /b\nRUN echo built test\n" +
		"FROM sh\nRUN echo built last\n"
	files := map[string]string{"Dockerfile": stages, "sh": "#!", "a": "A", "b": "B"}
	df := func(s string) map[string]string {
		return map[string]string{"Dockerfile": shStage + "FROM sh\n" + s, "sh": "#!"}
	}
	tests := []struct {
		name       string
		flavor     string
		files      map[string]string
		args       []string
		wantCode   int
		wantStdout []string
		noStdout   []string
		wantStderr string
		wantFiles  map[string]string
	}{
		{name: "fork target list builds each, pushes the first", flavor: "fork", files: files, args: []string{"--target=test,app"},
			wantStdout: []string{"built app", "built test"}, noStdout: []string{"built last"},
			wantFiles: map[string]string{"bin/sh": "#!", "b": "B"}},
		{name: "fork repeated target", flavor: "fork", files: files, args: []string{"--target", "app", "--target", "test"},
			wantStdout: []string{"built app", "built test"}, noStdout: []string{"built last"},
			wantFiles: map[string]string{"bin/sh": "#!", "a": "A"}},
		{name: "fork single target", flavor: "fork", files: files, args: []string{"--target=app"},
			wantStdout: []string{"built app"}, noStdout: []string{"built test"},
			wantFiles: map[string]string{"bin/sh": "#!", "a": "A"}},
		{name: "fork target list naming no stage", flavor: "fork", files: files, args: []string{"--target=app,nope"},
			wantCode: 1, wantStderr: "nope is not a valid target build stage"},
		{name: "upstream refuses a target list", flavor: "", files: files, args: []string{"--target=app,test"},
			wantCode: 1, wantStderr: "app,test is not a valid target build stage"},
		{name: "upstream single target", flavor: "upstream", files: files, args: []string{"--target=app"},
			wantStdout: []string{"built app"}, noStdout: []string{"built test"},
			wantFiles: map[string]string{"bin/sh": "#!", "a": "A"}},
		{name: "fork secret from a file", flavor: "fork", files: df("RUN --mount=type=secret,id=tok cat /run/secrets/tok\n"),
			args: []string{"--secret", "id=tok,src=" + tok}, wantStdout: []string{"s3cret-token"}},
		{name: "fork secret at a target", flavor: "fork", files: df("RUN --mount=type=secret,id=tok,target=/root/.tok cat /root/.tok\n"),
			args: []string{"--secret=id=tok,src=" + tok}, wantStdout: []string{"s3cret-token"}},
		{name: "fork secret from the environment", flavor: "fork", files: df("RUN --mount=type=secret,id=tok cat /run/secrets/tok\n"),
			args: []string{"--secret=id=tok,env=PATH"}, wantStdout: []string{envSecret}},
		{name: "fork secret not given", flavor: "fork", files: df("RUN --mount=type=secret,id=other cat /run/secrets/other\n"),
			args: []string{"--secret=id=tok,src=" + tok}, wantCode: 1, wantStderr: "can't open '/run/secrets/other'"},
		{name: "fork required secret not given", flavor: "fork", files: df("RUN --mount=type=secret,id=other,required cat /run/secrets/other\n"),
			wantCode: 1, wantStderr: "secret other not defined"},
		{name: "fork bad secret", flavor: "fork", files: df("RUN true\n"), args: []string{"--secret=src=" + tok},
			wantCode: 1, wantStderr: "id is required"},
		{name: "upstream has no --secret", flavor: "", files: df("RUN echo hi\n"), args: []string{"--secret=id=tok,src=" + tok},
			wantCode: 1, wantStderr: "unknown flag: --secret"},
		{name: "upstream ignores the secret mount", flavor: "", files: df("RUN --mount=type=secret,id=tok cat /run/secrets/tok\n"),
			wantCode: 1, wantStderr: "can't open '/run/secrets/tok'"},
		{name: "fork runs a heredoc", flavor: "fork", files: df("ENV WHO=heredoc\nRUN <<EOF\necho hello $WHO\necho second line\nEOF\n"),
			wantStdout: []string{"hello heredoc", "second line"}},
		{name: "fork skips a quoted heredoc", flavor: "fork", files: df("RUN echo before\nRUN <<'EOF'\necho skipped\nEOF\nRUN echo after\n"),
			wantStdout: []string{"before", "after"}, noStdout: []string{"skipped"}},
		{name: "fork skips a double-quoted heredoc", flavor: "fork", files: df("RUN <<\"EOF\"\nexit 3\nEOF\n")},
		{name: "upstream drops a heredoc body", flavor: "", files: df("RUN <<EOF\necho hello\nexit 3\nEOF\n"),
			noStdout: []string{"hello"}},
		{name: "cat a file of the stage", flavor: "", files: map[string]string{"Dockerfile": shStage + "FROM sh\nCOPY a /etc/a\nRUN cat /etc/a\n", "sh": "#!", "a": "content-a"},
			wantStdout: []string{"content-a"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			img, r := buildAs(t, tc.flavor, tc.files, tc.args...)
			if r.code != tc.wantCode {
				t.Fatalf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", r.code, tc.wantCode, r.stdout, r.stderr)
			}
			if !strings.Contains(r.stderr, tc.wantStderr) {
				t.Errorf("stderr lacks %q:\n%s", tc.wantStderr, r.stderr)
			}
			for _, s := range tc.wantStdout {
				if !strings.Contains(r.stdout, s) {
					t.Errorf("stdout lacks %q:\n%s", s, r.stdout)
				}
			}
			for _, s := range tc.noStdout {
				if strings.Contains(r.stdout, s) {
					t.Errorf("stdout has %q:\n%s", s, r.stdout)
				}
			}
			if img != nil && tc.wantFiles != nil {
				got, err := testbed.Files(img)
				if err != nil {
					t.Fatal(err)
				}
				if !reflect.DeepEqual(got, tc.wantFiles) {
					t.Errorf("files = %v, want %v", got, tc.wantFiles)
				}
			}
		})
	}
}

func TestForkVersionAndFlavor(t *testing.T) {
	t.Parallel()
	for flavor, want := range map[string]string{"fork": forkVersion, "": executorVersion, "upstream": executorVersion} {
		var stdout, stderr bytes.Buffer
		if code := runFlavor(context.Background(), flavor, []string{"version"}, &stdout, &stderr); code != 0 || !strings.Contains(stdout.String(), want) {
			t.Errorf("%q: version exit %d, %q; want %s", flavor, code, stdout.String(), want)
		}
	}
	var stdout, stderr bytes.Buffer
	if code := runFlavor(context.Background(), "forked", []string{"version"}, &stdout, &stderr); code != 1 || !strings.Contains(stderr.String(), flavorEnv) {
		t.Errorf("unknown flavour: exit %d, %q", code, stderr.String())
	}
}
