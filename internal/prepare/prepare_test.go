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
