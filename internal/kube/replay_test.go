package kube

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/kanikorun/kanikorun/internal/plan"
	"github.com/kanikorun/kanikorun/internal/spec"
)

func readFixture(t *testing.T, rel string) *Manifest {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(goldenDir, rel))
	if err != nil {
		t.Fatal(err)
	}
	m, err := ReadManifest(data)
	if err != nil {
		t.Fatalf("ReadManifest(%s): %v", rel, err)
	}
	return m
}

// workspace makes a host directory that looks like the seed's claim: the
// context in my-build with a Dockerfile.
func workspace(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "my-build", "Dockerfile"), "FROM scratch\n")
	return dir
}

func writeFile(t *testing.T, p, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func plan1(t *testing.T, m *Manifest, o ReplayOptions) *Replay {
	t.Helper()
	if o.TempDir == "" {
		o.TempDir = t.TempDir()
	}
	r, err := m.Plan(o)
	if err != nil {
		t.Fatalf("Plan: %v", err)
	}
	t.Cleanup(func() {
		if err := r.Cleanup(); err != nil {
			t.Error(err)
		}
	})
	return r
}

func TestReplaySeedWorkspace(t *testing.T) {
	t.Parallel()
	m := readFixture(t, "seed/job-workspace.yaml")
	ws := workspace(t)
	r := plan1(t, m, ReplayOptions{Claims: map[string]string{"kaniko-workspace": ws}})
	want := plan.Container{
		Image: "gcr.io/kaniko-project/executor:latest",
		Args: []string{
			"--context=/workspace/my-build",
			"--dockerfile=/workspace/my-build/Dockerfile",
			"--destination=<repo-url-with-image-name>:<tag>",
		},
		Mounts: []plan.Mount{{Source: ws, Target: "/workspace", ReadOnly: true}},
		Labels: map[string]string{ReplayLabel: "Job/build-image"},
	}
	if !reflect.DeepEqual(r.Container, want) {
		t.Errorf("plan:\n got %#v\nwant %#v", r.Container, want)
	}
	if len(r.Warnings) != 0 {
		t.Errorf("warnings: %q", r.Warnings)
	}
}

func TestReplaySeedCredentials(t *testing.T) {
	t.Parallel()
	m := readFixture(t, "seed/job-credentials.yaml")
	ws, creds := workspace(t), t.TempDir()
	writeFile(t, filepath.Join(creds, "config.json"), string(fakeDockerConfig))
	r := plan1(t, m, ReplayOptions{Claims: map[string]string{"kaniko-workspace": ws, "kaniko-credentials": creds}})
	wantMounts := []plan.Mount{
		{Source: filepath.Join(creds, "config.json"), Target: spec.DockerConfigPath, ReadOnly: true},
		{Source: ws, Target: "/workspace", ReadOnly: true},
	}
	if !reflect.DeepEqual(r.Container.Mounts, wantMounts) {
		t.Errorf("mounts:\n got %+v\nwant %+v", r.Container.Mounts, wantMounts)
	}
	if r.Container.Entrypoint != nil || len(r.Container.Args) != 3 {
		t.Errorf("argv = %q %q", r.Container.Entrypoint, r.Container.Args)
	}
}

func TestReplayUnmappedVolumes(t *testing.T) {
	t.Parallel()
	ws := workspace(t)
	emptyCreds := t.TempDir()
	cases := []struct {
		name, fixture string
		o             ReplayOptions
		want          string
	}{
		{
			name: "seed without flags", fixture: "seed/job-credentials.yaml",
			want: `volumes without a host path: volume "config-json" (claim "kaniko-credentials") needs --claim kaniko-credentials=DIR; volume "workspace" (claim "kaniko-workspace") needs --claim kaniko-workspace=DIR`,
		},
		{
			name: "claim without config.json", fixture: "seed/job-credentials.yaml",
			o:    ReplayOptions{Claims: map[string]string{"kaniko-workspace": ws, "kaniko-credentials": emptyCreds}},
			want: `volumes without a host path: volume "config-json" maps to "` + filepath.Join(emptyCreds, "config.json") + `", which does not exist; create it or fix the mapping`,
		},
		{
			name: "claim dir missing", fixture: "seed/job-workspace.yaml",
			o:    ReplayOptions{Claims: map[string]string{"kaniko-workspace": filepath.Join(ws, "nope")}},
			want: `volumes without a host path: --claim kaniko-workspace=` + filepath.Join(ws, "nope") + ` is not an existing directory; point it at the claim's content`,
		},
		{
			name: "every kind at once", fixture: "replay/sidecar-hostpath.yaml",
			want: `volumes without a host path: volume "src" (claim "sources") needs --claim sources=DIR; ` +
				`volume "node-cache" (hostPath "/var/cache/kaniko" on the node) needs --volume node-cache=PATH: replay does not mount this machine's path of the same name; ` +
				`volume "creds" (secret "regcred") needs --secret regcred=FILE (a config.json or the Secret's YAML); ` +
				"volume \"settings\" (configMap \"build-settings\") needs the ConfigMap in the manifest (append `kubectl get configmap build-settings -o yaml`) or --volume settings=DIR",
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			m := readFixture(t, tc.fixture)
			tmp := t.TempDir()
			tc.o.TempDir = tmp
			r, err := m.Plan(tc.o)
			if !errors.Is(err, ErrUnmappedVolume) {
				t.Fatalf("Plan = %v, %v; want ErrUnmappedVolume", r, err)
			}
			if err.Error() != tc.want {
				t.Errorf("error:\n got %s\nwant %s", err, tc.want)
			}
			if left, _ := os.ReadDir(tmp); len(left) != 0 {
				t.Errorf("a failed Plan left %d entries in the temp dir", len(left))
			}
		})
	}
}

