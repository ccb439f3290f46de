package runner

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/kanikorun/kanikorun/internal/cache"
	"github.com/kanikorun/kanikorun/internal/spec"
)

// The local cache volume.
const (
	// DefaultCacheVolume is the volume's name unless
	// $KANIKORUN_CACHE_VOLUME names another.
	DefaultCacheVolume = "kanikorun-cache"
	// CacheLabel marks kanikorun's cache volumes.
	CacheLabel = "io.kanikorun.cache"
)

// CacheVolumeName is the name of the local cache volume:
// $KANIKORUN_CACHE_VOLUME, else DefaultCacheVolume.
func CacheVolumeName() string {
	if v := os.Getenv("KANIKORUN_CACHE_VOLUME"); v != "" {
		return v
	}
	return DefaultCacheVolume
}

// cacheVolumeLabels are the labels the cache volume is created with.
func cacheVolumeLabels() map[string]string {
	return map[string]string{spec.ManagedLabel: "true", CacheLabel: "true"}
}

// LocalCache is the local cache of one build.
type LocalCache struct {
	// Volume is the cache volume's name.
	Volume string
	// Images are the base images the Dockerfile builds on.
	Images []string
	// Insecure are the registries reached over plain HTTP.
	Insecure []string
}

// warmer fills the base-image cache on the volume of a created executor
// container before it starts, as the executors' warmer image would: it
// asks each base image's registry for its digest (one manifest request),
// and writes the images the volume lacks (or holds for nearly the
// executor's --cache-ttl) in the layout the executor's flavour reads.
// A base image it cannot cache is a warning, never a failed build: the
// executor then pulls it as it always did.
type warmer struct {
	eng      Engine
	flavor   string
	cache    LocalCache
	build    cache.BuildMeta
	keychain authn.Keychain
	stderr   io.Writer
	now      func() time.Time
	// digest and image ask the registry; tests replace them.
	digest func(ctx context.Context, ref string) (v1.Hash, error)
	image  func(ctx context.Context, ref string) (v1.Image, error)
}

func newWarmer(eng Engine, b *spec.Build, lc LocalCache, dockerConfig []byte, stderr io.Writer) *warmer {
	w := &warmer{
		eng: eng, flavor: b.Cache.Flavor, cache: lc, stderr: stderr, now: time.Now,
		keychain: configKeychain(dockerConfig),
		build:    cache.BuildMeta{Dockerfile: b.Dockerfile, Context: b.Context, Bases: lc.Images, Flavor: b.Cache.Flavor},
	}
	if w.flavor == "" {
		w.flavor = "upstream"
		w.build.Flavor = w.flavor
	}
	w.digest, w.image = w.remoteDigest, w.remoteImage
	return w
}

func (w *warmer) ref(ref string) (name.Reference, error) {
	opts := []name.Option{name.WeakValidation}
	r, err := name.ParseReference(ref, opts...)
	if err != nil {
		return nil, err
	}
	if slices.Contains(w.cache.Insecure, r.Context().RegistryStr()) {
		return name.ParseReference(ref, append(opts, name.Insecure)...)
	}
	return r, nil
}

func (w *warmer) remoteOptions(ctx context.Context) []remote.Option {
	// The executor runs on linux, on the daemon's architecture, which is
	// ours but for exotic remote set-ups.
	return []remote.Option{remote.WithContext(ctx), remote.WithAuthFromKeychain(w.keychain),
		remote.WithPlatform(v1.Platform{OS: "linux", Architecture: runtime.GOARCH})}
}

// remoteDigest is the digest the executor will look the image up by:
// a HEAD request's when the reference names an image manifest (a HEAD
// does not count against Docker Hub's pull limit), else the platform's
// image in the index, which takes GETs.
func (w *warmer) remoteDigest(ctx context.Context, ref string) (v1.Hash, error) {
	r, err := w.ref(ref)
	if err != nil {
		return v1.Hash{}, err
	}
	if d, err := remote.Head(r, w.remoteOptions(ctx)...); err == nil && d.MediaType.IsImage() {
		return d.Digest, nil
	}
	img, err := remote.Image(r, w.remoteOptions(ctx)...)
	if err != nil {
		return v1.Hash{}, err
	}
	return img.Digest()
}

func (w *warmer) remoteImage(ctx context.Context, ref string) (v1.Image, error) {
	r, err := w.ref(ref)
	if err != nil {
		return nil, err
	}
	return remote.Image(r, w.remoteOptions(ctx)...)
}

// warm runs in the created container id, before it starts.
func (w *warmer) warm(ctx context.Context, id string) error {
	now := w.now()
	var misses []cache.Entry
	for _, ref := range w.cache.Images {
		d, err := w.digest(ctx, ref)
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			w.warn(ref, err)
			continue
		}
		st, err := w.eng.StatPath(ctx, id, path.Join(spec.CacheDir, cache.BasePath(w.flavor, d.String())))
		switch {
		case err == nil && now.Sub(st.ModTime) < cache.Refresh:
			continue
		case err != nil && !errors.Is(err, ErrPathNotFound):
			if ctx.Err() != nil {
				return ctx.Err()
			}
			w.warn(ref, err)
			continue
		}
		img, err := w.image(ctx, ref)
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			w.warn(ref, err)
			continue
		}
		misses = append(misses, cache.Entry{Ref: ref, Image: img})
	}
	if len(misses) > 0 {
		refs := make([]string, len(misses))
		for i, m := range misses {
			refs[i] = m.Ref
		}
		fmt.Fprintf(w.stderr, "kanikorun: caching base image %s in volume %s\n", strings.Join(refs, ", "), w.cache.Volume)
	}
	if len(misses) == 0 {
		// Nothing to write: a warm build costs no copy into the volume.
		return nil
	}
	w.build.Last = now
	pr, pw := io.Pipe()
	go func() { pw.CloseWithError(cache.Stream(pw, w.flavor, misses, &w.build, now)) }()
	err := w.eng.CopyTo(ctx, id, spec.CacheDir, pr)
	_ = pr.CloseWithError(errors.New("copy ended"))
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		fmt.Fprintf(w.stderr, "kanikorun: warning: not caching base images: %v; the executor pulls them\n", oneLine(err))
	}
	return nil
}

func (w *warmer) warn(ref string, err error) {
	fmt.Fprintf(w.stderr, "kanikorun: warning: not caching base image %s: %v; the executor pulls it\n", ref, oneLine(err))
}

// configKeychain reads the build's generated config.json (inline auths
// only) as a keychain, so the warmer pulls with the credentials the
// executor gets, and no others.
func configKeychain(cfg []byte) authn.Keychain {
	var c struct {
		Auths map[string]authn.AuthConfig `json:"auths"`
	}
	_ = json.Unmarshal(cfg, &c)
	return authsKeychain(c.Auths)
}

type authsKeychain map[string]authn.AuthConfig

func (k authsKeychain) Resolve(r authn.Resource) (authn.Authenticator, error) {
	keys := []string{r.RegistryStr()}
	if r.RegistryStr() == name.DefaultRegistry {
		keys = append(keys, "https://index.docker.io/v1/", "docker.io")
	}
	for _, key := range keys {
		if a, ok := k[key]; ok {
			return authn.FromConfig(a), nil
		}
	}
	return authn.Anonymous, nil
}
