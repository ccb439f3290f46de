package main

import (
	"testing"

	"github.com/kanikorun/kanikorun/internal/dockerfile"
	"github.com/kanikorun/kanikorun/internal/testbed"
)

// TestOneParsePerCommand: every command that runs or renders a build reads
// its Dockerfile once, whatever it needs it for (preflight, registries,
// network). Not parallel: the parse counter is per process.
func TestOneParsePerCommand(t *testing.T) {
	ctxDir := buildContext(t, map[string]string{
		"Dockerfile": "ARG BASE=127.0.0.1:5000/base:1\nFROM $BASE AS build\nRUN make\nFROM scratch\nCOPY --from=build /out /out\n",
	})
	t.Setenv("DOCKER_CONFIG", t.TempDir())
	cmds := [][]string{
		{"lint", ctxDir},
		{"lint", "--job", ctxDir},
		{"creds", ctxDir},
		{"job", "--no-push", ctxDir},
	}
	for _, args := range cmds {
		onceFor(t, args...)
	}
	t.Run("build", func(t *testing.T) {
		testbed.RequireDocker(t)
		onceFor(t, "build", "--dry-run", "--executor-image", executorImage, ctxDir)
	})
}

func onceFor(t *testing.T, args ...string) {
	t.Helper()
	before := dockerfile.Parses()
	r := kanikorun(t, args...)
	if r.code != 0 {
		t.Errorf("%q: %s", args, r)
		return
	}
	if n := dockerfile.Parses() - before; n != 1 {
		t.Errorf("%q parsed the Dockerfile %d times, want once", args, n)
	}
}
