package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kanikorun/kanikorun/creds/credstest"
	"github.com/kanikorun/kanikorun/internal/testbed"
)

// i15Job writes a Job that builds /workspace/app of claim sources and
// pushes dest with the credentials of Secret regcred (items:
// .dockerconfigjson -> config.json at /kaniko/.docker). secret, when not
// empty, is that Secret's .dockerconfigjson, put in the stream.
func i15Job(t *testing.T, dest, secret string) string {
	t.Helper()
	doc := ""
	if secret != "" {
		doc = fmt.Sprintf("apiVersion: v1\nkind: Secret\nmetadata: {name: regcred}\ntype: kubernetes.io/dockerconfigjson\nstringData:\n  .dockerconfigjson: '%s'\n---\n", secret)
	}
	doc += fmt.Sprintf(`apiVersion: batch/v1
kind: Job
metadata: {name: issue15}
spec:
  template:
    spec:
      restartPolicy: Never
      containers:
      - name: kaniko
        image: %s
        args: ["--context=dir:///workspace/app", "--dockerfile=Dockerfile", "--destination=%s"]
        volumeMounts:
        - {name: src, mountPath: /workspace}
        - {name: docker-config, mountPath: /kaniko/.docker}
      volumes:
      - name: src
        persistentVolumeClaim: {claimName: sources}
      - name: docker-config
        secret:
          secretName: regcred
          items: [{key: .dockerconfigjson, path: config.json}]
`, executorImage, dest)
	p := filepath.Join(t.TempDir(), "job.yaml")
	if err := os.WriteFile(p, []byte(doc), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// Issue 15 item 6: replay resolves a Secret's credsStore on the host, as
// build does, and the push lands; the secret shows nowhere.
func TestIssue15ReplayResolvesSecretCredsStore(t *testing.T) {
	testbed.RequireDocker(t)
	cfg := ecJSON(t, map[string]any{"credsStore": ecStore})
	for _, tc := range []struct{ name, secretFlag string }{{"--secret file", "file"}, {"Secret in the stream", ""}} {
		t.Run(tc.name, func(t *testing.T) {
			tmp := ecSetup(t, ecStore)
			credstest.Store(t, ecStore, map[string]credstest.Cred{reg.Addr: {Username: reg.Username, Secret: reg.Password}})
			claim := writeTree(t, t.TempDir(), map[string]string{
				"app/Dockerfile": "FROM scratch\nCOPY hello.txt /hello.txt\n",
				"app/hello.txt":  "hello from a credsStore secret",
			})
			dest := reg.Ref("issue15/replay-store:" + strings.ReplaceAll(strings.TrimPrefix(tc.name, "--"), " ", "-"))
			args := []string{"replay", "--executor-pull", "never", "--claim", "sources=" + claim}
			var manifest string
			if tc.secretFlag != "" {
				args = append(args, "--secret", "regcred="+filepath.Join(ecConfigDir(t, cfg), "config.json"))
				manifest = i15Job(t, dest, "")
			} else {
				manifest = i15Job(t, dest, cfg)
			}
			r := kanikorun(t, append(args, manifest)...)
			if r.code != 0 {
				t.Fatalf("replay failed:\n%s", r)
			}
			if strings.Contains(r.stderr, "credsStore") || strings.Contains(r.stderr, "docker-credential-") {
				t.Errorf("replay still warns about or fails on the helper:\n%s", r)
			}
			files, _ := ecImageFiles(t, reg, dest)
			if files["hello.txt"] != "hello from a credsStore secret" {
				t.Errorf("pushed image files = %v", files)
			}
			if strings.Contains(r.stdout+r.stderr, reg.Password) || strings.Contains(r.stdout+r.stderr, ecBasicAuth(reg.Username, reg.Password)) {
				t.Errorf("the output carries the secret")
			}
			kubeNoReplayContainer(t, "Job/issue15")
			kubeEmptyDir(t, tmp)
		})
	}

	// The helper missing on the host: one line naming the Secret, exit 2,
	// nothing started, nothing pushed.
	t.Run("helper missing", func(t *testing.T) {
		tmp := ecSetup(t)
		claim := writeTree(t, t.TempDir(), map[string]string{"app/Dockerfile": "FROM scratch\n"})
		dest := reg.Ref("issue15/replay-missing:1")
		before := len(reg.Requests())
		r := kanikorun(t, "replay", "--executor-pull", "never", "--claim", "sources="+claim, i15Job(t, dest, `{"credsStore":"kanikorun-i15-absent"}`))
		if r.code != 2 {
			t.Fatalf("exit %d, want 2:\n%s", r.code, r)
		}
		lines := ecLinesWith(r.stderr, "kanikorun: ")
		if len(lines) != 1 || !strings.Contains(lines[0], `secret "regcred"`) || !strings.Contains(lines[0], "docker-credential-kanikorun-i15-absent") {
			t.Errorf("want one line naming the Secret and the helper:\n%s", r)
		}
		if n := len(ecRequestsSince(reg, before)); n != 0 {
			t.Errorf("the registry saw %d requests", n)
		}
		kubeNoReplayContainer(t, "Job/issue15")
		kubeEmptyDir(t, tmp)
	})
}

// Issue 15 item 7: a --docker-config that does not exist stops build,
// creds and replay with exit 2 and one line, before anything starts.
func TestIssue15MissingDockerConfig(t *testing.T) {
	testbed.RequireDocker(t)
	tmp := isolate(t)
	ctxDir := buildContext(t, map[string]string{"Dockerfile": "FROM scratch\nCOPY a /a\n", "a": "a"})
	missing := filepath.Join(t.TempDir(), "no-such-docker-config")
	before := len(reg.Requests())
	claim := writeTree(t, t.TempDir(), map[string]string{"app/Dockerfile": "FROM scratch\n"})
	inline := ecJSON(t, map[string]any{"auths": map[string]any{reg.Addr: map[string]string{"auth": ecBasicAuth(reg.Username, reg.Password)}}})
	for name, args := range map[string][]string{
		"build":  {"build", "-t", reg.Ref("issue15/missing-config:1"), "--executor-image", executorImage, "--executor-pull", "never", "--docker-config", missing, ctxDir},
		"creds":  {"creds", "-t", reg.Ref("issue15/missing-config:1"), "--docker-config", missing, ctxDir},
		"replay": {"replay", "--executor-pull", "never", "--docker-config", missing, "--claim", "sources=" + claim, i15Job(t, reg.Ref("issue15/missing-config:2"), inline)},
	} {
		t.Run(name, func(t *testing.T) {
			r := kanikorun(t, args...)
			if r.code != 2 {
				t.Fatalf("exit %d, want 2:\n%s", r.code, r)
			}
			want := fmt.Sprintf("kanikorun: reading --docker-config %q: docker config directory does not exist; pass the directory holding config.json", missing)
			if lines := strings.Split(strings.TrimSpace(r.stderr), "\n"); len(lines) != 1 || !strings.HasPrefix(lines[0], want) {
				t.Errorf("stderr is not the one line %q...:\n%s", want, r)
			}
			if strings.Contains(r.stderr, "docker login") {
				t.Errorf("a docker login hint for a typo:\n%s", r)
			}
		})
	}
	if n := len(ecRequestsSince(reg, before)); n != 0 {
		t.Errorf("the registry saw %d requests", n)
	}
	assertNothingLeft(t, ctxDir, tmp)
	kubeNoReplayContainer(t, "Job/issue15")
}

// Issue 15 item 17: --claim pointing at the context instead of the claim
// holding it gets one hint line, before the executor fails.
func TestIssue15ClaimIsTheContext(t *testing.T) {
	testbed.RequireDocker(t)
	tmp := isolate(t)
	anon, err := testbed.StartRegistry("", "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(anon.Close)
	manifest := kubeSeedCopy(t, "job-workspace.yaml", executorImage, anon.Ref("issue15/claim:1"), "")
	seed := kubeSeedWorkspace(t)
	wrong := filepath.Join(seed, "my-build")
	hint := fmt.Sprintf(`kanikorun: warning: --claim kaniko-workspace points at %q, which looks like the build context itself: it holds "Dockerfile" but no "my-build"; pass its parent directory (the pod reads the context from /workspace/my-build)`, wrong)

	r := kanikorun(t, "replay", "--executor-pull", "never", "--claim", "kaniko-workspace="+wrong, manifest)
	if r.code == 0 {
		t.Errorf("replay of the context as the claim succeeded:\n%s", r)
	}
	if got := ecLinesWith(r.stderr, hint); len(got) != 1 {
		t.Errorf("want the hint once:\n%s\n%s", hint, r)
	}
	kubeNoReplayContainer(t, "Job/build-image")

	r = kanikorun(t, "replay", "--executor-pull", "never", "--claim", "kaniko-workspace="+seed, manifest)
	if r.code != 0 || strings.Contains(r.stderr, "looks like the build context") {
		t.Errorf("the right claim: want success and no hint:\n%s", r)
	}
	kubeNoReplayContainer(t, "Job/build-image")
	kubeEmptyDir(t, tmp)
}
