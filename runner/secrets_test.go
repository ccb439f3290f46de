package runner

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kanikorun/kanikorun/internal/spec"
)

// Each secret is a read-only file under /kaniko/kanikorun-secrets (an env= secret
// too, never container environment), the executor is told its container
// path only, what it prints of a value shows as ***, and nothing is left
// in TMPDIR, whether the build succeeds or fails.
func TestBuildMountsSecretsAndMasksThem(t *testing.T) {
	for _, exit := range []int{0, 3} {
		tmp := t.TempDir()
		t.Setenv("TMPDIR", tmp)
		src := filepath.Join(t.TempDir(), "tok.txt")
		if err := os.WriteFile(src, []byte("file-s3cret-1\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		lookup := func(k string) (string, bool) { return "env-s3cret-2", k == "TOKEN" }
		secrets, err := spec.ParseSecrets([]string{"id=tok,src=" + src, "id=env,env=TOKEN"}, lookup)
		if err != nil {
			t.Fatal(err)
		}
		f := &fakeEngine{haveImage: true, exitCode: exit,
			stdout: "step 1\nfile-s3cret-1\nenv-s3cret-2 and ZmlsZS1zM2NyZXQtMQo=\n",
			stderr: "error: env-s3cret-2",
		}
		checked := 0
		f.onStart = func() {
			for _, m := range f.created.AllMounts() {
				want := map[string]string{"/kaniko/kanikorun-secrets/tok": "file-s3cret-1\n", "/kaniko/kanikorun-secrets/env": "env-s3cret-2"}[m.Target]
				if want == "" {
					continue
				}
				checked++
				st, err := os.Stat(m.Source)
				got, _ := os.ReadFile(m.Source)
				if !m.ReadOnly || err != nil || st.Mode().Perm() != 0o444 || string(got) != want || !strings.HasPrefix(m.Source, tmp) {
					t.Errorf("secret mount %+v: mode %v, %v, content %q", m, st.Mode(), err, got)
				}
			}
			for _, s := range append(append([]string(nil), f.created.Args...), f.created.Env...) {
				if strings.Contains(s, "s3cret") {
					t.Errorf("the container's args or env hold a secret: %q", s)
				}
			}
			for _, want := range []string{"--secret=id=tok,src=/kaniko/kanikorun-secrets/tok", "--secret=id=env,src=/kaniko/kanikorun-secrets/env"} {
				if !strings.Contains(strings.Join(f.created.Args, " "), want) {
					t.Errorf("args %q lack %q", f.created.Args, want)
				}
			}
		}
		b := testBuild(t)
		b.Secrets = secrets
		var stdout, stderr bytes.Buffer
		r := &Runner{Engine: f, Stdout: &stdout, Stderr: &stderr}
		res, err := r.Build(context.Background(), Local{Build: b, Network: "none"})
		if err != nil || res.ExitCode != exit {
			t.Fatalf("exit %d, %v", res.ExitCode, err)
		}
		if checked != 2 {
			t.Errorf("%d secret mounts, want 2", checked)
		}
		if want := "step 1\n***\n*** and ***\n"; stdout.String() != want {
			t.Errorf("stdout %q, want %q", stdout.String(), want)
		}
		if want := "error: ***"; stderr.String() != want {
			t.Errorf("stderr %q, want %q (the held-back tail flushed)", stderr.String(), want)
		}
		if left, _ := os.ReadDir(tmp); len(left) != 0 {
			t.Errorf("exit %d: left in TMPDIR: %v", exit, left)
		}
	}
}

// The dry run's line names where the secrets would be, not what they are.
func TestDryRunShowsSecretPathsOnly(t *testing.T) {
	t.Parallel()
	b := testBuild(t)
	b.Secrets = []spec.Secret{{ID: "tok", File: "/home/me/tok.txt"}}
	line := DryRun(b, "none")
	for _, want := range []string{`"type=bind,source=$KANIKORUN_TMP/secrets/tok,target=/kaniko/kanikorun-secrets/tok,readonly"`, " --secret=id=tok,src=/kaniko/kanikorun-secrets/tok"} {
		if !strings.Contains(line, want) {
			t.Errorf("dry run %s lacks %s", line, want)
		}
	}
	if strings.Contains(line, "/home/me/tok.txt") {
		t.Errorf("dry run names the host file, which the run copies first: %s", line)
	}
}
