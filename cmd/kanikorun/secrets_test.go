package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/kanikorun/kanikorun/internal/kube"
	"github.com/kanikorun/kanikorun/internal/testbed"
)

// The fork-mode stand-in (testbed.StandInForkImage), loaded once per test
// process when a test or script first asks for it.
var (
	forkStandInOnce sync.Once
	forkStandInRef  string
	forkStandInErr  error
)

func forkStandIn() (string, error) {
	forkStandInOnce.Do(func() {
		ctx := context.Background()
		cli, err := testbed.Docker(ctx)
		if err != nil {
			forkStandInErr = err
			return
		}
		defer cli.Close()
		forkStandInRef, forkStandInErr = testbed.StandInForkImage(ctx, cli)
	})
	return forkStandInRef, forkStandInErr
}

// cmdForkExecutor: forkexecutor sets $FORK to the fork-mode stand-in
// executor, which kanikorun needs --executor-flavor fork to know as the
// fork. Use it after [!docker] skip.
func cmdForkExecutor(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 0 {
		ts.Fatalf("usage: forkexecutor")
	}
	ref, err := forkStandIn()
	ts.Check(err)
	ts.Setenv("FORK", ref)
}

// requireFork returns the fork-mode stand-in, skipping (failing in CI) as
// RequireDocker does.
func requireFork(t *testing.T) string {
	t.Helper()
	testbed.RequireDocker(t)
	ref, err := forkStandIn()
	if err != nil {
		t.Fatalf("loading the fork-mode stand-in: %v", err)
	}
	return ref
}

// secretForms are the forms of a value no output may hold.
func secretForms(v string) []string {
	return []string{v, base64.StdEncoding.EncodeToString([]byte(v)), base64.StdEncoding.EncodeToString([]byte(v + "\n"))}
}

func holdsSecret(s, v string) bool {
	for _, f := range secretForms(v) {
		if strings.Contains(s, f) {
			return true
		}
	}
	return false
}

const secretDockerfile = "ARG BASE\nFROM $BASE\nCOPY a.txt /a.txt\nRUN --mount=type=secret,id=tok cat /run/secrets/tok\nRUN --mount=type=secret,id=npm cat /run/secrets/npm\n"

