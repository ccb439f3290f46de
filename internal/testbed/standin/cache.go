package main

// The executor's two caches, as kaniko has them:
//
//   - the base-image cache, --cache-dir: kaniko resolves a FROM image's
//     digest with the registry (one manifest request) and, when
//     <cache-dir>/<digest> exists and is younger than --cache-ttl, builds
//     on it instead of fetching the blobs. Upstream v1.24.0 reads a docker
//     tarball there with the manifest beside it in <digest>.json (its
//     pkg/cache cachedImageFromPath); the fork reads an OCI layout
//     directory (FF_KANIKO_OCI_WARMER, default true since v1.28.0).
//   - the layer cache, --cache=true with --cache-repo: each RUN step has a
//     key made of everything before it; an image at <cache-repo>:<key>
//     (a registry tag, or for oci:/path the OCI layout directory
//     /path:<key>) younger than --cache-ttl replaces running the step.
//
// The stand-in's RUN changes no files, so a cached step is an image with
// one empty layer; what matters to tests is that a hit skips the step (a
// `sleep 5` takes no time) and says so as kaniko does.

import (
	"archive/tar"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"sort"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// cachedBase looks the image up in --cache-dir by the digest the registry
// gave, as kaniko's RetrieveSourceImage does; nil when it is not there.
func (b *builder) cachedBase(remoteImg v1.Image) v1.Image {
	if b.o.cacheDir == "" {
		return nil
	}
	d, err := remoteImg.Digest()
	if err != nil {
		return nil
	}
	p := path.Join(b.o.cacheDir, d.String())
	fi, err := os.Stat(p)
	if err != nil {
		return nil
	}
	if fi.ModTime().Add(b.o.cacheTTL).Before(time.Now()) {
		b.log.Infof("Cached image is too old: %v", fi.ModTime())
		return nil
	}
	var img v1.Image
	if b.o.fork {
		img, err = ociCachedImage(p)
	} else {
		img, err = tarballCachedImage(p, d)
	}
	if err != nil {
		b.log.Warnf("Error while retrieving image from cache: %s %v", d, err)
		return nil
	}
	b.log.Infof("Found %s in local cache", d)
	return img
}

// cachedImage is a cached tarball named by its registry digest, with the
// registry's manifest when <digest>.json is beside it.
type cachedImage struct {
	v1.Image
	digest v1.Hash
	mfst   *v1.Manifest
}

func (c *cachedImage) Digest() (v1.Hash, error) { return c.digest, nil }

func (c *cachedImage) Manifest() (*v1.Manifest, error) {
	if c.mfst == nil {
		return c.Image.Manifest()
	}
	return c.mfst, nil
}

func tarballCachedImage(p string, d v1.Hash) (v1.Image, error) {
	img, err := tarball.ImageFromPath(p, nil)
	if err != nil {
		return nil, fmt.Errorf("getting image from path: %w", err)
	}
	c := &cachedImage{Image: img, digest: d}
	if f, err := os.Open(p + ".json"); err == nil {
		defer f.Close()
		if m, err := v1.ParseManifest(f); err == nil {
			c.mfst = m
		}
	}
	return c, nil
}

func ociCachedImage(p string) (v1.Image, error) {
	lp, err := layout.FromPath(p)
	if err != nil {
		return nil, err
	}
	idx, err := lp.ImageIndex()
	if err != nil {
		return nil, err
	}
	im, err := idx.IndexManifest()
	if err != nil {
		return nil, err
	}
	if len(im.Manifests) != 1 {
		return nil, fmt.Errorf("expected one image, found %d", len(im.Manifests))
	}
	return lp.Image(im.Manifests[0].Digest)
}

// stageKey starts a stage's cache key from its base.
func stageKey(img v1.Image, base string) string {
	if d, err := img.Digest(); err == nil {
		return d.String()
	}
	return base
}

// extendKey adds parts to a stage's cache key.
func (s *stage) extendKey(parts ...string) {
	h := sha256.New()
	h.Write([]byte(s.key))
	for _, p := range parts {
		h.Write([]byte{0})
		h.Write([]byte(p))
	}
	s.key = hex.EncodeToString(h.Sum(nil))
}

// filesKey hashes what a layer holds, without modification times: an
// unchanged file copied again gives the same key, as in kaniko.
func filesKey(files map[string]*fsEntry) string {
	paths := make([]string, 0, len(files))
	for p := range files {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	h := sha256.New()
	for _, p := range paths {
		e := files[p]
		fmt.Fprintf(h, "%s\x00%d\x00%o\x00%s\x00", p, e.hdr.Typeflag, e.hdr.Mode, e.hdr.Linkname)
		if e.hdr.Typeflag == tar.TypeReg {
			h.Write(e.data)
		}
	}
	return hex.EncodeToString(h.Sum(nil))
}

// layerCacheOn says whether RUN steps use the layer cache.
func (b *builder) layerCacheOn() bool {
	return b.o.cache && b.o.cacheRunLayers && b.o.cacheRepo != ""
}

// cachedRun reports whether the RUN step with key is in the layer cache.
func (b *builder) cachedRun(key string) bool {
	dest := b.o.cacheRepo + ":" + key
	b.log.Infof("Checking for cached layer %s...", dest)
	img, err := b.cacheImage(dest)
	if err != nil {
		b.log.Infof("No cached layer found for cmd")
		return false
	}
	cf, err := img.ConfigFile()
	if err != nil || cf.Created.Add(b.o.cacheTTL).Before(time.Now()) {
		b.log.Infof("Cache entry expired: %s", dest)
		return false
	}
	return true
}

func (b *builder) cacheImage(dest string) (v1.Image, error) {
	if p, ok := strings.CutPrefix(dest, "oci:"); ok {
		return ociCachedImage(p)
	}
	ref, err := name.NewTag(dest, name.WeakValidation)
	if err != nil {
		return nil, err
	}
	return remote.Image(ref, remote.WithContext(b.ctx), remote.WithAuthFromKeychain(b.keychain), remote.WithTransport(b.o.transport(ref.RegistryStr())))
}

// storeRun writes the cache entry of a RUN step that ran.
func (b *builder) storeRun(key, createdBy string) error {
	if b.o.noPushCache {
		return nil
	}
	dest := b.o.cacheRepo + ":" + key
	b.log.Infof("Pushing layer %s to cache now", dest)
	// From memory: the executor image has no /tmp to buffer in.
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(strings.NewReader(emptyTar())), nil
	})
	if err != nil {
		return err
	}
	img, err := mutate.Append(empty.Image, mutate.Addendum{Layer: layer, History: v1.History{CreatedBy: createdBy}})
	if err != nil {
		return err
	}
	if img, err = mutate.CreatedAt(img, v1.Time{Time: time.Now().UTC()}); err != nil {
		return err
	}
	if p, ok := strings.CutPrefix(dest, "oci:"); ok {
		return writeLayout(p, img)
	}
	ref, err := name.NewTag(dest, name.WeakValidation)
	if err != nil {
		return err
	}
	return remote.Write(ref, img, remote.WithContext(b.ctx), remote.WithAuthFromKeychain(b.keychain), remote.WithTransport(b.o.transport(ref.RegistryStr())))
}

// writeLayout writes an OCI layout beside p and renames it into place, so
// a build reading the cache at the same time never sees half an entry;
// when another build got there first its entry is kept.
func writeLayout(p string, img v1.Image) error {
	if err := os.MkdirAll(path.Dir(p), 0o755); err != nil {
		return err
	}
	tmp, err := os.MkdirTemp(path.Dir(p), ".tmp-layer-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	lp, err := layout.Write(tmp, empty.Index)
	if err != nil {
		return err
	}
	if err := lp.AppendImage(img); err != nil {
		return err
	}
	if err := os.Rename(tmp, p); err != nil && !errors.Is(err, os.ErrExist) {
		if _, statErr := os.Stat(p); statErr != nil {
			return err
		}
	}
	return nil
}

func emptyTar() string {
	var sb strings.Builder
	tw := tar.NewWriter(&sb)
	_ = tw.Close()
	return sb.String()
}