func TestReplayCommandFormWithStreamSecret(t *testing.T) {
	t.Parallel()
	m := readFixture(t, "replay/command-form-with-secret.yaml")
	src := t.TempDir()
	writeFile(t, filepath.Join(src, "app", "Dockerfile"), "FROM scratch\n")
	tmp := t.TempDir()
	r := plan1(t, m, ReplayOptions{Claims: map[string]string{"sources": src}, TempDir: tmp})
	c := r.Container

	wantEntry := []string{
		"/kaniko/executor",
		"--context=dir:///workspace/app",
		"--dockerfile=Dockerfile",
		"--destination=registry.example.com/team/app:v1-registry.example.com",
		"--digest-file=/dev/termination-log",
		"--cache=true",
		"--cache-dir=/cache",
		"--label=price=$(not-expanded)",
	}
	if !slices.Equal(c.Entrypoint, wantEntry) || c.Args != nil {
		t.Errorf("argv:\n got %q %q\nwant %q", c.Entrypoint, c.Args, wantEntry)
	}
	wantEnv := []string{"REGISTRY=registry.example.com", "TAG=v1-registry.example.com", "CACHE_NOTE=keep $(UNDEFINED) as written"}
	if !slices.Equal(c.Env, wantEnv) {
		t.Errorf("env = %q, want %q", c.Env, wantEnv)
	}
	if c.Image != "ghcr.io/osscontainertools/kaniko:v1.28.3" || c.Labels[ReplayLabel] != "Job/build-app" {
		t.Errorf("image %q labels %v", c.Image, c.Labels)
	}
	if len(c.Mounts) != 3 {
		t.Fatalf("mounts = %+v", c.Mounts)
	}
	ws, creds, cache := c.Mounts[0], c.Mounts[1], c.Mounts[2]
	if ws != (plan.Mount{Source: src, Target: "/workspace", ReadOnly: true}) {
		t.Errorf("workspace mount = %+v; the manifest's writable workspace must be read-only", ws)
	}
	if creds.Target != "/kaniko/.docker" || !creds.ReadOnly || !strings.HasPrefix(creds.Source, tmp) {
		t.Errorf("credentials mount = %+v", creds)
	}
	got, err := os.ReadFile(filepath.Join(creds.Source, "config.json"))
	if err != nil || !bytes.Equal(got, fakeDockerConfig) {
		t.Errorf("config.json from the stream's Secret = %q, %v", got, err)
	}
	if entries, _ := os.ReadDir(creds.Source); len(entries) != 1 {
		t.Errorf("the secret volume holds %d files; items ask for config.json only", len(entries))
	}
	if cache.Target != "/cache" || cache.ReadOnly || !strings.HasPrefix(cache.Source, tmp) {
		t.Errorf("emptyDir mount = %+v; want a writable temp dir", cache)
	}
	if st, err := os.Stat(cache.Source); err != nil || !st.IsDir() {
		t.Errorf("emptyDir source: %v", err)
	}
	if c.DigestFile == "" {
		t.Fatal("no DigestFile although the executor writes to /dev/termination-log")
	}
	if st, err := os.Stat(c.DigestFile); err != nil || !st.Mode().IsRegular() {
		t.Errorf("digest file must exist as a regular file before the run: %v", err)
	}
	if err := r.Cleanup(); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{creds.Source, cache.Source, c.DigestFile} {
		if _, err := os.Stat(p); !os.IsNotExist(err) {
			t.Errorf("%s survives Cleanup", p)
		}
	}
}

func TestReplaySecretSources(t *testing.T) {
	t.Parallel()
	fixtures := filepath.Join(goldenDir, "replay")
	src := t.TempDir()
	writeFile(t, filepath.Join(src, "app", "Dockerfile"), "FROM scratch\n")
	cases := []struct {
		name, fixture, secretFile string
		wantFile                  string
		wantWarning               string
	}{
		{name: "config.json with items", fixture: "replay/command-form-with-secret.yaml", secretFile: "config.json", wantFile: "config.json"},
		{name: "secret yaml with items", fixture: "replay/command-form-with-secret.yaml", secretFile: "secret-regcred.yaml", wantFile: "config.json"},
		{name: "secret yaml without items", fixture: "replay/sidecar-hostpath.yaml", secretFile: "secret-regcred.yaml", wantFile: ".dockerconfigjson"},
		{name: "config.json without items", fixture: "replay/sidecar-hostpath.yaml", secretFile: "config.json", wantFile: ".dockerconfigjson"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			m := readFixture(t, tc.fixture)
			o := ReplayOptions{
				Claims:  map[string]string{"sources": src},
				Secrets: map[string]string{"regcred": filepath.Join(fixtures, tc.secretFile)},
				// The sidecar fixture's node-bound volumes need explicit paths.
				Volumes: map[string]string{"node-cache": t.TempDir(), "settings": t.TempDir()},
			}
			r := plan1(t, m, o)
			var creds *plan.Mount
			for i, mt := range r.Container.Mounts {
				if mt.Target == "/kaniko/.docker" {
					creds = &r.Container.Mounts[i]
				}
			}
			if creds == nil || !creds.ReadOnly {
				t.Fatalf("credentials mount = %+v", creds)
			}
			entries, err := os.ReadDir(creds.Source)
			if err != nil || len(entries) != 1 || entries[0].Name() != tc.wantFile {
				t.Fatalf("secret volume holds %v (%v); want only %s, as the kubelet would write it", entries, err, tc.wantFile)
			}
			got, _ := os.ReadFile(filepath.Join(creds.Source, tc.wantFile))
			if tc.wantWarning == "" && !bytes.Equal(bytes.TrimSpace(got), fakeDockerConfig) {
				t.Errorf("%s = %q", tc.wantFile, got)
			}
			joined := strings.Join(r.Warnings, "\n")
			if tc.wantWarning != "" && !strings.Contains(joined, tc.wantWarning) {
				t.Errorf("warnings %q lack %q", r.Warnings, tc.wantWarning)
			}
			for _, w := range r.Warnings {
				if strings.Contains(w, "ZmFrZTpmYWtl") {
					t.Errorf("a warning quotes the credentials: %q", w)
				}
			}
		})
	}
}

