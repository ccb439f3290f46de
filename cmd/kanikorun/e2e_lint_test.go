package main

import (
	"encoding/json"
	"regexp"
	"strings"
	"testing"

	"github.com/kanikorun/kanikorun/internal/lint"
	"github.com/kanikorun/kanikorun/internal/testbed"
)

const heredocRun = "FROM scratch\nRUN <<EOT\necho hi > /x\nEOT\n"

func TestLintCommandOutput(t *testing.T) {
	// No flavour override from the environment: the unknown-image notice
	// is part of what is checked.
	t.Setenv("KANIKORUN_EXECUTOR_FLAVOR", "")
	ctxDir := buildContext(t, map[string]string{
		"Dockerfile": "# syntax=docker/dockerfile:1\nFROM scratch\n" +
			"RUN <<EOT\necho hi\nEOT\n" +
			"RUN --mount=type=cache,target=/c true\n" +
			"# kanikorun:ignore=KR013\nCOPY missing.txt /m\n" +
			"COPY there.txt /t\n",
		"there.txt": "x",
	})
	line := regexp.MustCompile(`^Dockerfile:\d+:\d+: (error|warning|info) KR\d{3} \S`)

	r := kanikorun(t, "lint", ctxDir)
	if r.code != exitLint {
		t.Fatalf("exit %d, want 1 for an error finding:\n%s", r.code, r)
	}
	lines := strings.Split(strings.TrimRight(r.stdout, "\n"), "\n")
	for i, l := range lines {
		if strings.HasPrefix(l, "    hint: ") {
			if i == 0 || !line.MatchString(lines[i-1]) {
				t.Errorf("hint without a finding above it: %q", l)
			}
			continue
		}
		if !line.MatchString(l) {
			t.Errorf("line %q is not compiler-style", l)
		}
	}
	for _, want := range []string{"Dockerfile:3:5: error KR003", "warning KR006", "info KR002"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("output lacks %q:\n%s", want, r.stdout)
		}
	}
	if strings.Contains(r.stdout, "KR013") {
		t.Errorf("# kanikorun:ignore=KR013 did not silence the missing source:\n%s", r.stdout)
	}

	// JSON: an array of findings with every field, for editors.
	r = kanikorun(t, "lint", "--format", "json", ctxDir)
	var findings []map[string]any
	if err := json.Unmarshal([]byte(r.stdout), &findings); err != nil {
		t.Fatalf("--format json is not a JSON array: %v\n%s", err, r.stdout)
	}
	if len(findings) == 0 {
		t.Fatal("no findings in JSON")
	}
	for _, f := range findings {
		for _, k := range []string{"id", "severity", "file", "line", "column", "message", "hint"} {
			if _, ok := f[k]; !ok {
				t.Errorf("finding %v lacks %q", f, k)
			}
		}
	}
	var typed []lint.Finding
	if err := json.Unmarshal([]byte(r.stdout), &typed); err != nil || typed[0].Line == 0 {
		t.Errorf("findings do not decode into lint.Finding: %v %+v", err, typed)
	}

	// The fork builds heredocs and cache mounts: only infos remain.
	r = kanikorun(t, "lint", "--executor-image", lint.ForkImage, ctxDir)
	if r.code != 0 || strings.Contains(r.stdout, "KR003") || strings.Contains(r.stdout, "KR006") {
		t.Errorf("fork: exit %d\n%s", r.code, r.stdout)
	}
	// --ignore and --executor-flavor.
	r = kanikorun(t, "lint", "--ignore", "KR003,KR002", "--ignore", "kr006", ctxDir)
	if r.code != 0 || r.stdout != "" {
		t.Errorf("--ignore: exit %d\n%s", r.code, r.stdout)
	}
	r = kanikorun(t, "lint", "--executor-flavor", "fork", "--executor-image", "example.com/my/kaniko:1", ctxDir)
	if r.code != 0 || strings.Contains(r.stdout, "KR021") {
		t.Errorf("--executor-flavor fork: exit %d\n%s", r.code, r.stdout)
	}
	// An unknown image is checked as upstream and says so once.
	r = kanikorun(t, "lint", "--executor-image", "example.com/my/kaniko:1", ctxDir)
	if strings.Count(r.stdout, "KR021") != 1 || r.code != exitLint {
		t.Errorf("unknown executor: exit %d\n%s", r.code, r.stdout)
	}
	// --strict turns warnings into a failure.
	warnOnly := buildContext(t, map[string]string{"Dockerfile": "FROM scratch\nRUN --mount=type=cache,target=/c true\n"})
	if r := kanikorun(t, "lint", warnOnly); r.code != 0 {
		t.Errorf("warnings only: exit %d", r.code)
	}
	if r := kanikorun(t, "lint", "--strict", warnOnly); r.code != exitLint {
		t.Errorf("--strict with warnings: exit %d", r.code)
	}
	// Bad options are one line and a usage exit.
	for _, args := range [][]string{{"--format", "xml"}, {"--executor-flavor", "other"}, {"--ignore", "KR999"}} {
		r := kanikorun(t, append(append([]string{"lint"}, args...), ctxDir)...)
		if r.code != exitUsage || strings.Count(strings.TrimSpace(r.stderr), "\n") != 0 {
			t.Errorf("lint %v: exit %d, stderr %q", args, r.code, r.stderr)
		}
	}
}

