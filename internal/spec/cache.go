package spec

import (
	"fmt"
	"path"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
)

// Cache is how a build caches: kanikorun's local cache volume by default,
// a registry repository the user names, or nothing.
type Cache struct {
	// Off is --no-cache: no layer cache and no base-image cache.
	Off bool
	// Repo is the registry repository of --cache-to/--cache-from; the
	// executor's --cache-repo, in the cluster as locally.
	Repo string
	// ReadOnly says only --cache-from named Repo: the executor reads the
	// cache but does not push to it (--no-push-cache).
	ReadOnly bool
	// Explicit says the executor flags after -- choose a cache repository
	// or directory themselves; kanikorun then adds no cache of its own.
	Explicit bool
	// Flavor is the executor's flavour ("upstream" or "fork"), which
	// decides the layout of the base-image cache it reads.
	Flavor string
}

// LocalCache is the local cache volume as the executor sees it.
type LocalCache struct {
	// Dir is where the volume is mounted, CacheDir.
	Dir string
	// Flavor is the executor's flavour: each reads its own base-image
	// layout, so each has its own directory.
	Flavor string
}

// CacheDir is where the local runner mounts the cache volume.
const CacheDir = "/cache"

// LayerRepo is the executor's --cache-repo on the volume: an OCI layout
// per cached layer, /cache/layers:<key>.
func (c LocalCache) LayerRepo() string { return "oci:" + path.Join(c.Dir, "layers") }

// BaseDir is the executor's --cache-dir on the volume.
func (c LocalCache) BaseDir() string { return path.Join(c.Dir, "base", c.flavor()) }

func (c LocalCache) flavor() string {
	if c.Flavor == "" {
		return "upstream"
	}
	return c.Flavor
}

// LocalCacheArgs are the executor flags that point into the local cache
// volume. Build.Args renders them only for a layout with a Cache, so the
// Job never gets them; the parity tests allow exactly these.
func LocalCacheArgs(c LocalCache) []string {
	return []string{"--cache=true", "--cache-repo=" + c.LayerRepo(), "--cache-dir=" + c.BaseDir()}
}

// UsesLocalCache says the build caches in the local volume: caching is
// not off and nobody named another cache.
func (b *Build) UsesLocalCache() bool {
	return !b.Cache.Off && b.Cache.Repo == "" && !b.Cache.Explicit
}

// cacheArgs renders the cache's executor flags for a layout.
func (b *Build) cacheArgs(l Layout) []string {
	switch {
	case b.Cache.Off:
		return nil
	case b.Cache.Repo != "":
		args := []string{"--cache=true", "--cache-repo=" + b.Cache.Repo}
		if b.Cache.ReadOnly {
			args = append(args, "--no-push-cache")
		}
		return args
	case l.Cache != nil && b.UsesLocalCache():
		return LocalCacheArgs(*l.Cache)
	}
	return nil
}

// CacheRepo reads --cache-from and --cache-to values in docker's
// type=registry,ref=REPO form (or a bare REPO) into the one registry
// repository kaniko caches in. Other cache types, references with a tag
// and two different repositories are refused: the executor has one cache
// repository, read and written.
func CacheRepo(from, to []string) (repo string, readOnly bool, err error) {
	read := func(flag, v string) (string, error) {
		ref, typ := "", "registry"
		for _, kv := range strings.Split(v, ",") {
			k, val, ok := strings.Cut(kv, "=")
			switch {
			case !ok && ref == "" && !strings.Contains(v, "="):
				ref = kv
			case k == "type":
				typ = val
			case k == "ref":
				ref = val
			}
		}
		if typ != "registry" {
			return "", fmt.Errorf("%s %q: kaniko caches in a registry only; write type=registry,ref=REPO (or leave the flag out to use the local cache volume)", flag, v)
		}
		if ref == "" {
			return "", fmt.Errorf("%s %q names no repository; write type=registry,ref=REPO", flag, v)
		}
		r, err := name.NewRepository(ref, name.WeakValidation)
		if err != nil {
			return "", fmt.Errorf("%s %q: %q is not a repository (kaniko tags each layer itself, so give no tag): %w", flag, v, ref, err)
		}
		return r.Name(), nil
	}
	var tos, froms []string
	for _, v := range to {
		r, err := read("--cache-to", v)
		if err != nil {
			return "", false, err
		}
		tos = append(tos, r)
	}
	for _, v := range from {
		r, err := read("--cache-from", v)
		if err != nil {
			return "", false, err
		}
		froms = append(froms, r)
	}
	all := append(append([]string(nil), tos...), froms...)
	for _, r := range all {
		if r != all[0] {
			return "", false, fmt.Errorf("cache repositories %q and %q: kaniko reads and writes one cache repository; give the same ref to --cache-from and --cache-to", all[0], r)
		}
	}
	if len(all) == 0 {
		return "", false, nil
	}
	return all[0], len(tos) == 0, nil
}
