package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/kanikorun/kanikorun/internal/spec"
	"github.com/kanikorun/kanikorun/internal/testbed"
	"github.com/kanikorun/kanikorun/runner"
)

// cacheVolume gives the test a cache volume of its own, removed at its
// end, and returns its name.
func cacheVolume(t *testing.T) string {
	t.Helper()
	cli := testbed.RequireDocker(t)
	name := testCacheVolume + "-" + strings.ToLower(testbed.RandomPassword()[:8])
	t.Setenv("KANIKORUN_CACHE_VOLUME", name)
	t.Cleanup(func() { testbed.RemoveVolumes(context.Background(), cli, name) })
	return name
}

// blobGets counts the blob downloads from repo among the registry's
// requests after the first skip.
func blobGets(skip int, repo string) int {
	n := 0
	for _, r := range reg.Requests()[skip:] {
		if r.Method == "GET" && strings.HasPrefix(r.Path, "/v2/"+repo+"/blobs/") {
			n++
		}
	}
	return n
}

// manifestRequests counts the manifest HEADs and GETs for repo after the
// first skip requests.
func manifestRequests(skip int, repo string) (heads, gets int) {
	for _, r := range reg.Requests()[skip:] {
		if !strings.HasPrefix(r.Path, "/v2/"+repo+"/manifests/") {
			continue
		}
		switch r.Method {
		case "HEAD":
			heads++
		case "GET":
			gets++
		}
	}
	return heads, gets
}

