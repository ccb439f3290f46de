package testbed

import (
	"context"
	"errors"
	"runtime"
	"testing"
)

// fakeTB records what RequireDocker does instead of ending the real test.
type fakeTB struct {
	testing.TB
	skipped, failed bool
}

func (f *fakeTB) Helper()               {}
func (f *fakeTB) Cleanup(func())        {}
func (f *fakeTB) Skipf(string, ...any)  { f.skipped = true; runtime.Goexit() }
func (f *fakeTB) Fatalf(string, ...any) { f.failed = true; runtime.Goexit() }
func (f *fakeTB) requireDocker() *fakeTB {
	done := make(chan struct{})
	go func() { defer close(done); RequireDocker(f) }()
	<-done
	return f
}
func newFakeTB(t *testing.T) *fakeTB { return &fakeTB{TB: t} }

// Not parallel: it changes DOCKER_HOST and CI.
func TestRequireDockerWithoutDaemon(t *testing.T) {
	t.Setenv("DOCKER_HOST", "unix:///nonexistent/docker.sock")
	if cli, err := Docker(context.Background()); !errors.Is(err, ErrDockerUnavailable) || cli != nil {
		t.Errorf("Docker() = %v, %v; want nil and ErrDockerUnavailable", cli, err)
	}
	t.Setenv("CI", "")
	if f := newFakeTB(t).requireDocker(); !f.skipped || f.failed {
		t.Errorf("on a workstation: skipped=%v failed=%v, want a skip", f.skipped, f.failed)
	}
	t.Setenv("CI", "true")
	if f := newFakeTB(t).requireDocker(); f.skipped || !f.failed {
		t.Errorf("in CI: skipped=%v failed=%v, want a failure", f.skipped, f.failed)
	}
}
