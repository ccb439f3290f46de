package prepare

import (
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/kanikorun/kanikorun/internal/dockerfile"
	"github.com/kanikorun/kanikorun/internal/lint"
	"github.com/kanikorun/kanikorun/internal/spec"
	"github.com/kanikorun/kanikorun/internal/testfs"
)

const multiStage = `ARG BASE=127.0.0.1:5000/base:1
FROM $BASE AS build
RUN make
FROM ghcr.io/org/runtime:2
COPY --from=build /out /app
COPY --from=quay.io/tools/x:3 /x /x
`

// TestPrepareParsesOnce: one preparation reads the Dockerfile once for the
// preflight, the registries and the network choice, and the executor
// arguments after -- count (a destination there is one).
func TestPrepareParsesOnce(t *testing.T) {
	dir := testfs.WriteTree(t, t.TempDir(), map[string]string{"Dockerfile": multiStage})
	before := dockerfile.Parses()
	p, err := Prepare(Options{
		Build: spec.Options{Args: []string{dir}, ExecutorArgs: []string{"--destination=registry.example.com/team/app:1", "--skip-unused-stages"}},
		Mode:  lint.Local,
	})
	if err != nil {
		t.Fatal(err)
	}
	// Everything the backends ask of the prepared build.
	_ = p.Preflight(&strings.Builder{})
	_ = p.DockerfileNeedsNetwork()
	_ = p.LoopbackRegistries()
	if n := dockerfile.Parses() - before; n != 1 {
		t.Errorf("the Dockerfile was parsed %d times, want once", n)
	}
	if want := []string{"127.0.0.1:5000", "ghcr.io", "quay.io", "registry.example.com"}; !slices.Equal(p.RegistryHosts(), want) {
		t.Errorf("registries %q, want %q", p.RegistryHosts(), want)
	}
	if got := p.LoopbackRegistries(); !slices.Equal(got, []string{"127.0.0.1:5000"}) {
		t.Errorf("loopback registries %q", got)
	}
	if p.Report == nil || p.Lint.SkipUnusedStages == nil || !*p.Lint.SkipUnusedStages {
		t.Errorf("the preflight did not see the executor's --skip-unused-stages: %+v", p.Lint)
	}
	if !p.DockerfileNeedsNetwork() {
		t.Error("a Dockerfile with RUN and base images needs the network")
	}
}

func TestPrepareExecutorParsesOnce(t *testing.T) {
	dir := testfs.WriteTree(t, t.TempDir(), map[string]string{"Dockerfile": "FROM scratch\nCOPY a /a\n", "a": ""})
	before := dockerfile.Parses()
	p, err := PrepareExecutor(ExecutorOptions{
		Args:       []string{"--context=dir:///workspace/", "--dockerfile=/workspace/Dockerfile", "--no-push"},
		Image:      spec.DefaultExecutorImage,
		Dockerfile: filepath.Join(dir, "Dockerfile"),
		Context:    dir,
	})
	if err != nil {
		t.Fatal(err)
	}
	if p.DockerfileNeedsNetwork() || len(p.Registries) != 0 {
		t.Errorf("FROM scratch + COPY with --no-push needs nothing: registries %q", p.RegistryHosts())
	}
	if n := dockerfile.Parses() - before; n != 1 {
		t.Errorf("the Dockerfile was parsed %d times, want once", n)
	}
}

func TestPrepareErrorsAreUsage(t *testing.T) {
	t.Parallel()
	dir := testfs.WriteTree(t, t.TempDir(), map[string]string{"Dockerfile": "FROM ${NOPE}/x\n"})
	for name, o := range map[string]Options{
		"two contexts":      {Build: spec.Options{Args: []string{dir, dir}}},
		"bad destination":   {Build: spec.Options{Args: []string{dir}, Destinations: []string{"UPPER/Case"}}},
		"tar in /proc":      {Build: spec.Options{Args: []string{dir}, TarPath: "/proc/x.tar"}},
		"bad bool after --": {Build: spec.Options{Args: []string{dir}, ExecutorArgs: []string{"--cache=maybe"}}},
		"missing config":    {Build: spec.Options{Args: []string{dir}}, DockerConfig: filepath.Join(dir, "nope")},
		"unknown rule":      {Build: spec.Options{Args: []string{dir}}, Preflight: lint.Policy{Ignore: []string{"KR999"}}},
	} {
		err := o.Validate()
		if err == nil {
			_, err = Prepare(o)
		}
		if !errors.Is(err, spec.ErrUsage) {
			t.Errorf("%s: %v, want an error wrapping spec.ErrUsage", name, err)
		}
	}
}

// Secrets given to kanikorun (--secret) and to the executor after -- both
// count as given to the preflight (KR005); upstream kaniko is refused with
// one line, whatever --no-lint says, and the fork's flavour lifts it.
func TestPrepareSecrets(t *testing.T) {
	t.Parallel()
	dir := testfs.WriteTree(t, t.TempDir(), map[string]string{
		"Dockerfile": "FROM scratch\nRUN --mount=type=secret,id=tok cat /run/secrets/tok\nRUN --mount=type=secret,id=npm cat /run/secrets/npm\nRUN --mount=type=secret,id=other true\n",
		"tok.txt":    "hunter2\n",
	})
	fork := spec.Options{
		Args: []string{dir}, ExecutorImage: lint.ForkImage,
		Secrets:      []string{"id=tok,src=" + filepath.Join(dir, "tok.txt")},
		ExecutorArgs: []string{"--secret=id=npm,env=NPM_TOKEN"},
	}
	p, err := Prepare(Options{Build: fork, Mode: lint.Local})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(p.Lint.Secrets, []string{"tok", "npm"}) {
		t.Errorf("secrets given to the preflight: %q", p.Lint.Secrets)
	}
	var kr005 []string
	for _, f := range p.Report.Findings {
		if f.ID == lint.RuleMountSecret {
			kr005 = append(kr005, f.Message+" / "+f.Hint)
		}
	}
	if len(kr005) != 1 || !strings.Contains(kr005[0], `secret "other"`) || !strings.Contains(kr005[0], "kanikorun build --secret id=other,src=FILE") {
		t.Errorf("KR005 findings %q, want one for other, saying kanikorun build --secret", kr005)
	}

	for _, tc := range []struct {
		name   string
		image  string
		policy lint.Policy
		ok     bool
		want   string
	}{
		{"upstream", spec.DefaultExecutorImage, lint.Policy{}, false, "--secret needs the fork executor"},
		{"upstream without lint", spec.DefaultExecutorImage, lint.Policy{Skip: true}, false, "pass --executor-image " + lint.ForkImage + " or drop --secret"},
		{"unknown image", "registry.example.com/kaniko:1", lint.Policy{}, false, "if registry.example.com/kaniko:1 is the fork, pass --executor-flavor fork"},
		{"unknown image as fork", "registry.example.com/kaniko:1", lint.Policy{Flavor: "fork"}, true, ""},
	} {
		o := Options{Build: fork, Preflight: tc.policy, Mode: lint.Local}
		o.Build.ExecutorImage = tc.image
		o.Build.ExecutorArgs = nil
		for _, err := range []error{o.Validate(), func() error { _, err := Prepare(o); return err }()} {
			switch {
			case tc.ok && err != nil:
				t.Errorf("%s: %v", tc.name, err)
			case !tc.ok && (err == nil || !errors.Is(err, spec.ErrUsage) || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "\n")):
				t.Errorf("%s: %v, want one line (a usage error) saying %q", tc.name, err, tc.want)
			}
		}
	}
}