func TestReplaySidecarPod(t *testing.T) {
	t.Parallel()
	m := readFixture(t, "replay/sidecar-hostpath.yaml")
	src, nodeCache, settings := t.TempDir(), t.TempDir(), t.TempDir()
	r := plan1(t, m, ReplayOptions{
		Claims:  map[string]string{"sources": src},
		Secrets: map[string]string{"regcred": filepath.Join(goldenDir, "replay", "config.json")},
		Volumes: map[string]string{"node-cache": nodeCache, "settings": settings},
	})
	c := r.Container
	if c.Image != "registry.example.com/mirror/kaniko-project/executor:v1.24.0-debug" {
		t.Errorf("picked image %q; want the kaniko container, not the sidecar", c.Image)
	}
	want := map[string]plan.Mount{
		"/src":       {Source: src, Target: "/src", ReadOnly: true},
		"/cache":     {Source: nodeCache, Target: "/cache", ReadOnly: false},
		"/etc/build": {Source: settings, Target: "/etc/build", ReadOnly: true},
	}
	for _, mt := range c.Mounts {
		if w, ok := want[mt.Target]; ok && mt != w {
			t.Errorf("mount %s = %+v, want %+v", mt.Target, mt, w)
		}
	}
	if c.DigestFile != "" {
		t.Errorf("DigestFile = %q without --digest-file=/dev/termination-log", c.DigestFile)
	}
	if !containsWarning(r.Warnings, "--oci-layout-path=/src/out writes into the read-only mount at /src") {
		t.Errorf("no warning about the output under the read-only context: %q", r.Warnings)
	}
}

func TestReplayPodFromCluster(t *testing.T) {
	t.Parallel()
	m := readFixture(t, "replay/pod-from-cluster.yaml")
	if m.Kind != "Pod" || m.Name != "build-image-x7k2p" {
		t.Errorf("workload = %s %q", m.Kind, m.Name)
	}
	r := plan1(t, m, ReplayOptions{})
	c := r.Container
	if !slices.Equal(c.Env, []string{"AWS_REGION=eu-west-1"}) {
		t.Errorf("env = %q; a Secret's value must never be copied", c.Env)
	}
	if len(c.Mounts) != 1 || c.Mounts[0].Target != "/workspace" || !c.Mounts[0].ReadOnly {
		t.Errorf("mounts = %+v; want only the emptyDir workspace, read-only", c.Mounts)
	}
	for _, w := range []string{
		`env AWS_SECRET_ACCESS_KEY comes from Secret "aws-creds"`,
		`volume "kube-api-access-5xq9z" (the service account token) is left out`,
		`init containers "clone" are not run`,
		"--tar-path=/workspace/image.tar writes into the read-only mount at /workspace",
	} {
		if !containsWarning(r.Warnings, w) {
			t.Errorf("warnings %q lack %q", r.Warnings, w)
		}
	}
}

func containsWarning(ws []string, sub string) bool {
	for _, w := range ws {
		if strings.Contains(w, sub) {
			return true
		}
	}
	return false
}