// A pushed build with a file and an env secret: the steps see both, the
// output shows *** where they print them, and neither the output, the
// executor's argv, nor the pushed image (files, config, history) holds a
// value; nothing is left in TMPDIR.
func TestSecretBuildPushesNoSecret(t *testing.T) {
	fork := requireFork(t)
	tmp := isolate(t)
	base, err := scriptBase()
	if err != nil {
		t.Fatal(err)
	}
	fileValue, envValue := "file-"+testbed.RandomPassword(), "env-"+testbed.RandomPassword()
	t.Setenv("KANIKORUN_E2E_NPM_TOKEN", envValue)
	ctxDir := buildContext(t, map[string]string{"Dockerfile": secretDockerfile, "a.txt": "A\n"})
	tok := filepath.Join(t.TempDir(), "tok.txt")
	if err := os.WriteFile(tok, []byte(fileValue+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	// In bind mode the secrets are mounted, in stream mode copied in;
	// either way read-only files the output never shows.
	for _, mode := range []string{"bind", "stream"} {
		dest := reg.Ref("secrets/build:1")
		// --no-cache: a cached RUN step would print nothing to mask.
		iid := filepath.Join(t.TempDir(), "iid")
		r := kanikorun(t, "build", "--no-cache", "--context-mode", mode, "--iidfile", iid, "-t", dest, "--executor-image", fork, "--executor-flavor", "fork", "--executor-pull", "never",
			"--docker-config", registryConfig(t), "--build-arg", "BASE="+base,
			"--secret", "id=tok,src="+tok, "--secret", "id=npm,env=KANIKORUN_E2E_NPM_TOKEN", ctxDir)
		if r.code != 0 {
			t.Fatalf("build failed:\n%s", r)
		}
		if !strings.HasPrefix(r.stdout, "***\n***") {
			t.Errorf("%s: stdout does not show *** for the two printed secrets:\n%s", mode, r)
		}
		if b, err := os.ReadFile(iid); err != nil || !strings.HasPrefix(string(b), "sha256:") {
			t.Errorf("%s: --iidfile holds %q (%v)", mode, b, err)
		}
		argv, err := testbed.ParseArgv(r.stderr)
		if err != nil {
			t.Fatal(err)
		}
		for _, want := range []string{"--secret=id=tok,src=/kaniko/kanikorun-secrets/tok", "--secret=id=npm,src=/kaniko/kanikorun-secrets/npm"} {
			if !slices.Contains(argv, want) {
				t.Errorf("argv %q lacks %q", argv, want)
			}
		}
		img, err := reg.Image(dest)
		if err != nil {
			t.Fatal(err)
		}
		files, err := testbed.Files(img)
		if err != nil {
			t.Fatal(err)
		}
		cfg, err := img.RawConfigFile()
		if err != nil {
			t.Fatal(err)
		}
		if files["a.txt"] != "A\n" {
			t.Errorf("pushed files %v", files)
		}
		for _, v := range []string{fileValue, envValue} {
			for what, s := range map[string]string{"the output": r.stdout + r.stderr, "the argv": strings.Join(argv, " "), "the image config": string(cfg), "the image files": fmt.Sprint(files)} {
				if holdsSecret(s, v) {
					t.Errorf("%s holds a secret value", what)
				}
			}
		}
		assertNothingLeft(t, ctxDir, tmp)
	}
}

// job --with-secret puts the values in the Secret <job>-secrets and
// nowhere else; replaying that output (the Secret in the stream), or the
// Job without it with --secret NAME=<the Secret's YAML>, runs the fork
// with the secrets mounted, their values masked in its output.
func TestSecretJobAndReplay(t *testing.T) {
	fork := requireFork(t)
	tmp := isolate(t)
	base, err := scriptBase()
	if err != nil {
		t.Fatal(err)
	}
	fileValue, envValue := "file-"+testbed.RandomPassword(), "env-"+testbed.RandomPassword()
	t.Setenv("KANIKORUN_E2E_NPM_TOKEN", envValue)
	claim := t.TempDir()
	ctxDir := writeTree(t, filepath.Join(claim, "app"), map[string]string{"Dockerfile": secretDockerfile, "a.txt": "A\n"})
	tok := filepath.Join(t.TempDir(), "tok.txt")
	if err := os.WriteFile(tok, []byte(fileValue+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfgDir := registryConfig(t)
	args := []string{"--name", "sec", "--credentials-secret", "regcred", "--docker-config", cfgDir, "--executor-image", fork, "--executor-flavor", "fork", "--build-arg", "BASE=" + base,
		"--secret", "id=tok,src=" + tok, "--secret", "id=npm,env=KANIKORUN_E2E_NPM_TOKEN", ctxDir}

	without := kanikorun(t, append([]string{"job"}, args...)...)
	with := kanikorun(t, append([]string{"job", "--with-secret"}, args...)...)
	for _, r := range []result{without, with} {
		if r.code != 0 {
			t.Fatalf("job failed:\n%s", r)
		}
	}
	for _, v := range []string{fileValue, envValue} {
		if holdsSecret(without.stdout+without.stderr, v) {
			t.Errorf("job without --with-secret holds a secret value:\n%s", without)
		}
	}
	objs, err := kube.Decode([]byte(with.stdout))
	if err != nil {
		t.Fatal(err)
	}
	var buildSecret *corev1.Secret
	for _, o := range objs {
		raw, err := json.Marshal(o)
		if err != nil {
			t.Fatal(err)
		}
		s, isSecret := o.(*corev1.Secret)
		if isSecret && s.Name == "sec-secrets" {
			buildSecret = s
			continue
		}
		for _, v := range []string{fileValue, envValue} {
			if holdsSecret(string(raw), v) {
				t.Errorf("%T holds a secret value", o)
			}
		}
	}
	if buildSecret == nil || string(buildSecret.Data["tok"]) != fileValue+"\n" || string(buildSecret.Data["npm"]) != envValue {
		t.Fatalf("the build's Secret is missing or wrong: %v", buildSecret != nil)
	}

	// The Secret's YAML, as kubectl get secret -o yaml would give it.
	var secretYAML bytes.Buffer
	if err := kube.Encode(&secretYAML, []runtime.Object{buildSecret}, kube.FormatYAML); err != nil {
		t.Fatal(err)
	}
	secretFile := filepath.Join(t.TempDir(), "sec-secrets.yaml")
	if err := os.WriteFile(secretFile, secretYAML.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, manifest string
		extra          []string
	}{
		{"Secret in the stream", with.stdout, nil},
		{"--secret NAME=YAML", without.stdout, []string{"--secret", "sec-secrets=" + secretFile, "--secret", "regcred=" + filepath.Join(cfgDir, "config.json")}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			manifest := filepath.Join(t.TempDir(), "job.yaml")
			if err := os.WriteFile(manifest, []byte(tc.manifest), 0o600); err != nil {
				t.Fatal(err)
			}
			rargs := append([]string{"replay", "--executor-pull", "never", "--executor-flavor", "fork", "--claim", "kaniko-workspace=" + claim}, tc.extra...)
			r := kanikorun(t, append(rargs, manifest)...)
			if r.code != 0 {
				t.Fatalf("replay failed:\n%s", r)
			}
			if !strings.HasPrefix(r.stdout, "***\n***") {
				t.Errorf("replay's stdout does not show *** for the two printed secrets:\n%s", r)
			}
			for _, v := range []string{fileValue, envValue} {
				if holdsSecret(r.stdout+r.stderr, v) {
					t.Errorf("replay's output holds a secret value")
				}
			}
			kubeNoReplayContainer(t, "Job/sec")
		})
	}
	for _, e := range func() []os.DirEntry { d, _ := os.ReadDir(tmp); return d }() {
		t.Errorf("left in TMPDIR: %s", e.Name())
	}
}
