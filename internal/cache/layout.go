// Package cache is the layout of kanikorun's local cache volume and the
// warmer that fills its base-image part, in place of the executors'
// separate warmer image.
//
// The volume (spec.CacheDir in the executor) holds:
//
//	layers:<key>/              the executor's layer cache (--cache-repo=oci:/cache/layers),
//	                           one OCI layout per cached RUN step, written by the executor
//	base/upstream/<digest>     upstream v1.24.0's --cache-dir: a docker tarball ...
//	base/upstream/<digest>.json  ... and the registry's manifest beside it
//	base/fork/<digest>/        the fork's --cache-dir (FF_KANIKO_OCI_WARMER): an OCI layout
//	base/<flavor>/.data/       what those names link to (see below)
//	meta/base/<flavor>-<digest>.json  which reference each base image was warmed from, when
//	meta/builds/<id>.json      which Dockerfile warmed the cache, when, with which bases
//
// Several builds may use the volume at once, and the Engine API can only
// extract tar streams into it, not rename. So an entry is written under a
// name nobody reads (base/<flavor>/.data/<digest>-<nonce>) and only then
// made visible by a symbolic link at the name the executor reads; the link
// is the last entry of the stream, so a reader sees no entry or a whole
// one. Two builds warming the same image both write, the last link wins,
// and `kanikorun cache prune` removes the data nobody links to.
package cache

import (
	"crypto/sha256"
	"path"
	"strings"
	"time"
)

// Places on the volume, relative to its root.
const (
	LayersPrefix = "layers:"
	BaseDir      = "base"
	DataDir      = ".data"
	MetaBaseDir  = "meta/base"
	MetaBuildDir = "meta/builds"
)

// TTL is the executors' default --cache-ttl: an entry older than that is
// ignored by the executor, so the warmer writes it again a day before.
const TTL = 336 * time.Hour

// Refresh is the age after which the warmer writes a base image again.
const Refresh = TTL - 24*time.Hour

// BasePath is where the executor of flavor looks up the base image with
// digest, relative to the volume root.
func BasePath(flavor, digest string) string {
	return path.Join(BaseDir, flavor, digest)
}

// BaseMeta is what the warmer records about a base image it wrote.
type BaseMeta struct {
	// Ref is the reference the Dockerfile named.
	Ref string `json:"ref"`
	// Digest is the image manifest's digest, the cache key.
	Digest string `json:"digest"`
	// Flavor is the executor flavour whose layout holds it.
	Flavor string `json:"flavor"`
	// Warmed is when it was written.
	Warmed time.Time `json:"warmed"`
	// Size is the size of what was written, in bytes.
	Size int64 `json:"size"`
}

// BuildMeta is what kanikorun records about a build that used the cache.
type BuildMeta struct {
	// Dockerfile and Context are the build's host paths.
	Dockerfile string `json:"dockerfile"`
	Context    string `json:"context"`
	// Bases are the base image references it builds on.
	Bases []string `json:"bases,omitempty"`
	// Flavor is the executor's flavour.
	Flavor string `json:"flavor"`
	// Last is when it last warmed the cache (wrote a base image).
	Last time.Time `json:"last"`
}

// IsLayer says a top-level name of the volume is a layer cache entry.
func IsLayer(name string) bool { return strings.HasPrefix(name, LayersPrefix) }

func digestOf(s string) []byte {
	h := sha256.Sum256([]byte(s))
	return h[:]
}