// TestReplayRenderedJobs closes the loop: every Job Render prints replays
// into a container with the Job's own arguments, and those are the local
// run's arguments once the paths are mapped.
func TestReplayRenderedJobs(t *testing.T) {
	t.Parallel()
	for _, tc := range renderCases() {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			b, rendered := tc.render(t)
			var buf bytes.Buffer
			if err := Encode(&buf, rendered.Objects(), FormatYAML); err != nil {
				t.Fatal(err)
			}
			m, err := ReadManifest(buf.Bytes())
			if err != nil {
				t.Fatalf("ReadManifest of Render's output: %v", err)
			}
			host := t.TempDir()
			layout, err := PodLayout(b, tc.opts.WorkspacePath)
			if err != nil {
				t.Fatal(err)
			}
			rel, _ := underOK(spec.WorkspaceDir, layout.ContextDir)
			writeFile(t, filepath.Join(host, filepath.FromSlash(rel), "Dockerfile"), "FROM scratch\n")
			creds := t.TempDir()
			writeFile(t, filepath.Join(creds, "config.json"), string(fakeDockerConfig))
			o := ReplayOptions{Claims: map[string]string{tc.opts.workspaceClaim(): host}}
			if tc.opts.CredentialsClaim != "" {
				o.Claims[tc.opts.CredentialsClaim] = creds
			}
			if sn := tc.opts.SecretName(); sn != "" && !tc.opts.WithSecret {
				o.Secrets = map[string]string{sn: filepath.Join(creds, "config.json")}
			}
			if len(b.Secrets) > 0 && !tc.opts.WithSecret {
				// The build's Secret as `kubectl get secret -o yaml` gives it.
				var y bytes.Buffer
				if err := Encode(&y, []runtime.Object{BuildSecret(b, tc.opts, tc.buildSecrets)}, FormatYAML); err != nil {
					t.Fatal(err)
				}
				file := filepath.Join(creds, "build-secrets.yaml")
				writeFile(t, file, y.String())
				if o.Secrets == nil {
					o.Secrets = map[string]string{}
				}
				o.Secrets[tc.opts.BuildSecretName()] = file
			}
			r := plan1(t, m, o)
			job := rendered.Job.Spec.Template.Spec.Containers[0]
			if !slices.Equal(r.Container.Args, job.Args) || r.Container.Entrypoint != nil || r.Container.Image != job.Image {
				t.Errorf("replay runs %q %q %q; the Job runs %q %q", r.Container.Image, r.Container.Entrypoint, r.Container.Args, job.Image, job.Args)
			}
			local := plan.Local(b, plan.HostFiles{Digest: "/tmp/d"}, "")
			if got := MapArgs(r.Container.Args, layout, plan.LocalLayout(b, false)); !slices.Equal(got, local.Args) {
				t.Errorf("replayed args mapped to the local layout:\n got %q\nwant %q", got, local.Args)
			}
			if r.Container.DigestFile == "" {
				t.Error("replay of a rendered Job has no DigestFile")
			}
			targets := map[string]plan.Mount{}
			for _, mt := range r.Container.Mounts {
				targets[mt.Target] = mt
				if !mt.ReadOnly {
					t.Errorf("mount %+v is writable; a rendered Job mounts only inputs", mt)
				}
			}
			if targets["/workspace"].Source != host {
				t.Errorf("workspace mount = %+v, want source %s", targets["/workspace"], host)
			}
			if tc.opts.SecretName() != "" || tc.opts.CredentialsClaim != "" {
				cfg := targets["/kaniko/.docker"].Source
				if cfg != "" {
					cfg = filepath.Join(cfg, "config.json")
				} else {
					cfg = targets[spec.DockerConfigPath].Source
				}
				got, err := os.ReadFile(cfg)
				if err != nil || !bytes.Equal(bytes.TrimSpace(got), fakeDockerConfig) {
					t.Errorf("config.json in the replay = %q, %v", got, err)
				}
			}
			for _, sec := range b.Secrets {
				dir := targets[spec.SecretsDir].Source
				got, err := os.ReadFile(filepath.Join(dir, sec.ID))
				if dir == "" || err != nil || !bytes.Equal(got, tc.buildSecrets[sec.ID]) {
					t.Errorf("secret %s in the replay = %q, %v (mounts %v)", sec.ID, got, err, r.Container.Mounts)
				}
			}
			if len(r.Warnings) != 0 {
				t.Errorf("warnings for a rendered Job: %q", r.Warnings)
			}
		})
	}
}

func underOK(dir, p string) (string, bool) { return under(dir, p) }

func TestManifestContainer(t *testing.T) {
	t.Parallel()
	pod := func(images ...string) *Manifest {
		m := &Manifest{Kind: "Pod", Name: "p"}
		for i, img := range images {
			m.Pod.Containers = append(m.Pod.Containers, corev1.Container{Name: "c" + string(rune('0'+i)), Image: img})
		}
		return m
	}
	cases := []struct {
		name   string
		m      *Manifest
		pick   string
		want   string
		errSay string
	}{
		{name: "only container, any image", m: pod("registry.example.com/tools/builder:1"), want: "c0"},
		{name: "kaniko image among others", m: pod("busybox", "gcr.io/kaniko-project/executor:debug", "nginx"), want: "c1"},
		{name: "executor image among others", m: pod("busybox", "registry.example.com/executor:1"), want: "c1"},
		{name: "kaniko wins over executor", m: pod("registry.example.com/executor:1", "martizih/kaniko:v1.28.3"), want: "c1"},
		{name: "by name", m: pod("busybox", "gcr.io/kaniko-project/executor"), pick: "c0", want: "c0"},
		{name: "unknown name", m: pod("a", "b"), pick: "zz", errSay: `has no container "zz"; pick one of "c0", "c1"`},
		{name: "two kaniko images", m: pod("gcr.io/kaniko-project/executor", "gcr.io/kaniko-project/warmer"), errSay: "name the executor with --container"},
		{name: "no kaniko image", m: pod("busybox", "alpine"), errSay: "no single kaniko image"},
		{name: "no containers", m: pod(), errSay: "has no containers"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c, err := tc.m.Container(tc.pick)
			if tc.errSay != "" {
				if !errors.Is(err, ErrNoExecutor) || !strings.Contains(err.Error(), tc.errSay) {
					t.Fatalf("Container = %v, %v; want ErrNoExecutor saying %q", c, err, tc.errSay)
				}
				return
			}
			if err != nil || c.Name != tc.want {
				t.Fatalf("Container = %v, %v; want %s", c, err, tc.want)
			}
		})
	}
}

