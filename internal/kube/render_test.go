package kube

import (
	"bytes"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/kanikorun/kanikorun/internal/plan"
	"github.com/kanikorun/kanikorun/internal/spec"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/kube")

// goldenDir is the repository's testdata/kube, shared with the CLI tests.
const goldenDir = "../../testdata/kube"

// fakeDockerConfig is an obviously fake credential ("fake:fake"), the only
// kind that may appear in a golden file.
var fakeDockerConfig = []byte(`{"auths":{"registry.example.com":{"auth":"ZmFrZTpmYWtl"}}}`)

// baseBuild is a build of /home/dev/src/my-build; Render never touches the
// file system, so the paths need not exist.
func baseBuild() *spec.Build {
	return &spec.Build{
		Context:       "/home/dev/src/my-build",
		Dockerfile:    "/home/dev/src/my-build/Dockerfile",
		Destinations:  []string{"registry.example.com/team/app:1.0"},
		ExecutorImage: spec.DefaultExecutorImage,
	}
}

type renderCase struct {
	name   string
	build  func(*spec.Build)
	opts   JobOptions
	secret []byte
	// buildSecrets are the values of the build's --secret ids, emitted
	// (as RenderBuild does) only with WithSecret.
	buildSecrets map[string][]byte
	format       string
}

// fakeBuildSecrets are obviously fake --secret values, the only kind that
// may appear in a golden file.
var fakeBuildSecrets = map[string][]byte{"tok": []byte("fake-token\n"), "npm": []byte("fake-npm")}

func withBuildSecrets(b *spec.Build) {
	b.ExecutorImage = "ghcr.io/osscontainertools/kaniko:v1.28.3"
	b.Secrets = []spec.Secret{{ID: "tok", File: "/home/dev/tok.txt"}, {ID: "npm", Env: "NPM_TOKEN"}}
}

func renderCases() []renderCase {
	hour, zero := time.Hour, time.Duration(0)
	noRetry := int32(0)
	return []renderCase{
		{name: "defaults"},
		{name: "defaults-json", format: FormatJSON},
		{name: "generate-name-namespace", opts: JobOptions{GenerateName: "build-app-", Namespace: "ci"}},
		{name: "credentials-secret", opts: JobOptions{CredentialsSecret: "regcred"}},
		{name: "credentials-claim", opts: JobOptions{CredentialsClaim: "kaniko-credentials"}},
		{name: "with-secret", opts: JobOptions{WithSecret: true}, secret: fakeDockerConfig},
		{name: "with-secret-json", opts: JobOptions{WithSecret: true, Namespace: "ci"}, secret: fakeDockerConfig, format: FormatJSON},
		{name: "with-secret-named-generate", opts: JobOptions{WithSecret: true, CredentialsSecret: "push-creds", GenerateName: "nightly-"}, secret: fakeDockerConfig},
		{name: "limits-deadline-ttl-no-retry", opts: JobOptions{CPU: "1500m", Memory: "2Gi", ActiveDeadline: 30 * time.Minute, TTLAfterFinished: &hour, BackoffLimit: &noRetry}},
		{name: "ttl-zero-memory-only", opts: JobOptions{TTLAfterFinished: &zero, Memory: "512Mi"}},
		{name: "service-account", opts: JobOptions{ServiceAccount: "ecr-pusher", CredentialsSecret: "regcred"}},
		{name: "workspace-nested-dockerfile", opts: JobOptions{WorkspaceClaim: "builds", WorkspacePath: "team/app/"}, build: func(b *spec.Build) {
			b.Dockerfile = "/home/dev/src/my-build/docker/Dockerfile.prod"
		}},
		{name: "workspace-root", opts: JobOptions{WorkspacePath: "."}},
		{name: "no-push-no-destination", build: func(b *spec.Build) {
			b.Destinations, b.NoPush = nil, true
		}},
		{name: "every-build-flag", build: func(b *spec.Build) {
			b.Destinations = append(b.Destinations, "registry.example.com/team/app:latest")
			b.BuildArgs = []string{"VERSION=1.0", "EMPTY="}
			b.Target = "runtime"
			b.Labels = []string{"org.opencontainers.image.source=https://example.com/app"}
			b.Registry = spec.RegistryOptions{Insecure: []string{"registry.internal:5000"}, Mirrors: []string{"mirror.gcr.io"}, SkipTLSVerify: true}
			b.ExtraArgs = []string{"--cache=true", "--snapshot-mode=redo"}
		}},
		{name: "fork-image-loopback-port", build: func(b *spec.Build) {
			b.ExecutorImage = "ghcr.io/osscontainertools/kaniko:v1.28.3"
			b.Destinations = []string{"localhost:5000/demo/hello-world:dev"}
		}},
		{name: "docker-hub-short-name", opts: JobOptions{Name: "build-alpine"}, build: func(b *spec.Build) {
			b.Destinations = []string{"alpine-custom"}
		}},
		{name: "build-secrets", opts: JobOptions{CredentialsSecret: "regcred"}, build: withBuildSecrets, buildSecrets: fakeBuildSecrets},
		{name: "build-secrets-with-secret", opts: JobOptions{WithSecret: true, Name: "app", Namespace: "ci"}, build: withBuildSecrets,
			secret: fakeDockerConfig, buildSecrets: fakeBuildSecrets},
	}
}

func (c renderCase) render(t testing.TB) (*spec.Build, *Rendered) {
	t.Helper()
	b := baseBuild()
	if c.build != nil {
		c.build(b)
	}
	r, err := Render(b, c.opts, c.secret)
	if err != nil {
		t.Fatalf("Render: %v", err)
	}
	if c.opts.WithSecret && len(b.Secrets) > 0 {
		r.BuildSecrets = BuildSecret(b, c.opts, c.buildSecrets)
	}
	return b, r
}

func TestRenderGolden(t *testing.T) {
	t.Parallel()
	cases := renderCases()
	if len(cases) < 10 {
		t.Fatalf("the golden matrix has %d cases; keep at least 10", len(cases))
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			b, r := tc.render(t)
			format := tc.format
			if format == "" {
				format = FormatYAML
			}
			var buf bytes.Buffer
			if err := Encode(&buf, r.Objects(), format); err != nil {
				t.Fatalf("Encode: %v", err)
			}
			golden := filepath.Join(goldenDir, "job", tc.name+"."+format)
			if *update {
				if err := os.MkdirAll(filepath.Dir(golden), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(golden, buf.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("reading golden file (run with -update to create it): %v", err)
			}
			if !bytes.Equal(buf.Bytes(), want) {
				t.Errorf("output differs from %s (run go test -update to accept):\n%s", golden, buf.String())
			}

			// Deterministic: a second rendering prints the same bytes.
			_, again := tc.render(t)
			var buf2 bytes.Buffer
			if err := Encode(&buf2, again.Objects(), format); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(buf.Bytes(), buf2.Bytes()) {
				t.Error("two renderings of the same build differ")
			}

			// Strict decoding with the Kubernetes scheme gives back what
			// went in, object for object.
			objs, err := Decode(buf.Bytes())
			if err != nil {
				t.Fatalf("strict decode of the output: %v", err)
			}
			in := r.Objects()
			if len(objs) != len(in) {
				t.Fatalf("decoded %d objects, rendered %d", len(objs), len(in))
			}
			for i := range in {
				if !equality.Semantic.DeepEqual(objs[i], in[i]) {
					t.Errorf("object %d does not round-trip:\nin:  %#v\nout: %#v", i, in[i], objs[i])
				}
			}
			checkJob(t, b, tc.opts, r)
			if len(r.Warnings) != 0 {
				t.Errorf("Render warned %q; the loopback warnings are RenderBuild's", r.Warnings)
			}
			if tc.secret == nil && bytes.Contains(buf.Bytes(), []byte("dockerconfigjson:")) {
				t.Error("output holds secret data although no Secret was asked for")
			}
			if !tc.opts.WithSecret && bytes.Contains(buf.Bytes(), []byte("kind: Secret")) {
				t.Error("output holds a Secret although --with-secret was not given")
			}
		})
	}
}

// checkJob holds the rendered objects to the rules the API server and the
// design apply, independently of the golden bytes.
func checkJob(t *testing.T, b *spec.Build, o JobOptions, r *Rendered) {
	t.Helper()
	job := r.Job
	if job.APIVersion != "batch/v1" || job.Kind != "Job" {
		t.Errorf("job type = %s %s", job.APIVersion, job.Kind)
	}
	name := job.Name
	if name == "" {
		name = job.GenerateName + "abcde"
	}
	if errs := validation.IsDNS1123Label(name); len(errs) > 0 {
		t.Errorf("job name %q: %v", name, errs)
	}
	for _, meta := range []map[string]string{job.Labels, job.Spec.Template.Labels} {
		for k, v := range meta {
			if errs := validation.IsQualifiedName(k); len(errs) > 0 {
				t.Errorf("label key %q: %v", k, errs)
			}
			if errs := validation.IsValidLabelValue(v); len(errs) > 0 {
				t.Errorf("label %s=%q: %v", k, v, errs)
			}
		}
	}
	if job.Labels[LabelManagedBy] != ManagerName || job.Labels[LabelName] != AppName {
		t.Errorf("recommended labels missing: %v", job.Labels)
	}
	if len(b.Destinations) > 0 && job.Labels[RepositoryLabel] == "" {
		t.Errorf("no %s label for destination %q", RepositoryLabel, b.Destinations[0])
	}

	ps := job.Spec.Template.Spec
	if ps.RestartPolicy != corev1.RestartPolicyNever {
		t.Errorf("restartPolicy = %q; podFailurePolicy needs Never", ps.RestartPolicy)
	}
	pfp := job.Spec.PodFailurePolicy
	if pfp == nil || len(pfp.Rules) != 2 {
		t.Fatalf("podFailurePolicy = %+v; want two rules", pfp)
	}
	rule := pfp.Rules[0]
	if rule.Action != batchv1.PodFailurePolicyActionIgnore || rule.OnExitCodes != nil || len(rule.OnPodConditions) != 1 ||
		rule.OnPodConditions[0].Type != corev1.DisruptionTarget || rule.OnPodConditions[0].Status != corev1.ConditionTrue {
		t.Errorf("podFailurePolicy rule = %+v; want Ignore on DisruptionTarget=True only", rule)
	}
	// A RUN step's own exit code ends the Job; kaniko's 1 and a kill retry.
	rule = pfp.Rules[1]
	if rule.Action != batchv1.PodFailurePolicyActionFailJob || rule.OnExitCodes == nil ||
		rule.OnExitCodes.Operator != batchv1.PodFailurePolicyOnExitCodesOpNotIn ||
		!slices.Equal(rule.OnExitCodes.Values, []int32{0, 1, 137, 143}) ||
		rule.OnExitCodes.ContainerName == nil || *rule.OnExitCodes.ContainerName != ContainerName {
		t.Errorf("podFailurePolicy rule = %+v; want FailJob on exit codes NotIn 0,1,137,143", rule)
	}
	wantBackoff := DefaultBackoffLimit
	if o.BackoffLimit != nil {
		wantBackoff = *o.BackoffLimit
	}
	if job.Spec.BackoffLimit == nil || *job.Spec.BackoffLimit != wantBackoff {
		t.Errorf("backoffLimit = %v, want %d", job.Spec.BackoffLimit, wantBackoff)
	}

	if len(ps.Containers) != 1 {
		t.Fatalf("%d containers, want 1", len(ps.Containers))
	}
	c := ps.Containers[0]
	if c.Image != b.ExecutorImage {
		t.Errorf("image = %q, want %q", c.Image, b.ExecutorImage)
	}
	if c.Command != nil {
		t.Errorf("command = %q; the image's entrypoint must run", c.Command)
	}
	if c.TerminationMessagePolicy != corev1.TerminationMessageFallbackToLogsOnError || c.TerminationMessagePath != spec.TerminationLog {
		t.Errorf("termination message = %q %q", c.TerminationMessagePath, c.TerminationMessagePolicy)
	}
	if !slices.Contains(c.Args, "--digest-file="+spec.TerminationLog) {
		t.Errorf("args %q do not write the digest to the termination log", c.Args)
	}
	sc := c.SecurityContext
	if sc == nil || sc.RunAsUser == nil || *sc.RunAsUser != 0 || sc.Privileged == nil || *sc.Privileged ||
		sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation || sc.Capabilities != nil {
		t.Errorf("securityContext = %+v; want root, unprivileged, no escalation, default capabilities", sc)
	}

	// The Job's args are the local run's args with the pod's paths.
	local := plan.Local(b, plan.HostFiles{Digest: "/tmp/digest"}, "")
	podLayout, err := PodLayout(b, o.WorkspacePath)
	if err != nil {
		t.Fatal(err)
	}
	if got := MapArgs(c.Args, podLayout, plan.LocalLayout(b, false)); !slices.Equal(got, local.Args) {
		t.Errorf("job args mapped to the local layout:\n got %q\nwant %q", got, local.Args)
	}

	ws := findMount(c, spec.WorkspaceDir)
	if ws == nil || !ws.ReadOnly {
		t.Errorf("workspace mount = %+v; want read-only at %s", ws, spec.WorkspaceDir)
	}
	if r.Secret != nil {
		if r.Secret.Type != corev1.SecretTypeDockerConfigJson || len(r.Secret.Data[corev1.DockerConfigJsonKey]) == 0 {
			t.Errorf("secret = %+v", r.Secret)
		}
		if r.Secret.Namespace != job.Namespace {
			t.Errorf("secret namespace %q, job namespace %q", r.Secret.Namespace, job.Namespace)
		}
	}
	if sn := o.SecretName(); sn != "" {
		vol := findVolume(ps, "docker-config")
		if vol == nil || vol.Secret == nil || vol.Secret.SecretName != sn ||
			!slices.Equal(vol.Secret.Items, []corev1.KeyToPath{{Key: ".dockerconfigjson", Path: "config.json"}}) {
			t.Errorf("credentials volume = %+v; want secret %q with .dockerconfigjson -> config.json", vol, sn)
		}
		if m := findMount(c, "/kaniko/.docker"); m == nil || !m.ReadOnly {
			t.Errorf("credentials mount = %+v", m)
		}
	}
	if len(b.Secrets) > 0 {
		vol := findVolume(ps, "build-secrets")
		var items []corev1.KeyToPath
		for _, s := range b.Secrets {
			items = append(items, corev1.KeyToPath{Key: s.ID, Path: s.ID})
			if !slices.Contains(c.Args, "--secret=id="+s.ID+",src="+spec.SecretsDir+"/"+s.ID) {
				t.Errorf("args %q do not hand secret %s to the executor", c.Args, s.ID)
			}
		}
		if vol == nil || vol.Secret == nil || vol.Secret.SecretName != o.BuildSecretName() || !slices.Equal(vol.Secret.Items, items) {
			t.Errorf("build secrets volume = %+v; want secret %q with items %v", vol, o.BuildSecretName(), items)
		}
		if m := findMount(c, spec.SecretsDir); m == nil || !m.ReadOnly || m.Name != "build-secrets" {
			t.Errorf("build secrets mount = %+v; want read-only at %s", m, spec.SecretsDir)
		}
	}
	if bs := r.BuildSecrets; bs != nil {
		if bs.Type != corev1.SecretTypeOpaque || bs.Name != o.BuildSecretName() || bs.Namespace != job.Namespace || len(bs.Data) != len(b.Secrets) {
			t.Errorf("build secret = %s %s/%s with %d keys", bs.Type, bs.Namespace, bs.Name, len(bs.Data))
		}
	}
	if o.CredentialsClaim != "" {
		m := findMount(c, spec.DockerConfigPath)
		if m == nil || m.SubPath != "config.json" || !m.ReadOnly {
			t.Errorf("credentials claim mount = %+v; want subPath config.json at %s", m, spec.DockerConfigPath)
		}
	}
}

func findMount(c corev1.Container, target string) *corev1.VolumeMount {
	for i := range c.VolumeMounts {
		if c.VolumeMounts[i].MountPath == target {
			return &c.VolumeMounts[i]
		}
	}
	return nil
}

func findVolume(ps corev1.PodSpec, name string) *corev1.Volume {
	for i := range ps.Volumes {
		if ps.Volumes[i].Name == name {
			return &ps.Volumes[i]
		}
	}
	return nil
}

func TestRenderErrors(t *testing.T) {
	t.Parallel()
	minus := int32(-1)
	halfSecond := 1500 * time.Millisecond
	cases := []struct {
		name   string
		build  func(*spec.Build)
		opts   JobOptions
		secret []byte
		want   error
		say    string
	}{
		{name: "tar", build: func(b *spec.Build) { b.Outputs.TarPath = "/tmp/img.tar" }, want: ErrLocalOnly, say: "--tar"},
		{name: "load", build: func(b *spec.Build) { b.Outputs.Load = true }, want: ErrLocalOnly, say: "--load"},
		{name: "host digest file", build: func(b *spec.Build) { b.Outputs.DigestFile = "/tmp/digest" }, want: ErrLocalOnly, say: "--digest-file"},
		{name: "iidfile", build: func(b *spec.Build) { b.Outputs.IIDFile = "/tmp/iid" }, want: ErrLocalOnly, say: "--iidfile"},
		{name: "metadata file", build: func(b *spec.Build) { b.Outputs.MetadataFile = "/tmp/m.json" }, want: ErrLocalOnly, say: "--metadata-file"},
		{name: "dockerfile outside context", build: func(b *spec.Build) { b.Dockerfile = "/home/dev/dockerfiles/app.Dockerfile" }, want: ErrDockerfileOutsideContext, say: "move the Dockerfile into the context or copy it to the claim"},
		{name: "name and generate-name", opts: JobOptions{Name: "a", GenerateName: "b-"}, want: ErrInvalidOptions, say: "exclude each other"},
		{name: "uppercase name", opts: JobOptions{Name: "Build"}, want: ErrInvalidOptions, say: `"Build"`},
		{name: "long name", opts: JobOptions{Name: strings.Repeat("a", 64)}, want: ErrInvalidOptions, say: "job name"},
		{name: "long generate-name", opts: JobOptions{GenerateName: strings.Repeat("a", 59)}, want: ErrInvalidOptions, say: "generate-name"},
		{name: "bad namespace", opts: JobOptions{Namespace: "my_ns"}, want: ErrInvalidOptions, say: "namespace"},
		{name: "bad claim", opts: JobOptions{WorkspaceClaim: "Work Space"}, want: ErrInvalidOptions, say: "--workspace-claim"},
		{name: "bad secret name", opts: JobOptions{CredentialsSecret: "reg_cred"}, want: ErrInvalidOptions, say: "--credentials-secret"},
		{name: "bad service account", opts: JobOptions{ServiceAccount: "-sa"}, want: ErrInvalidOptions, say: "--service-account"},
		{name: "claim and secret", opts: JobOptions{CredentialsClaim: "c", CredentialsSecret: "s"}, want: ErrInvalidOptions, say: "--credentials-claim"},
		{name: "claim and with-secret", opts: JobOptions{CredentialsClaim: "c", WithSecret: true}, secret: fakeDockerConfig, want: ErrInvalidOptions, say: "--credentials-claim"},
		{name: "with-secret without credentials", opts: JobOptions{WithSecret: true}, want: ErrInvalidOptions, say: "needs the resolved credentials"},
		{name: "with-secret not a docker config", opts: JobOptions{WithSecret: true}, secret: []byte(`{"user":"s3cr3t-value"}`), want: ErrInvalidOptions, say: `"auths"`},
		{name: "absolute workspace path", opts: JobOptions{WorkspacePath: "/data/my-build"}, want: ErrInvalidOptions, say: "relative path"},
		{name: "escaping workspace path", opts: JobOptions{WorkspacePath: "../other"}, want: ErrInvalidOptions, say: "relative path"},
		{name: "negative backoff", opts: JobOptions{BackoffLimit: &minus}, want: ErrInvalidOptions, say: "negative"},
		{name: "negative deadline", opts: JobOptions{ActiveDeadline: -time.Minute}, want: ErrInvalidOptions, say: "positive"},
		{name: "fractional deadline", opts: JobOptions{ActiveDeadline: halfSecond}, want: ErrInvalidOptions, say: "whole number of seconds"},
		{name: "fractional ttl", opts: JobOptions{TTLAfterFinished: &halfSecond}, want: ErrInvalidOptions, say: "whole number of seconds"},
		{name: "bad cpu", opts: JobOptions{CPU: "two"}, want: ErrInvalidOptions, say: "--cpu"},
		{name: "bad memory", opts: JobOptions{Memory: "2GB"}, want: ErrInvalidOptions, say: "--memory"},
		{name: "zero memory", opts: JobOptions{Memory: "0"}, want: ErrInvalidOptions, say: "positive"},
		{name: "context at root", build: func(b *spec.Build) { b.Context, b.Dockerfile = "/", "/Dockerfile" }, want: ErrInvalidOptions, say: "--workspace-path"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			b := baseBuild()
			if tc.build != nil {
				tc.build(b)
			}
			_, err := Render(b, tc.opts, tc.secret)
			if !errors.Is(err, tc.want) {
				t.Fatalf("Render error = %v, want %v", err, tc.want)
			}
			msg := err.Error()
			if !strings.Contains(msg, tc.say) {
				t.Errorf("error %q does not mention %q", msg, tc.say)
			}
			if strings.Contains(msg, "\n") {
				t.Errorf("error is not one line: %q", msg)
			}
			if strings.Contains(msg, "s3cr3t") || strings.Contains(msg, "ZmFrZTpmYWtl") {
				t.Errorf("error quotes the credentials: %q", msg)
			}
		})
	}
}