// cacheBase pushes a base image with a shell stub, for RUN, to a
// repository of the test's own, and returns its reference and repository.
func cacheBase(t *testing.T) (ref, repo string) {
	t.Helper()
	repo = "cache-base/" + strings.ToLower(testbed.RandomPassword()[:10])
	ref, err := reg.PushBase(context.Background(), repo, map[string]string{"bin/sh": "#!", "etc/base.txt": "base\n"}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	return ref, repo
}

// TestCacheWarmRebuild builds a Dockerfile with a RUN step three times,
// with each executor flavour, on a fresh cache volume and no cache flags:
// the first build fetches the base image's blobs and runs the step; the
// rebuild runs nothing again and fetches no blob of the base image (only
// its manifest); a --no-cache build does both again and gets no cache
// flags. The executor's argv carries the volume's flags, and nothing but
// the volume is left behind.
func TestCacheWarmRebuild(t *testing.T) {
	for _, flavor := range []string{"upstream", "fork"} {
		t.Run(flavor, func(t *testing.T) {
			tmp := isolate(t)
			cli := testbed.RequireDocker(t)
			image := executorImage
			if flavor == "fork" {
				var err error
				if image, err = testbed.StandInForkImage(context.Background(), cli); err != nil {
					t.Fatal(err)
				}
			}
			cacheVolume(t)
			base, repo := cacheBase(t)
			ctxDir := buildContext(t, map[string]string{
				"Dockerfile": "FROM " + base + "\nRUN sleep 1\nCOPY a.txt /a.txt\n",
				"a.txt":      "A\n",
			})
			cfg := registryConfig(t)
			build := func(extra ...string) result {
				t.Helper()
				args := append([]string{"build", ctxDir, "--executor-image", image, "--executor-flavor", flavor, "--executor-pull", "never", "--docker-config", cfg}, extra...)
				r := kanikorun(t, args...)
				if r.code != 0 {
					t.Fatalf("build %q failed:\n%s", extra, r)
				}
				return r
			}
			layerArgs := spec.LocalCacheArgs(spec.LocalCache{Dir: spec.CacheDir, Flavor: flavor})

			skip := len(reg.Requests())
			cold := build()
			if n := blobGets(skip, repo); n == 0 {
				t.Errorf("the cold build fetched no blob of the base image")
			}
			if strings.Contains(cold.stderr, "Using caching version") {
				t.Errorf("the cold build used a cached layer:\n%s", cold.stderr)
			}
			if !strings.Contains(cold.stderr, "kanikorun: caching base image "+base) {
				t.Errorf("the cold build did not say it caches the base image:\n%s", cold.stderr)
			}
			argv, err := testbed.ParseArgv(cold.stderr)
			if err != nil {
				t.Fatal(err)
			}
			for _, a := range layerArgs {
				if !kubeContains(argv, a) {
					t.Errorf("executor argv lacks %q: %q", a, argv)
				}
			}

			skip = len(reg.Requests())
			warm := build()
			if n := blobGets(skip, repo); n != 0 {
				t.Errorf("the warm rebuild fetched %d blobs of the base image, want 0", n)
			}
			// kanikorun asks for the digest with a HEAD (which Docker Hub's
			// pull limit does not count), the executor with its GET.
			if heads, gets := manifestRequests(skip, repo); heads != 1 || gets != 1 {
				t.Errorf("the warm rebuild made %d manifest HEADs and %d GETs, want 1 (kanikorun) and 1 (executor)", heads, gets)
			}
			if !strings.Contains(warm.stderr, "Using caching version of cmd: RUN sleep 1") {
				t.Errorf("the warm rebuild ran the RUN step again:\n%s", warm.stderr)
			}
			if !strings.Contains(warm.stderr, "in local cache") {
				t.Errorf("the warm rebuild did not take the base image from --cache-dir:\n%s", warm.stderr)
			}
			if strings.Contains(warm.stderr, "kanikorun: caching base image") {
				t.Errorf("the warm rebuild cached the base image again:\n%s", warm.stderr)
			}

			skip = len(reg.Requests())
			off := build("--no-cache")
			if n := blobGets(skip, repo); n == 0 {
				t.Errorf("the --no-cache build fetched no blob of the base image")
			}
			if strings.Contains(off.stderr, "Using caching version") || strings.Contains(off.stderr, "in local cache") {
				t.Errorf("the --no-cache build used the cache:\n%s", off.stderr)
			}
			argv, err = testbed.ParseArgv(off.stderr)
			if err != nil {
				t.Fatal(err)
			}
			for _, a := range argv {
				if strings.HasPrefix(a, "--cache") {
					t.Errorf("--no-cache build has executor flag %q", a)
				}
			}
			assertNothingLeft(t, ctxDir, tmp)
		})
	}
}

// TestCacheLastCopyEdited: editing a file only the last COPY uses keeps
// the RUN step before it cached.
func TestCacheLastCopyEdited(t *testing.T) {
	tmp := isolate(t)
	testbed.RequireDocker(t)
	cacheVolume(t)
	base, _ := cacheBase(t)
	ctxDir := buildContext(t, map[string]string{
		"Dockerfile": "FROM " + base + "\nCOPY first.txt /first.txt\nRUN sleep 1\nCOPY last.txt /last.txt\nRUN echo after\n",
		"first.txt":  "1\n",
		"last.txt":   "v1\n",
	})
	cfg := registryConfig(t)
	build := func() result {
		r := kanikorun(t, "build", ctxDir, "--executor-image", executorImage, "--executor-pull", "never", "--docker-config", cfg)
		if r.code != 0 {
			t.Fatalf("build failed:\n%s", r)
		}
		return r
	}
	build()
	if err := os.WriteFile(filepath.Join(ctxDir, "last.txt"), []byte("v2\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	r := build()
	if !strings.Contains(r.stderr, "Using caching version of cmd: RUN sleep 1") {
		t.Errorf("the RUN before the edited COPY ran again:\n%s", r.stderr)
	}
	if strings.Contains(r.stderr, "Using caching version of cmd: RUN echo after") {
		t.Errorf("the RUN after the edited COPY came from the cache:\n%s", r.stderr)
	}
	assertNothingLeft(t, ctxDir, tmp)
}

// TestCacheToRegistry: --cache-to type=registry,ref=REPO puts the layer
// cache in that repository instead of the volume, which is then not
// mounted; --cache-from alone reads it without pushing.
func TestCacheToRegistry(t *testing.T) {
	tmp := isolate(t)
	testbed.RequireDocker(t)
	cacheVolume(t)
	base, _ := cacheBase(t)
	ctxDir := buildContext(t, map[string]string{"Dockerfile": "FROM " + base + "\nRUN sleep 1\n"})
	cfg := registryConfig(t)
	cacheRepo := reg.Addr + "/cache/" + strings.ToLower(testbed.RandomPassword()[:8])
	build := func(flag string) (result, []string) {
		r := kanikorun(t, "build", ctxDir, flag, "type=registry,ref="+cacheRepo, "--executor-image", executorImage, "--executor-pull", "never", "--docker-config", cfg)
		if r.code != 0 {
			t.Fatalf("build failed:\n%s", r)
		}
		argv, err := testbed.ParseArgv(r.stderr)
		if err != nil {
			t.Fatal(err)
		}
		return r, argv
	}
	_, argv := build("--cache-to")
	for _, want := range []string{"--cache=true", "--cache-repo=" + cacheRepo} {
		if !kubeContains(argv, want) {
			t.Errorf("argv lacks %q: %q", want, argv)
		}
	}
	for _, a := range argv {
		if strings.Contains(a, "oci:") || strings.HasPrefix(a, "--cache-dir") {
			t.Errorf("--cache-to build still points into the volume: %q", a)
		}
	}
	pushed := 0
	for _, r := range reg.Requests() {
		if r.Method == "PUT" && strings.Contains(r.Path, strings.TrimPrefix(cacheRepo, reg.Addr+"/")+"/manifests/") {
			pushed++
		}
	}
	if pushed == 0 {
		t.Errorf("nothing was pushed to the cache repository %s", cacheRepo)
	}
	r, argv := build("--cache-from")
	if !kubeContains(argv, "--no-push-cache") {
		t.Errorf("--cache-from alone should not push: %q", argv)
	}
	if !strings.Contains(r.stderr, "Using caching version of cmd: RUN sleep 1") {
		t.Errorf("the --cache-from build did not use the registry cache:\n%s", r.stderr)
	}
	if strings.Contains(r.stdout+r.stderr, reg.Password) {
		t.Errorf("the registry password leaked")
	}
	assertNothingLeft(t, ctxDir, tmp)
}

// TestCacheConcurrentBuilds runs two builds of one Dockerfile at once on
// one fresh cache volume (both warm the base image and write the same
// layer): both succeed, and a third build finds everything cached.
func TestCacheConcurrentBuilds(t *testing.T) {
	tmp := isolate(t)
	testbed.RequireDocker(t)
	cacheVolume(t)
	base, repo := cacheBase(t)
	ctxDir := buildContext(t, map[string]string{"Dockerfile": "FROM " + base + "\nRUN sleep 1\nCOPY a.txt /a.txt\n", "a.txt": "a\n"})
	cfg := registryConfig(t)
	args := []string{"build", ctxDir, "--executor-image", executorImage, "--executor-pull", "never", "--docker-config", cfg}
	bin := kanikorunBinary(t)
	var wg sync.WaitGroup
	results := make([]string, 2)
	errs := make([]error, 2)
	for i := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cmd := exec.Command(bin, args...)
			cmd.Env = os.Environ()
			out, err := cmd.CombinedOutput()
			results[i], errs[i] = string(out), err
		}()
	}
	wg.Wait()
	for i := range 2 {
		if errs[i] != nil {
			t.Errorf("concurrent build %d: %v\n%s", i, errs[i], results[i])
		}
	}
	skip := len(reg.Requests())
	r := kanikorun(t, args...)
	if r.code != 0 {
		t.Fatalf("build after the concurrent ones failed:\n%s", r)
	}
	if n := blobGets(skip, repo); n != 0 {
		t.Errorf("the build after two concurrent ones fetched %d base blobs, want 0", n)
	}
	if !strings.Contains(r.stderr, "Using caching version of cmd: RUN sleep 1") {
		t.Errorf("the build after two concurrent ones ran the RUN again:\n%s", r.stderr)
	}
	assertNothingLeft(t, ctxDir, tmp)
}

// TestCacheLsAndPrune: after a build, `cache ls` names the base image,
// the cached RUN step and the Dockerfile; `cache prune --older-than`
// removes them (the next build is cold again) and `--all` the volume.
// No helper container is left.
func TestCacheLsAndPrune(t *testing.T) {
	tmp := isolate(t)
	cli := testbed.RequireDocker(t)
	vol := cacheVolume(t)
	base, repo := cacheBase(t)
	ctxDir := buildContext(t, map[string]string{"Dockerfile": "FROM " + base + "\nRUN sleep 1\n"})
	cfg := registryConfig(t)
	helper := []string{"--executor-image", executorImage, "--executor-pull", "never"}

	ls := kanikorun(t, append([]string{"cache", "ls"}, helper...)...)
	if ls.code != 0 || !strings.Contains(ls.stdout, "no cache volume "+vol) {
		t.Errorf("cache ls before any build:\n%s", ls)
	}
	b := kanikorun(t, "build", ctxDir, "--executor-image", executorImage, "--executor-pull", "never", "--docker-config", cfg)
	if b.code != 0 {
		t.Fatalf("build failed:\n%s", b)
	}
	ls = kanikorun(t, append([]string{"cache", "ls"}, helper...)...)
	if ls.code != 0 {
		t.Fatalf("cache ls failed:\n%s", ls)
	}
	t.Logf("cache ls:\n%s", ls.stdout)
	for _, want := range []string{"volume " + vol + ":", "1 base images and 1 cached RUN steps", base + " (sha256:", filepath.Join(ctxDir, "Dockerfile"), "upstream"} {
		if !strings.Contains(ls.stdout, want) {
			t.Errorf("cache ls lacks %q:\n%s", want, ls.stdout)
		}
	}

	pr := kanikorun(t, append([]string{"cache", "prune", "--older-than", "1ns"}, helper...)...)
	if pr.code != 0 || !strings.Contains(pr.stdout, "removed 2 entries") {
		t.Fatalf("cache prune --older-than:\n%s", pr)
	}
	ls = kanikorun(t, append([]string{"cache", "ls"}, helper...)...)
	if !strings.Contains(ls.stdout, "0 base images and 0 cached RUN steps") {
		t.Errorf("cache ls after prune:\n%s", ls)
	}
	skip := len(reg.Requests())
	b = kanikorun(t, "build", ctxDir, "--executor-image", executorImage, "--executor-pull", "never", "--docker-config", cfg)
	if b.code != 0 {
		t.Fatalf("build after prune failed:\n%s", b)
	}
	if blobGets(skip, repo) == 0 || strings.Contains(b.stderr, "Using caching version") {
		t.Errorf("the build after prune used a cache:\n%s", b.stderr)
	}

	pr = kanikorun(t, append([]string{"cache", "prune", "--all"}, helper...)...)
	if pr.code != 0 || !strings.Contains(pr.stdout, "removed the cache volume "+vol) {
		t.Fatalf("cache prune --all:\n%s", pr)
	}
	ls = kanikorun(t, append([]string{"cache", "ls"}, helper...)...)
	if !strings.Contains(ls.stdout, "no cache volume") {
		t.Errorf("cache ls after prune --all:\n%s", ls)
	}
	ids, err := testbed.Leftovers(context.Background(), cli, map[string]string{runner.CacheLabel + ".helper": "true"})
	if err != nil {
		t.Fatal(err)
	}
	if len(ids) > 0 {
		t.Errorf("helper containers left: %v", ids)
	}
	assertNothingLeft(t, ctxDir, tmp)
}

// TestCacheToInTheJob: a registry cache from --cache-to is the Job's as
// much as the local build's (the same flags, no volume on either side);
// the local volume's flags never reach the Job.
func TestCacheToInTheJob(t *testing.T) {
	testbed.RequireDocker(t) // build --dry-run pings the daemon
	ctxDir := buildContext(t, map[string]string{"Dockerfile": "FROM scratch\nCOPY a /a\n", "a": "a"})
	cfg := t.TempDir()
	want := []string{"--cache=true", "--cache-repo=ghcr.io/acme/cache"}
	for _, args := range [][]string{
		{"job", "-o", "json", "--cache-to", "type=registry,ref=ghcr.io/acme/cache"},
		{"build", "--dry-run", "--cache-to", "type=registry,ref=ghcr.io/acme/cache"},
	} {
		r := kanikorun(t, append(args, "--docker-config", cfg, "-t", "ghcr.io/acme/app:1", ctxDir)...)
		if r.code != 0 {
			t.Fatalf("%s:\n%s", args[0], r)
		}
		for _, w := range want {
			if !strings.Contains(r.stdout, w) {
				t.Errorf("%s output lacks %q:\n%s", args[0], w, r.stdout)
			}
		}
		if strings.Contains(r.stdout, "oci:"+spec.CacheDir) || strings.Contains(r.stdout, "type=volume") || strings.Contains(r.stdout, "--cache-dir") {
			t.Errorf("%s points into the local cache volume:\n%s", args[0], r.stdout)
		}
	}
	r := kanikorun(t, "job", "-o", "json", "--docker-config", cfg, "-t", "ghcr.io/acme/app:1", ctxDir)
	if r.code != 0 || strings.Contains(r.stdout, "--cache") {
		t.Errorf("a Job without cache flags has cache arguments:\n%s", r)
	}
}
