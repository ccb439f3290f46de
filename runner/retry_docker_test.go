package runner

// The retry loop against the real daemon, the stand-in executor and a
// registry that fails on purpose: transient registry failures are retried
// to success, a refused login and a failing RUN are not retried.

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kanikorun/kanikorun/internal/spec"
	"github.com/kanikorun/kanikorun/internal/testbed"
)

// retryBuild is a build of dockerfile pushing to reg, with retries.
func retryBuild(t *testing.T, reg *testbed.Registry, img, dockerfile string, retries int) *spec.Build {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte(dockerfile), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "a.txt"), []byte("A\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return &spec.Build{Context: dir, Dockerfile: filepath.Join(dir, "Dockerfile"), ExecutorImage: img,
		Destinations: []string{reg.Ref("retry/app:1")}, Retries: retries}
}

// retryRunner runs builds on the real daemon without waiting out back-offs.
func retryRunner(eng Engine, retries int, stderr *bytes.Buffer, waits *[]time.Duration) *Runner {
	return &Runner{Engine: eng, Stdout: stderr, Stderr: stderr, Pull: PullNever,
		Retry: RetryPolicy{Retries: retries, Sleep: recordSleep(waits)}}
}

func TestRetryTransientRegistryFailures(t *testing.T) {
	t.Parallel()
	eng, cli, img := daemon(t)
	tests := []struct {
		name   string
		fault  testbed.Fault
		reason string
	}{
		{"503 with an error body", testbed.FaultUnavailable, "the registry answered UNAVAILABLE"},
		{"503 without a body", testbed.FaultBare503, "the registry answered 503 Service Unavailable"},
		{"429", testbed.FaultTooManyRequests, "the registry answered TOOMANYREQUESTS"},
		{"connection reset", testbed.FaultReset, "the network failed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			reg := testbed.NewRegistry(t)
			b := retryBuild(t, reg, img, "FROM scratch\nCOPY a.txt /\n", 3)
			// The push-permission check before the build meets the faults:
			// neither --push-retry nor the executor's transport retries it.
			reg.Fail(2, tt.fault)
			var out bytes.Buffer
			var waits []time.Duration
			r := retryRunner(eng, 3, &out, &waits)
			res, err := r.Build(context.Background(), Local{Build: b, DockerConfig: reg.DockerConfig(), Network: "host"})
			if err != nil || res.ExitCode != 0 {
				t.Fatalf("exit %d, err %v after retries:\n%s", res.ExitCode, err, out.String())
			}
			if !strings.Contains(out.String(), "kanikorun: attempt 2/4 in ") || !strings.Contains(out.String(), tt.reason) {
				t.Errorf("no announcement with %q:\n%s", tt.reason, out.String())
			}
			if len(waits) == 0 || len(waits) > 2 {
				t.Errorf("waited %v, want one or two back-offs for two faults", waits)
			}
			if _, err := reg.Image(b.Destinations[0]); err != nil {
				t.Errorf("image not pushed after the retries: %v", err)
			}
			argv, _ := testbed.ParseArgv(out.String())
			if !strings.Contains(strings.Join(argv, " "), "--push-retry=3 --image-download-retry=3") {
				t.Errorf("executor argv %q lacks its own retry flags", argv)
			}
			noLeftovers(t, cli)
		})
	}
}

func TestRetryLeavesPermanentFailuresAlone(t *testing.T) {
	t.Parallel()
	eng, cli, img := daemon(t)
	reg := testbed.NewRegistry(t)
	ctx := context.Background()
	base, err := reg.PushBase(ctx, "retry/base:1", map[string]string{"bin/sh": "#!"}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	wrong, err := testbed.StartRegistry(reg.Username, "not-"+reg.Password)
	if err != nil {
		t.Fatal(err)
	}
	defer wrong.Close()
	wrong.Addr = reg.Addr // the right registry, the wrong password
	tests := []struct {
		name       string
		dockerfile string
		config     []byte
		wantCode   int
		wantLine   string
	}{
		{"refused login", "FROM scratch\nCOPY a.txt /\n", wrong.DockerConfig(), 1, "UNAUTHORIZED"},
		{"failing RUN", "FROM " + base + "\nRUN exit 3\n", reg.DockerConfig(), 3, "exit status 3"},
		{"missing base image", "FROM " + reg.Ref("retry/absent:1") + "\n", reg.DockerConfig(), 1, "NAME_UNKNOWN"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := retryBuild(t, reg, img, tt.dockerfile, 3)
			var out bytes.Buffer
			var waits []time.Duration
			res, err := retryRunner(eng, 3, &out, &waits).Build(ctx, Local{Build: b, DockerConfig: tt.config, Network: "host"})
			if err != nil || res.ExitCode != tt.wantCode || !strings.Contains(out.String(), tt.wantLine) {
				t.Fatalf("exit %d, err %v, want exit %d with %q:\n%s", res.ExitCode, err, tt.wantCode, tt.wantLine, out.String())
			}
			if len(waits) != 0 || strings.Contains(out.String(), "kanikorun: attempt") {
				t.Errorf("a permanent failure was retried (waits %v):\n%s", waits, out.String())
			}
			noLeftovers(t, cli)
		})
	}
}
