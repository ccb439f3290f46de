package main

import (
	"strings"
	"testing"

	"github.com/kanikorun/kanikorun/internal/testbed"
)

// The CLI's retry flags end to end: a registry that fails the push
// permission check twice, a build with --retries 2 that succeeds anyway.
func TestBuildRetriesTransientRegistryFailure(t *testing.T) {
	tmp := isolate(t)
	testbed.RequireDocker(t)
	faulty := testbed.NewRegistry(t)
	cfg := t.TempDir()
	if _, err := faulty.WriteDockerConfig(cfg); err != nil {
		t.Fatal(err)
	}
	ctxDir := buildContext(t, map[string]string{"Dockerfile": "FROM scratch\nCOPY a.txt /\n", "a.txt": "A\n"})
	dest := faulty.Ref("retry/cli:1")
	faulty.Fail(2, testbed.FaultUnavailable)
	r := kanikorun(t, "build", ctxDir, "-t", dest, "--retries", "2", "--retry-delay", "10ms",
		"--executor-image", executorImage, "--executor-pull", "never", "--docker-config", cfg)
	if r.code != 0 {
		t.Fatalf("build failed:\n%s", r)
	}
	if !strings.Contains(r.stderr, "kanikorun: attempt 2/3 in ") || !strings.Contains(r.stderr, "the registry answered UNAVAILABLE") {
		t.Errorf("no retry announcement:\n%s", r.stderr)
	}
	if _, err := faulty.Image(dest); err != nil {
		t.Errorf("not pushed: %v", err)
	}
	assertNothingLeft(t, ctxDir, tmp)

	// Without --retries the same fault fails the build, with the
	// executor's exit code.
	faulty.Fail(1, testbed.FaultUnavailable)
	r = kanikorun(t, "build", ctxDir, "-t", dest, "--executor-image", executorImage, "--executor-pull", "never", "--docker-config", cfg)
	if r.code != 1 || strings.Contains(r.stderr, "kanikorun: attempt") {
		t.Errorf("want exit 1 and no retry without --retries:\n%s", r)
	}
	assertNothingLeft(t, ctxDir, tmp)
}

// job --retries renders the executor's own retry flags into the Job, as
// build hands them to the local executor; --backoff-limit stays apart.
func TestJobRetriesRenderExecutorFlags(t *testing.T) {
	t.Parallel()
	ctxDir := buildContext(t, map[string]string{"Dockerfile": "FROM scratch\n"})
	r := kanikorun(t, "job", ctxDir, "-t", "registry.example/app:1", "--retries", "2", "--no-lint")
	if r.code != 0 {
		t.Fatalf("job failed:\n%s", r)
	}
	for _, want := range []string{"--push-retry=2", "--image-download-retry=2", "backoffLimit: 3"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("Job lacks %q:\n%s", want, r.stdout)
		}
	}
	r = kanikorun(t, "job", ctxDir, "-t", "registry.example/app:1", "--retries", "2", "--no-lint", "--", "--push-retry=7")
	if strings.Count(r.stdout, "--push-retry") != 1 || !strings.Contains(r.stdout, "--push-retry=7") {
		t.Errorf("the user's --push-retry after -- should win alone:\n%s", r.stdout)
	}
	if r := kanikorun(t, "build", ctxDir, "--retries", "-1", "--dry-run"); r.code != 2 {
		t.Errorf("--retries -1: %s", r)
	}
}