// TestBuildStopsOnLintError: an error finding stops the build before any
// credential file, container or registry request exists.
func TestBuildStopsOnLintError(t *testing.T) {
	tmp := isolate(t)
	testbed.RequireDocker(t)
	ctxDir := buildContext(t, map[string]string{"Dockerfile": heredocRun})
	repo := "app/lint-stopped"
	r := kanikorun(t, "build", "-t", reg.Ref(repo+":1"), "--executor-image", executorImage, "--pull", "never", "--docker-config", registryConfig(t), ctxDir)
	if r.code != exitLint {
		t.Fatalf("exit %d, want %d:\n%s", r.code, exitLint, r)
	}
	if !strings.Contains(r.stderr, "error KR003") || !strings.Contains(r.stderr, "--no-lint") {
		t.Errorf("stderr does not show the finding and the way out:\n%s", r.stderr)
	}
	if strings.Contains(r.stderr, testbed.ArgvMarker) {
		t.Error("the executor ran")
	}
	for _, q := range reg.Requests() {
		if strings.Contains(q.Path, repo) {
			t.Errorf("registry was contacted: %s %s", q.Method, q.Path)
		}
	}
	assertNothingLeft(t, ctxDir, tmp)

	// --no-lint builds anyway (the stand-in, like upstream, runs an empty
	// shell for the heredoc: exactly the silent wrong image lint exists for).
	base := baseImage(t)
	ctxDir = buildContext(t, map[string]string{"Dockerfile": strings.Replace(heredocRun, "FROM scratch", "FROM "+base, 1)})
	r = kanikorun(t, "build", "--no-lint", "--no-push", "--executor-image", executorImage, "--pull", "never", "--docker-config", registryConfig(t), ctxDir)
	if r.code != 0 || strings.Contains(r.stderr, "KR003") {
		t.Errorf("--no-lint: exit %d\n%s", r.code, r)
	}
	assertNothingLeft(t, ctxDir, tmp)
}

// TestBuildGoesOnWithLintWarning: a warning is printed and the build runs.
func TestBuildGoesOnWithLintWarning(t *testing.T) {
	tmp := isolate(t)
	testbed.RequireDocker(t)
	ctxDir := buildContext(t, map[string]string{"Dockerfile": "FROM " + baseImage(t) + "\nRUN --mount=type=cache,target=/cache echo built\n"})
	r := kanikorun(t, "build", "--no-push", "--executor-image", executorImage, "--pull", "never", "--docker-config", registryConfig(t), ctxDir)
	if r.code != 0 {
		t.Fatalf("build failed:\n%s", r)
	}
	if !strings.Contains(r.stderr, "warning KR006") || !strings.Contains(r.stdout, "built") {
		t.Errorf("want the warning and the build's output:\n%s", r)
	}
	if _, err := testbed.ParseArgv(r.stderr); err != nil {
		t.Errorf("the executor did not run: %v", err)
	}
	// --strict stops on the same warning.
	r = kanikorun(t, "build", "--strict", "--no-push", "--executor-image", executorImage, "--pull", "never", "--docker-config", registryConfig(t), ctxDir)
	if r.code != exitLint || strings.Contains(r.stderr, testbed.ArgvMarker) {
		t.Errorf("--strict: exit %d\n%s", r.code, r)
	}
	assertNothingLeft(t, ctxDir, tmp)
}

