package main

import (
	"context"
	"regexp"
	"slices"
	"testing"

	"github.com/kanikorun/kanikorun/internal/testbed"
	"github.com/kanikorun/kanikorun/runner"
)

// A build makes the Engine API calls docker run --rm makes and one more:
// one ping, the create (which also makes the cache volume, labelled, when
// it is missing), the attach, the wait, the start, and the subscription to
// the container's die event, the earliest word of its exit code. The
// daemon's AutoRemove removes the container, so kanikorun sends no
// removal of its own; the container is gone all the same. This is what
// keeps a build's overhead below docker run's (make bench-cache,
// "overhead").
func TestBuildMakesDockerRunsCallsAndTheDieEvent(t *testing.T) {
	cli := testbed.RequireDocker(t)
	// Its socket lives outside the TMPDIR whose leftovers are counted.
	proxy := testbed.NewDaemonProxy(t)
	tmp := isolate(t)
	vol := cacheVolume(t)
	ctxDir := buildContext(t, map[string]string{"Dockerfile": "FROM scratch\nCOPY a.txt /a.txt\n", "a.txt": "a\n"})
	removeByContext(t, ctxDir)
	t.Setenv("DOCKER_HOST", proxy.Host)

	id := regexp.MustCompile(`/containers/[0-9a-f]{64}`)
	want := []string{"HEAD /_ping", "POST /containers/create", "POST /containers/ID/attach", "POST /containers/ID/start", "POST /containers/ID/wait", "GET /events"}
	slices.Sort(want)
	for _, round := range []string{"cold (no volume yet)", "warm (the volume exists)"} {
		before := len(proxy.Requests())
		r := kanikorun(t, "build", ctxDir, "--executor-image", executorImage, "--executor-pull", "never")
		if r.code != 0 {
			t.Fatalf("%s: %s", round, r)
		}
		var got []string
		for _, q := range proxy.Requests()[before:] {
			got = append(got, id.ReplaceAllString(q, "/containers/ID"))
		}
		// The calls after the create overlap, so only the first two are
		// in a fixed order.
		if len(got) < 2 || got[0] != "HEAD /_ping" || got[1] != "POST /containers/create" {
			t.Errorf("%s: calls start %q, want a ping then the create", round, got)
		}
		slices.Sort(got)
		if !slices.Equal(got, want) {
			t.Errorf("%s: Engine API calls %q, want %q", round, got, want)
		}
		v, err := cli.VolumeInspect(context.Background(), vol)
		if err != nil {
			t.Fatalf("%s: the cache volume: %v", round, err)
		}
		if v.Labels[runner.CacheLabel] != "true" {
			t.Errorf("%s: cache volume labels %v, want %s=true", round, v.Labels, runner.CacheLabel)
		}
		assertNothingLeft(t, ctxDir, tmp)
	}
}
