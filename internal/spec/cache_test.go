package spec

import (
	"slices"
	"strings"
	"testing"
)

func TestCacheRepo(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		from, to []string
		repo     string
		readOnly bool
		err      string
	}{
		{name: "none"},
		{name: "cache-to", to: []string{"type=registry,ref=ghcr.io/acme/cache"}, repo: "ghcr.io/acme/cache"},
		{name: "cache-from only reads", from: []string{"type=registry,ref=ghcr.io/acme/cache"}, repo: "ghcr.io/acme/cache", readOnly: true},
		{name: "both, the same", from: []string{"type=registry,ref=ghcr.io/acme/cache"}, to: []string{"ref=ghcr.io/acme/cache,type=registry,mode=max"}, repo: "ghcr.io/acme/cache"},
		{name: "a bare reference", from: []string{"registry.example.com:5000/team/cache"}, repo: "registry.example.com:5000/team/cache", readOnly: true},
		{name: "docker hub short name", to: []string{"type=registry,ref=acme/cache"}, repo: "index.docker.io/acme/cache"},
		{name: "another type", to: []string{"type=local,dest=/tmp/c"}, err: "kaniko caches in a registry only"},
		{name: "gha", from: []string{"type=gha"}, err: "kaniko caches in a registry only"},
		{name: "no ref", to: []string{"type=registry"}, err: "names no repository"},
		{name: "a tag", to: []string{"type=registry,ref=ghcr.io/acme/cache:v1"}, err: "give no tag"},
		{name: "two repositories", from: []string{"type=registry,ref=ghcr.io/a/c"}, to: []string{"type=registry,ref=ghcr.io/b/c"}, err: "one cache repository"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			repo, ro, err := CacheRepo(tc.from, tc.to)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error %v, want one saying %q", err, tc.err)
				}
				return
			}
			if err != nil || repo != tc.repo || ro != tc.readOnly {
				t.Errorf("CacheRepo = %q, %v, %v; want %q, %v", repo, ro, err, tc.repo, tc.readOnly)
			}
		})
	}
}

// TestCacheArgs: the cache flags come in one place, before the extra
// arguments, and the local volume's only for a layout that has one.
func TestCacheArgs(t *testing.T) {
	t.Parallel()
	local := &LocalCache{Dir: CacheDir, Flavor: "fork"}
	l := Layout{ContextDir: WorkspaceDir, Dockerfile: "/workspace/Dockerfile", Cache: local}
	tests := []struct {
		name   string
		cache  Cache
		layout Layout
		extra  []string
		want   []string
	}{
		{name: "local volume", layout: l, want: []string{"--cache=true", "--cache-repo=oci:/cache/layers", "--cache-dir=/cache/base/fork"}},
		{name: "the Job has no volume", layout: Layout{ContextDir: "/workspace/app", Dockerfile: "/workspace/app/Dockerfile"}},
		{name: "no cache", cache: Cache{Off: true}, layout: l},
		{name: "registry", cache: Cache{Repo: "ghcr.io/a/c"}, layout: l, want: []string{"--cache=true", "--cache-repo=ghcr.io/a/c"}},
		{name: "registry read only", cache: Cache{Repo: "ghcr.io/a/c", ReadOnly: true}, layout: l, want: []string{"--cache=true", "--cache-repo=ghcr.io/a/c", "--no-push-cache"}},
		{name: "chosen after --", cache: Cache{Explicit: true}, layout: l, extra: []string{"--cache=true", "--cache-repo=ghcr.io/x"}, want: []string{"--cache=true", "--cache-repo=ghcr.io/x"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			b := &Build{NoPush: true, Cache: tc.cache, ExtraArgs: tc.extra}
			args := b.Args(tc.layout)
			var got []string
			for _, a := range args {
				if strings.HasPrefix(a, "--cache") || a == "--no-push-cache" {
					got = append(got, a)
				}
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("cache args %q, want %q (all: %q)", got, tc.want, args)
			}
		})
	}
}