// TestWorkspaceWritesLocalVersusJob: WORKDIR under /workspace fails a local
// build (read-only mount) and warns for a Job.
func TestWorkspaceWritesLocalVersusJob(t *testing.T) {
	t.Parallel()
	ctxDir := buildContext(t, map[string]string{"Dockerfile": "FROM scratch\nWORKDIR /workspace/out\n"})
	r := kanikorun(t, "lint", ctxDir)
	if r.code != exitLint || !strings.Contains(r.stdout, "error KR011") {
		t.Errorf("local: exit %d\n%s", r.code, r.stdout)
	}
	r = kanikorun(t, "job", "--executor-image", executorImageOrDefault(), ctxDir)
	if r.code != 0 || !strings.Contains(r.stderr, "warning KR011") || !strings.Contains(r.stdout, "kind: Job") {
		t.Errorf("job: exit %d\n%s", r.code, r)
	}
	// A job with an error finding prints no YAML at all.
	bad := buildContext(t, map[string]string{"Dockerfile": heredocRun})
	r = kanikorun(t, "job", bad)
	if r.code != exitLint || r.stdout != "" {
		t.Errorf("job with a lint error: exit %d, stdout %q", r.code, r.stdout)
	}
}

func executorImageOrDefault() string {
	if executorImage != "" {
		return executorImage
	}
	return "gcr.io/kaniko-project/executor:v1.24.0"
}

// TestReplayRunsThePreflight: replay is a build too; the Dockerfile it
// checks is the one the manifest's arguments name, found through the
// volume mappings.
func TestReplayRunsThePreflight(t *testing.T) {
	tmp := isolate(t)
	testbed.RequireDocker(t)
	claim := t.TempDir()
	ctxDir := writeTree(t, claim+"/app", map[string]string{"Dockerfile": heredocRun})
	job := kanikorun(t, "job", "--no-lint", "--no-push", "--executor-image", executorImage, ctxDir)
	if job.code != 0 {
		t.Fatalf("job: %s", job)
	}
	manifest := writeTree(t, t.TempDir(), map[string]string{"job.yaml": job.stdout}) + "/job.yaml"
	r := kanikorun(t, "replay", manifest, "--claim", "kaniko-workspace="+claim, "--pull", "never")
	if r.code != exitLint || !strings.Contains(r.stderr, "/workspace/app/Dockerfile:2:") || !strings.Contains(r.stderr, "KR003") {
		t.Errorf("replay of a heredoc build: exit %d\n%s", r.code, r)
	}
	if strings.Contains(r.stderr, testbed.ArgvMarker) {
		t.Error("the executor ran")
	}
	assertNothingLeft(t, ctxDir, tmp)
}

// TestBuildNamesTheAssumedExecutorOnce: for an image kanikorun does not
// know, the build says once which capabilities it checked against.
func TestBuildNamesTheAssumedExecutorOnce(t *testing.T) {
	t.Setenv("KANIKORUN_EXECUTOR_FLAVOR", "")
	ctxDir := buildContext(t, map[string]string{"Dockerfile": heredocRun})
	r := kanikorun(t, "job", "--executor-image", "registry.corp.example/mirror/kaniko:v1.28.3", ctxDir)
	if strings.Count(r.stderr, "KR021") != 1 || !strings.Contains(r.stderr, "--executor-flavor") || r.code != exitLint {
		t.Errorf("exit %d\n%s", r.code, r.stderr)
	}
	r = kanikorun(t, "job", "--executor-image", "registry.corp.example/mirror/kaniko:v1.28.3", "--executor-flavor", "fork", ctxDir)
	if r.code != 0 || strings.Contains(r.stderr, "KR0") {
		t.Errorf("with --executor-flavor fork: exit %d\n%s", r.code, r.stderr)
	}
	// Overriding a known image's flavour is allowed, but said.
	r = kanikorun(t, "job", "--executor-flavor", "fork", ctxDir)
	if r.code != 0 || !strings.Contains(r.stderr, "warning: --executor-flavor fork contradicts gcr.io/kaniko-project/executor:v1.24.0") {
		t.Errorf("contradicting override: exit %d\n%s", r.code, r.stderr)
	}
}