func TestRepositoryLabelValue(t *testing.T) {
	t.Parallel()
	cases := map[string]string{
		"registry.example.com/team/app:1.0":      "registry.example.com_team_app",
		"localhost:5000/demo/hello:dev":          "localhost-5000_demo_hello",
		"alpine":                                 "index.docker.io_library_alpine",
		"ghcr.io/Org/App@sha256:" + digest64():   "",
		"eu.gcr.io/p/" + strings.Repeat("x", 80): strings.Repeat("x", 63),
		"not a reference":                        "",
	}
	for in, want := range cases {
		got := RepositoryLabelValue(in)
		if got != want {
			t.Errorf("RepositoryLabelValue(%q) = %q, want %q", in, got, want)
		}
		if got != "" {
			if errs := validation.IsValidLabelValue(got); len(errs) > 0 {
				t.Errorf("RepositoryLabelValue(%q) = %q is not a label value: %v", in, got, errs)
			}
		}
	}
}

// digest64 is a well-formed but fake sha256 hex digest.
func digest64() string { return strings.Repeat("ab", 32) }

func TestJobOptionsNames(t *testing.T) {
	t.Parallel()
	cases := []struct {
		o           JobOptions
		job, secret string
	}{
		{JobOptions{}, "build-image", ""},
		{JobOptions{WithSecret: true}, "build-image", "build-image-docker-config"},
		{JobOptions{GenerateName: "nightly-", WithSecret: true}, "nightly-", "nightly-docker-config"},
		{JobOptions{Name: "x", CredentialsSecret: "regcred", WithSecret: true}, "x", "regcred"},
		{JobOptions{CredentialsClaim: "creds"}, "build-image", ""},
	}
	for _, tc := range cases {
		if got := tc.o.JobName(); got != tc.job {
			t.Errorf("%+v JobName = %q, want %q", tc.o, got, tc.job)
		}
		if got := tc.o.SecretName(); got != tc.secret {
			t.Errorf("%+v SecretName = %q, want %q", tc.o, got, tc.secret)
		}
	}
}

