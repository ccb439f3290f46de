package main

import (
	"context"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kanikorun/kanikorun/internal/spec"
	"github.com/kanikorun/kanikorun/internal/testbed"
)

// The secrets scan end to end: the registry password and two build
// secrets never appear, plain or in base64, in the output of build
// (retried, run to the end), creds, job (but in the Secret --with-secret
// asks for), build --dry-run, in the running executor container's inspect
// data, or in any file left behind.
func TestSecretsScanEndToEnd(t *testing.T) {
	fork := requireFork(t)
	tmp := isolate(t)
	cli := testbed.RequireDocker(t)
	base, err := scriptBase()
	if err != nil {
		t.Fatal(err)
	}
	fileValue, envValue := "file-"+testbed.RandomPassword(), "env-"+testbed.RandomPassword()
	scan := testbed.NewSecretScan(reg.Username, reg.Password, fileValue, envValue)
	t.Setenv("KANIKORUN_SCAN_NPM_TOKEN", envValue)
	ctxDir := buildContext(t, map[string]string{
		"Dockerfile": "ARG BASE\nFROM $BASE\nRUN --mount=type=secret,id=tok cat /run/secrets/tok\nRUN --mount=type=secret,id=npm cat /run/secrets/npm\nRUN sleep 1\n",
	})
	tok := filepath.Join(t.TempDir(), "tok.txt")
	if err := os.WriteFile(tok, []byte(fileValue+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := registryConfig(t)
	common := []string{ctxDir, "-t", reg.Ref("scan/app:1"), "--executor-image", fork, "--executor-flavor", "fork",
		"--docker-config", cfg, "--build-arg", "BASE=" + base, "--secret", "id=tok,src=" + tok, "--secret", "id=npm,env=KANIKORUN_SCAN_NPM_TOKEN"}

	// The build, as a process, so its container can be inspected while it
	// runs.
	cmd, seen, rest := startUntil(t, "RUN sleep 1", append([]string{"build", "--executor-pull", "never", "--retries", "1"}, common...)...)
	ids, err := testbed.Containers(context.Background(), cli, map[string]string{spec.ContextLabel: ctxDir})
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range ids {
		info, err := cli.ContainerInspect(context.Background(), id)
		if err != nil {
			continue
		}
		raw, _ := json.Marshal(info)
		scan.Scan("inspect of the executor container", raw)
	}
	after, _ := io.ReadAll(rest)
	if err := cmd.Wait(); err != nil {
		t.Fatalf("build: %v\n%s%s", err, strings.Join(seen, ""), after)
	}
	if len(ids) != 1 {
		t.Errorf("inspected %d containers, want the build's one", len(ids))
	}
	scan.Scan("build stderr", []byte(strings.Join(seen, "")+string(after)))

	for name, args := range map[string][]string{
		"creds":           {"creds", ctxDir, "-t", reg.Ref("scan/app:1"), "--docker-config", cfg, "--build-arg", "BASE=" + base},
		"build --dry-run": append([]string{"build", "--dry-run"}, common...),
		"job":             append([]string{"job"}, common...),
	} {
		r := kanikorun(t, args...)
		if r.code != 0 {
			t.Errorf("%s: %s", name, r)
		}
		scan.Scan(name+" output", []byte(r.stdout+r.stderr))
	}
	r := kanikorun(t, append([]string{"job", "--with-secret"}, common...)...)
	if r.code != 0 || !strings.Contains(r.stdout, "kind: Secret") {
		t.Fatalf("job --with-secret: %s", r)
	}
	scan.ScanYAML("job --with-secret", r.stdout)
	scan.Scan("job --with-secret stderr", []byte(r.stderr))

	scan.ScanFiles(tmp, nil)
	assertNothingLeft(t, ctxDir, tmp)
	for _, f := range scan.Findings() {
		t.Errorf("secret found: %s", f)
	}
	if scan.Scanned() < 7 {
		t.Errorf("only %d pieces scanned", scan.Scanned())
	}
}