func TestReadManifest(t *testing.T) {
	t.Parallel()
	const job = `apiVersion: batch/v1
kind: Job
metadata: {name: j}
spec:
  template:
    spec:
      restartPolicy: Never
      containers: [{name: k, image: gcr.io/kaniko-project/executor}]
`
	cases := []struct {
		name    string
		in      string
		kind    string
		ignored []string
		secrets []string
		err     error
		say     string
	}{
		{name: "job", in: job, kind: "Job"},
		{name: "leading separator and comments", in: "# build\n---\n" + job + "---\n# trailing\n", kind: "Job"},
		{name: "with other objects", in: "apiVersion: v1\nkind: PersistentVolumeClaim\nmetadata: {name: kaniko-workspace}\n---\napiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\n---\n" + job,
			kind: "Job", ignored: []string{`v1 PersistentVolumeClaim "kaniko-workspace"`, `apps/v1 Deployment "web"`}},
		{name: "json list with a secret", in: `{"apiVersion":"v1","kind":"List","items":[{"apiVersion":"v1","kind":"Secret","metadata":{"name":"regcred"},"type":"kubernetes.io/dockerconfigjson","data":{".dockerconfigjson":"e30="}},{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p"},"spec":{"containers":[{"name":"k","image":"kaniko"}]}}]}`,
			kind: "Pod", secrets: []string{"regcred"}},
		{name: "cronjob", in: "apiVersion: batch/v1\nkind: CronJob\nmetadata: {name: nightly}\nspec:\n  schedule: '@daily'\n  jobTemplate:\n    spec:\n      template:\n        spec:\n          restartPolicy: Never\n          containers: [{name: k, image: kaniko}]\n", kind: "CronJob"},
		{name: "fields from a newer cluster", in: strings.Replace(job, "  template:\n", "  futureKnob: true\n  template:\n", 1) +
			"---\napiVersion: v1\nkind: Secret\nmetadata: {name: s, futureMeta: 1}\nfutureTop: {}\n",
			kind: "Job", secrets: []string{"s"}, ignored: []string{
				`unknown fields in Job "j": spec.futureKnob (newer than kanikorun's Kubernetes API` + apiReleaseSuffix() + `, or misspelt)`,
				`unknown fields in Secret "s": futureTop, metadata.futureMeta (newer than kanikorun's Kubernetes API` + apiReleaseSuffix() + `, or misspelt)`,
			}},
		{name: "duplicate field", in: job + "metadata: {name: again}\n", err: ErrBadManifest, say: `key "metadata" already set`},
		{name: "no kind", in: "metadata: {name: x}\n", err: ErrBadManifest, say: "without apiVersion and kind"},
		{name: "bad yaml", in: "kind: [\n", err: ErrBadManifest},
		{name: "nothing to replay", in: "apiVersion: v1\nkind: Secret\nmetadata: {name: s}\n", err: ErrNoWorkload, say: "no Job, Pod or CronJob"},
		{name: "empty", in: "", err: ErrNoWorkload},
		{name: "two workloads", in: job + "---\n" + strings.Replace(job, "name: j", "name: j2", 1), err: ErrNoWorkload, say: `2 workloads (Job "j", Job "j2")`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			m, err := ReadManifest([]byte(tc.in))
			if tc.err != nil {
				if !errors.Is(err, tc.err) || !strings.Contains(err.Error(), tc.say) {
					t.Fatalf("ReadManifest error = %v; want %v saying %q", err, tc.err, tc.say)
				}
				if strings.Contains(err.Error(), "\n") {
					t.Errorf("error is not one line: %q", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if m.Kind != tc.kind || len(m.Pod.Containers) != 1 {
				t.Errorf("kind = %q, containers = %d", m.Kind, len(m.Pod.Containers))
			}
			if !slices.Equal(m.Ignored, tc.ignored) {
				t.Errorf("ignored = %q, want %q", m.Ignored, tc.ignored)
			}
			for _, s := range tc.secrets {
				if m.Secrets[s] == nil {
					t.Errorf("secret %q not kept", s)
				}
			}
		})
	}
}

func TestReplayManifestErrors(t *testing.T) {
	t.Parallel()
	base := `apiVersion: v1
kind: Pod
metadata: {name: p}
spec:
  containers:
  - name: k
    image: IMAGE
    volumeMounts: MOUNTS
  volumes: VOLUMES
`
	mk := func(image, mounts, volumes string) string {
		return strings.NewReplacer("IMAGE", image, "MOUNTS", mounts, "VOLUMES", volumes).Replace(base)
	}
	cases := []struct {
		name, in string
		err      error
		say      string
	}{
		{name: "no image", in: mk(`""`, "[]", "[]"), err: ErrNoExecutor, say: "has no image"},
		{name: "mount without volume", in: mk("kaniko", "[{name: ghost, mountPath: /x}]", "[]"), err: ErrUnmappedVolume, say: `mount "ghost" names no volume`},
		{name: "subPathExpr", in: mk("kaniko", "[{name: e, mountPath: /x, subPathExpr: $(POD)}]", "[{name: e, emptyDir: {}}]"), err: ErrUnmappedVolume, say: "subPathExpr"},
		{name: "escaping subPath", in: mk("kaniko", "[{name: e, mountPath: /x, subPath: ../../etc}]", "[{name: e, emptyDir: {}}]"), err: ErrUnmappedVolume, say: "leaves its volume"},
		{name: "nfs", in: mk("kaniko", "[{name: share, mountPath: /x}]", "[{name: share, nfs: {server: s, path: /p}}]"), err: ErrUnmappedVolume, say: `volume "share" (nfs) needs --volume share=PATH`},
		{name: "missing key", in: mk("kaniko", "[{name: s, mountPath: /x}]", "[{name: s, secret: {secretName: inline, items: [{key: nope, path: a}]}}]") + "---\napiVersion: v1\nkind: Secret\nmetadata: {name: inline}\nstringData: {other: x}\n", err: ErrUnmappedVolume, say: `secret "inline" has no key "nope"`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			m, err := ReadManifest([]byte(tc.in))
			if err != nil {
				t.Fatal(err)
			}
			_, err = m.Plan(ReplayOptions{TempDir: t.TempDir()})
			if !errors.Is(err, tc.err) || !strings.Contains(err.Error(), tc.say) {
				t.Fatalf("Plan error = %v; want %v saying %q", err, tc.err, tc.say)
			}
		})
	}
}

func TestReplayOptionalSecretAndDigestFile(t *testing.T) {
	t.Parallel()
	in := `apiVersion: v1
kind: Pod
metadata: {name: p}
spec:
  containers:
  - name: k
    image: kaniko
    args: [--no-push, --digest-file, /dev/termination-log]
    volumeMounts: [{name: s, mountPath: /kaniko/.docker}]
  volumes: [{name: s, secret: {secretName: absent, optional: true}}]
`
	m, err := ReadManifest([]byte(in))
	if err != nil {
		t.Fatal(err)
	}
	digest := filepath.Join(t.TempDir(), "digest")
	r := plan1(t, m, ReplayOptions{DigestFile: digest})
	if r.Container.DigestFile != digest {
		t.Errorf("DigestFile = %q, want %q (the two-argument flag form)", r.Container.DigestFile, digest)
	}
	if _, err := os.Stat(digest); err != nil {
		t.Errorf("digest file not created: %v", err)
	}
	if len(r.Container.Mounts) != 1 {
		t.Fatalf("mounts = %+v", r.Container.Mounts)
	}
	if entries, _ := os.ReadDir(r.Container.Mounts[0].Source); len(entries) != 0 {
		t.Errorf("an optional missing Secret must mount as an empty directory, got %d files", len(entries))
	}
	if err := r.Cleanup(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(digest); err != nil {
		t.Errorf("Cleanup removed the caller's digest file: %v", err)
	}
}

func TestLockedPaths(t *testing.T) {
	t.Parallel()
	cases := []struct {
		argv    []string
		workDir string
		want    []string
	}{
		{nil, "", []string{"/workspace", "/kaniko/.docker"}},
		{[]string{"--context=dir:///src/app/", "-f", "docker/Dockerfile"}, "", []string{"/workspace", "/kaniko/.docker", "/src/app", "/src/app/docker/Dockerfile"}},
		{[]string{"--context=git://github.com/x/y", "--dockerfile=/df/Dockerfile"}, "", []string{"/workspace", "/kaniko/.docker", "/df/Dockerfile"}},
		{[]string{"--context=sub"}, "/build", []string{"/workspace", "/kaniko/.docker", "/build/sub"}},
	}
	for _, tc := range cases {
		f, err := spec.ParseExecutorArgs(tc.argv)
		if err != nil {
			t.Fatal(err)
		}
		if got := lockedPaths(f, tc.workDir); !slices.Equal(got, tc.want) {
			t.Errorf("lockedPaths(%q, %q) = %q, want %q", tc.argv, tc.workDir, got, tc.want)
		}
	}
	for target, want := range map[string]bool{"/": true, "/src": true, "/src/app/docker": true, "/cache": false, "/kaniko/.docker/config.json": true, "/kaniko": true, "/workspace2": false} {
		if got := isLocked(target, []string{"/workspace", "/kaniko/.docker", "/src/app"}); got != want {
			t.Errorf("isLocked(%q) = %v, want %v", target, got, want)
		}
	}
}

func TestExpandRefs(t *testing.T) {
	t.Parallel()
	vars := map[string]string{"A": "x", "EMPTY": ""}
	cases := map[string]string{
		"$(A)":          "x",
		"pre-$(A)-post": "pre-x-post",
		"$(EMPTY)!":     "!",
		"$(B)":          "$(B)",
		"$$(A)":         "$(A)",
		"$$":            "$",
		"$A":            "$A",
		"cost: 5$":      "cost: 5$",
		"$(A":           "$(A",
		"$($(A))":       "$($(A))",
		"":              "",
		"no refs":       "no refs",
	}
	for in, want := range cases {
		if got := expandRefs(in, vars); got != want {
			t.Errorf("expandRefs(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestParseMappings(t *testing.T) {
	t.Parallel()
	got, err := ParseMappings("claim", []string{"kaniko-workspace=/src", "creds=./c=d", "kaniko-workspace=/src"})
	if err != nil || len(got) != 2 || got["kaniko-workspace"] != "/src" || got["creds"] != "./c=d" {
		t.Fatalf("ParseMappings = %v, %v", got, err)
	}
	for _, bad := range [][]string{{"noequals"}, {"=/x"}, {"x="}, {"a=/1", "a=/2"}} {
		if _, err := ParseMappings("claim", bad); err == nil || !strings.Contains(err.Error(), "--claim") {
			t.Errorf("ParseMappings(%q) = %v; want an error naming --claim", bad, err)
		}
	}
}

func TestReplaySecretFileErrors(t *testing.T) {
	t.Parallel()
	m := readFixture(t, "replay/command-form-with-secret.yaml")
	src := t.TempDir()
	dir := t.TempDir()
	cases := map[string]struct{ content, say string }{
		// The misspelt data leaves the key the volume needs missing: the
		// unknown field is then the error, not a warning.
		"typo.yaml":      {"apiVersion: v1\nkind: Secret\nmetadata: {name: regcred}\ndatta: {}\n", `unknown fields in Secret "regcred": datta`},
		"configmap.yaml": {"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: regcred}\n", "holds ConfigMap, not one v1 Secret"},
	}
	for file, tc := range cases {
		p := filepath.Join(dir, file)
		writeFile(t, p, tc.content)
		_, err := m.Plan(ReplayOptions{Claims: map[string]string{"sources": src}, Secrets: map[string]string{"regcred": p}, TempDir: t.TempDir()})
		if err == nil || !strings.Contains(err.Error(), tc.say) || !strings.Contains(err.Error(), "--secret regcred="+p) {
			t.Errorf("%s: Plan error = %v; want it to name the flag and say %q", file, err, tc.say)
		}
	}
	_, err := m.Plan(ReplayOptions{Claims: map[string]string{"sources": src}, Secrets: map[string]string{"regcred": filepath.Join(dir, "missing.json")}, TempDir: t.TempDir()})
	if err == nil || !strings.Contains(err.Error(), "missing.json") {
		t.Errorf("missing secret file: %v", err)
	}
}

// TestReplayRelativePaths: flags may name paths relative to the working
// directory, but the daemon needs absolute bind-mount sources.
func TestReplayRelativePaths(t *testing.T) {
	m := readFixture(t, "replay/command-form-with-secret.yaml")
	dir := t.TempDir()
	t.Chdir(dir)
	writeFile(t, filepath.Join(dir, "src", "app", "Dockerfile"), "FROM scratch\n")
	if err := os.Mkdir(filepath.Join(dir, "tmp"), 0o755); err != nil {
		t.Fatal(err)
	}
	r := plan1(t, m, ReplayOptions{Claims: map[string]string{"sources": "src"}, TempDir: "tmp", DigestFile: "digest"})
	for _, mt := range r.Container.AllMounts() {
		if !filepath.IsAbs(mt.Source) {
			t.Errorf("mount source %q is relative", mt.Source)
		}
	}
	if r.Container.DigestFile != filepath.Join(dir, "digest") {
		t.Errorf("DigestFile = %q", r.Container.DigestFile)
	}
}

// TestReplaySecretFileFromNewerCluster: a --secret Secret with a field
// this build does not know still supplies its keys, with a warning that
// names the flag and the field and quotes no credentials.
func TestReplaySecretFileFromNewerCluster(t *testing.T) {
	t.Parallel()
	m := readFixture(t, "replay/command-form-with-secret.yaml")
	src := t.TempDir()
	raw, err := os.ReadFile(filepath.Join(goldenDir, "replay", "secret-regcred.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "secret.yaml")
	writeFile(t, p, string(raw)+"futureRotation: {every: 24h}\n")
	r := plan1(t, m, ReplayOptions{Claims: map[string]string{"sources": src}, Secrets: map[string]string{"regcred": p}})
	var creds string
	for _, mt := range r.Container.Mounts {
		if mt.Target == "/kaniko/.docker" {
			creds = mt.Source
		}
	}
	got, err := os.ReadFile(filepath.Join(creds, "config.json"))
	if err != nil || !bytes.Equal(bytes.TrimSpace(got), fakeDockerConfig) {
		t.Errorf("config.json = %q, %v; want the Secret's .dockerconfigjson", got, err)
	}
	if !containsWarning(r.Warnings, "--secret regcred="+p+`: ignoring unknown fields in Secret "regcred": futureRotation`) {
		t.Errorf("warnings %q lack the unknown field", r.Warnings)
	}
	for _, w := range r.Warnings {
		if strings.Contains(w, "ZmFrZTpmYWtl") || strings.Contains(w, "eyJhdXRocyI6") {
			t.Errorf("a warning quotes the credentials: %q", w)
		}
	}
}

// dryRunManifest has every kind of volume replay writes itself: a Secret
// from the stream with items and a subPath mount, a Secret from a --secret
// file, a ConfigMap, an emptyDir, a projected volume, and the digest file.
const dryRunManifest = `apiVersion: v1
kind: Secret
metadata: {name: regcred}
type: kubernetes.io/dockerconfigjson
stringData:
  .dockerconfigjson: '{"auths":{"registry.example.com":{"auth":"ZHJ5OnN0cmVhbS1zZWNyZXQ="}}}'
---
apiVersion: v1
kind: ConfigMap
metadata: {name: settings}
data: {build.conf: "x=1"}
---
apiVersion: v1
kind: Pod
metadata: {name: dry}
spec:
  containers:
  - name: kaniko
    image: kaniko
    args: [--context=dir:///workspace/app, --destination=registry.example.com/a:1, --digest-file=/dev/termination-log, --cache-dir=/cache]
    volumeMounts:
    - {name: src, mountPath: /workspace}
    - {name: creds, mountPath: /kaniko/.docker/config.json, subPath: config.json}
    - {name: other, mountPath: /etc/other}
    - {name: settings, mountPath: /etc/build}
    - {name: cache, mountPath: /cache}
    - {name: both, mountPath: /etc/both}
  volumes:
  - {name: src, persistentVolumeClaim: {claimName: sources}}
  - {name: creds, secret: {secretName: regcred, items: [{key: .dockerconfigjson, path: config.json}]}}
  - {name: other, secret: {secretName: other}}
  - {name: settings, configMap: {name: settings}}
  - {name: cache, emptyDir: {}}
  - name: both
    projected:
      sources:
      - secret: {name: regcred}
      - configMap: {name: settings, items: [{key: build.conf, path: conf/build.conf}]}
`

// dryRunSecrets are secret values of dryRunManifest and its --secret file
// that a dry run must not show anywhere.
var dryRunSecrets = []string{"ZHJ5OnN0cmVhbS1zZWNyZXQ=", "stream-secret", "file-secret-value"}

// TestReplayDryRunWritesNothing: a dry run plans exactly the container a
// real run would, with $KANIKORUN_TMP in place of the temporary directory,
// writes nothing (no temporary directory, no digest file, no secret on
// disk), and says what each placeholder stands for without quoting
// secrets.
func TestReplayDryRunWritesNothing(t *testing.T) {
	t.Parallel()
	m, err := ReadManifest([]byte(dryRunManifest))
	if err != nil {
		t.Fatal(err)
	}
	src := workspace(t)
	secretFile := filepath.Join(t.TempDir(), "other.json")
	writeFile(t, secretFile, `{"auths":{"other.example.com":{"auth":"file-secret-value"}}}`)
	o := ReplayOptions{Claims: map[string]string{"sources": src}, Secrets: map[string]string{"other": secretFile}}

	real := plan1(t, m, o)
	dryTmp := t.TempDir()
	o.DryRun, o.TempDir = true, dryTmp
	dry, err := m.Plan(o)
	if err != nil {
		t.Fatalf("dry Plan: %v", err)
	}
	if entries, _ := os.ReadDir(dryTmp); len(entries) != 0 {
		t.Errorf("the dry run wrote %v into its TempDir", entries)
	}
	if dry.tmp != nil {
		t.Errorf("the dry run made a temporary directory %q", dry.tmp.Path)
	}
	// Had it written to its placeholders, they would be relative paths.
	if _, err := os.Lstat(DryRunDir); !os.IsNotExist(err) {
		t.Errorf("the dry run wrote into ./%s (%v)", DryRunDir, err)
	}

	// The same plan, with the real run's temporary directory spelt
	// $KANIKORUN_TMP.
	want := real.Container
	want.Mounts = append([]plan.Mount(nil), want.Mounts...)
	for i := range want.Mounts {
		want.Mounts[i].Source = strings.Replace(want.Mounts[i].Source, real.tmp.Path, DryRunDir, 1)
	}
	want.DigestFile = strings.Replace(want.DigestFile, real.tmp.Path, DryRunDir, 1)
	if !reflect.DeepEqual(dry.Container, want) {
		t.Errorf("dry-run plan:\n got %+v\nwant %+v", dry.Container, want)
	}
	if placeholders := strings.Count(dry.Container.DockerRun(), "source="+DryRunDir+"/"); placeholders != 6 {
		t.Errorf("docker run line has %d placeholders, want 6 (5 volumes, the digest file): %s", placeholders, dry.Container.DockerRun())
	}
	if !slices.Equal(dry.Warnings, real.Warnings) {
		t.Errorf("warnings: dry %q, real %q", dry.Warnings, real.Warnings)
	}
	if real.Notes != nil {
		t.Errorf("a real run has notes: %q", real.Notes)
	}

	wantNotes := []string{
		`$KANIKORUN_TMP/volumes/creds stands for volume "creds" (secret "regcred": config.json), written only when the replay runs`,
		`$KANIKORUN_TMP/volumes/other stands for volume "other" (secret "other": .dockerconfigjson), written only when the replay runs`,
		`$KANIKORUN_TMP/volumes/settings stands for volume "settings" (configMap "settings": build.conf), written only when the replay runs`,
		`$KANIKORUN_TMP/volumes/cache stands for volume "cache" (emptyDir), made only when the replay runs`,
		`$KANIKORUN_TMP/volumes/both stands for volume "both" (projected: .dockerconfigjson, conf/build.conf), written only when the replay runs`,
		`$KANIKORUN_TMP/termination-log stands for the file that receives the digest the executor writes to /dev/termination-log, made only when the replay runs`,
	}
	if !slices.Equal(dry.Notes, wantNotes) {
		t.Errorf("notes:\n got %q\nwant %q", dry.Notes, wantNotes)
	}
	all := fmt.Sprintf("%+v", *dry)
	for _, s := range dryRunSecrets {
		if strings.Contains(all, s) {
			t.Errorf("the dry run shows the secret %q", s)
		}
	}
	if err := dry.Cleanup(); err != nil {
		t.Errorf("Cleanup of a dry run: %v", err)
	}

	// A --digest-file of the caller's is named but not created.
	digest := filepath.Join(t.TempDir(), "digest")
	o.DigestFile = digest
	dry, err = m.Plan(o)
	if err != nil {
		t.Fatal(err)
	}
	if dry.Container.DigestFile != digest {
		t.Errorf("DigestFile = %q, want %q", dry.Container.DigestFile, digest)
	}
	if _, err := os.Stat(digest); !os.IsNotExist(err) {
		t.Errorf("the dry run created the digest file: %v", err)
	}
}

// TestReplayDryRunFailsLikeRun: a dry run reports the problems a real run
// would (a missing key, a subPath the volume will not hold, an unreadable
// --secret file, an unmapped claim), and writes nothing either way.
func TestReplayDryRunFailsLikeRun(t *testing.T) {
	t.Parallel()
	src := workspace(t)
	cases := []struct {
		name    string
		edit    func(string) string
		secrets map[string]string
		claims  map[string]string
		say     string
	}{
		{name: "missing key", edit: func(s string) string { return strings.Replace(s, "key: .dockerconfigjson, path", "key: nope, path", 1) },
			say: `secret "regcred" has no key "nope"`},
		{name: "subPath the secret does not hold", edit: func(s string) string { return strings.Replace(s, "subPath: config.json", "subPath: conf.json", 1) },
			say: `volume "creds" maps to`},
		{name: "subPath into an emptyDir", edit: func(s string) string {
			return strings.Replace(s, "{name: cache, mountPath: /cache}", "{name: cache, mountPath: /cache, subPath: sub}", 1)
		}, say: `volume "cache" maps to`},
		{name: "unreadable --secret file", secrets: map[string]string{"other": "/nonexistent/other.json"}, say: "reading --secret other=/nonexistent/other.json"},
		{name: "unmapped claim", claims: map[string]string{}, say: "needs --claim sources=DIR"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			in := dryRunManifest
			if tc.edit != nil {
				in = tc.edit(in)
			}
			m, err := ReadManifest([]byte(in))
			if err != nil {
				t.Fatal(err)
			}
			secretFile := filepath.Join(t.TempDir(), "other.json")
			writeFile(t, secretFile, "{}")
			o := ReplayOptions{Claims: map[string]string{"sources": src}, Secrets: map[string]string{"other": secretFile}}
			if tc.secrets != nil {
				o.Secrets = tc.secrets
			}
			if tc.claims != nil {
				o.Claims = tc.claims
			}
			for _, dry := range []bool{false, true} {
				o.DryRun, o.TempDir = dry, t.TempDir()
				_, err := m.Plan(o)
				if !errors.Is(err, ErrUnmappedVolume) || !strings.Contains(err.Error(), tc.say) {
					t.Errorf("dry run %v: Plan error = %v; want ErrUnmappedVolume saying %q", dry, err, tc.say)
				}
				if entries, _ := os.ReadDir(o.TempDir); len(entries) != 0 {
					t.Errorf("dry run %v: left %v in TempDir", dry, entries)
				}
			}
		})
	}
}