func BenchmarkRenderEncode(b *testing.B) {
	build := baseBuild()
	for b.Loop() {
		r, err := Render(build, JobOptions{WithSecret: true}, fakeDockerConfig)
		if err != nil {
			b.Fatal(err)
		}
		if err := Encode(&bytes.Buffer{}, r.Objects(), FormatYAML); err != nil {
			b.Fatal(err)
		}
	}
}

// Without --with-secret the Job still mounts the build's Secret; the line
// that creates it names the files and variables, never the values.
func TestCreateSecretCommand(t *testing.T) {
	t.Parallel()
	b := baseBuild()
	withBuildSecrets(b)
	b.Secrets = append(b.Secrets, spec.Secret{ID: "odd", File: "/home/dev/my secrets/odd's.txt"})
	for _, tc := range []struct {
		opts JobOptions
		want string
	}{
		{JobOptions{}, `kubectl create secret generic build-image-secrets --from-file=tok=/home/dev/tok.txt --from-literal=npm="$NPM_TOKEN" '--from-file=odd=/home/dev/my secrets/odd'\''s.txt'`},
		{JobOptions{GenerateName: "nightly-", Namespace: "ci"}, `kubectl create secret generic nightly-secrets -n ci --from-file=tok=/home/dev/tok.txt --from-literal=npm="$NPM_TOKEN" '--from-file=odd=/home/dev/my secrets/odd'\''s.txt'`},
	} {
		if got := CreateSecretCommand(b, tc.opts); got != tc.want {
			t.Errorf("got  %s\nwant %s", got, tc.want)
		}
	}
}

// TestRenderNeverColour: the executor's default log format is colour,
// whose escape codes would fill kubectl logs; a Job logs plain text even
// when the build asked a local terminal for colour, and gets the
// platform as the local run does.
func TestRenderNeverColour(t *testing.T) {
	t.Parallel()
	b := baseBuild()
	b.Color = true
	b.Platform = "linux/arm64"
	r, err := Render(b, JobOptions{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	args := r.Job.Spec.Template.Spec.Containers[0].Args
	if !slices.Contains(args, "--log-format=text") || slices.Contains(args, "--log-format=color") {
		t.Errorf("args = %q, want --log-format=text", args)
	}
	if !slices.Contains(args, "--custom-platform=linux/arm64") {
		t.Errorf("args = %q, want --custom-platform=linux/arm64", args)
	}
}

func TestLocalOnlyFlags(t *testing.T) {
	t.Parallel()
	for _, n := range LocalOnlyFlags() {
		err := LocalOnly(n)
		if !errors.Is(err, ErrLocalOnly) || !strings.Contains(err.Error(), "--"+n) || strings.Contains(err.Error(), "\n") {
			t.Errorf("LocalOnly(%q) = %v", n, err)
		}
	}
}
