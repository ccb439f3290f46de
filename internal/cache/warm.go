package cache

import (
	"archive/tar"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"path"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// Entry is a base image to write into the cache.
type Entry struct {
	// Ref is the reference the Dockerfile names.
	Ref string
	// Image is the image, as the registry gave it; its blobs are fetched
	// while the stream is written.
	Image v1.Image
}

// Stream writes, as a tar stream to extract at the volume root, the
// entries in the layout flavor's executor reads (see the package
// comment), then, when build is not nil, the build's record. Every
// entry's time is now, which the executors' --cache-ttl counts from.
func Stream(w io.Writer, flavor string, entries []Entry, build *BuildMeta, now time.Time) error {
	tw := tar.NewWriter(w)
	t := &tarWriter{tw: tw, now: now}
	var links []*tar.Header
	for _, e := range entries {
		ls, err := t.entry(flavor, e)
		if err != nil {
			return fmt.Errorf("caching %q: %w", e.Ref, err)
		}
		links = append(links, ls...)
	}
	// The links last: a reader sees them only once the data is whole.
	for _, h := range links {
		if err := tw.WriteHeader(h); err != nil {
			return err
		}
	}
	if build != nil {
		b, err := json.Marshal(build)
		if err != nil {
			return err
		}
		if err := t.file(path.Join(MetaBuildDir, BuildID(build.Dockerfile, build.Context)+".json"), b); err != nil {
			return err
		}
	}
	return tw.Close()
}

// BuildID names a build's record: one per Dockerfile and context.
func BuildID(dockerfile, context string) string {
	return hex.EncodeToString(digestOf(dockerfile + "\x00" + context))[:16]
}

type tarWriter struct {
	tw  *tar.Writer
	now time.Time
}

func (t *tarWriter) header(name string, typ byte, size int64, mode int64) *tar.Header {
	return &tar.Header{Name: name, Typeflag: typ, Size: size, Mode: mode, ModTime: t.now, Format: tar.FormatPAX}
}

func (t *tarWriter) dir(name string) error {
	return t.tw.WriteHeader(t.header(name+"/", tar.TypeDir, 0, 0o755))
}

func (t *tarWriter) file(name string, data []byte) error {
	if err := t.tw.WriteHeader(t.header(name, tar.TypeReg, int64(len(data)), 0o644)); err != nil {
		return err
	}
	_, err := t.tw.Write(data)
	return err
}

// entry writes one image's data and returns the links that publish it.
func (t *tarWriter) entry(flavor string, e Entry) ([]*tar.Header, error) {
	d, err := e.Image.Digest()
	if err != nil {
		return nil, err
	}
	dir := path.Join(BaseDir, flavor)
	data := path.Join(dir, DataDir)
	for _, p := range []string{BaseDir, dir, data, "meta", MetaBaseDir} {
		if err := t.dir(p); err != nil {
			return nil, err
		}
	}
	target := d.String() + "-" + nonce()
	var size int64
	var links []*tar.Header
	link := func(name, to string) {
		h := t.header(path.Join(dir, name), tar.TypeSymlink, 0, 0o777)
		h.Linkname = path.Join(DataDir, to)
		links = append(links, h)
	}
	switch flavor {
	case "fork":
		if size, err = t.ociLayout(path.Join(data, target), e.Image); err != nil {
			return nil, err
		}
	default:
		if size, err = t.dockerTarball(path.Join(data, target), e.Ref, e.Image); err != nil {
			return nil, err
		}
		link(d.String()+".json", target+".json")
	}
	link(d.String(), target)
	meta, err := json.Marshal(BaseMeta{Ref: e.Ref, Digest: d.String(), Flavor: flavor, Warmed: t.now, Size: size})
	if err != nil {
		return nil, err
	}
	if err := t.file(path.Join(MetaBaseDir, flavor+"-"+d.String()+".json"), meta); err != nil {
		return nil, err
	}
	return links, nil
}

// dockerTarball writes what upstream kaniko's warmer writes: the image as
// a docker tarball at p and its registry manifest at p.json.
func (t *tarWriter) dockerTarball(p, ref string, img v1.Image) (int64, error) {
	r, err := name.ParseReference(ref, name.WeakValidation)
	if err != nil {
		return 0, err
	}
	size, err := tarball.CalculateSize(map[name.Reference]v1.Image{r: img})
	if err != nil {
		return 0, err
	}
	if err := t.tw.WriteHeader(t.header(p, tar.TypeReg, size, 0o644)); err != nil {
		return 0, err
	}
	if err := tarball.Write(r, img, t.tw); err != nil {
		return 0, err
	}
	m, err := img.RawManifest()
	if err != nil {
		return 0, err
	}
	return size + int64(len(m)), t.file(p+".json", m)
}

// ociLayout writes the fork's layout: an OCI image layout directory at p
// holding the one image, blobs as the registry has them.
func (t *tarWriter) ociLayout(p string, img v1.Image) (int64, error) {
	m, err := img.RawManifest()
	if err != nil {
		return 0, err
	}
	mt, err := img.MediaType()
	if err != nil {
		return 0, err
	}
	d, err := img.Digest()
	if err != nil {
		return 0, err
	}
	index, err := json.Marshal(v1.IndexManifest{
		SchemaVersion: 2,
		MediaType:     "application/vnd.oci.image.index.v1+json",
		Manifests:     []v1.Descriptor{{MediaType: mt, Size: int64(len(m)), Digest: d}},
	})
	if err != nil {
		return 0, err
	}
	for _, dir := range []string{p, p + "/blobs", p + "/blobs/sha256"} {
		if err := t.dir(dir); err != nil {
			return 0, err
		}
	}
	if err := t.file(p+"/oci-layout", []byte(`{"imageLayoutVersion":"1.0.0"}`)); err != nil {
		return 0, err
	}
	blob := func(h v1.Hash) string { return p + "/blobs/" + h.Algorithm + "/" + h.Hex }
	size := int64(len(m))
	if err := t.file(blob(d), m); err != nil {
		return 0, err
	}
	cfg, err := img.RawConfigFile()
	if err != nil {
		return 0, err
	}
	cd, err := img.ConfigName()
	if err != nil {
		return 0, err
	}
	size += int64(len(cfg))
	if err := t.file(blob(cd), cfg); err != nil {
		return 0, err
	}
	layers, err := img.Layers()
	if err != nil {
		return 0, err
	}
	for _, l := range layers {
		ld, err := l.Digest()
		if err != nil {
			return 0, err
		}
		n, err := l.Size()
		if err != nil {
			return 0, err
		}
		rc, err := l.Compressed()
		if err != nil {
			return 0, err
		}
		err = t.tw.WriteHeader(t.header(blob(ld), tar.TypeReg, n, 0o644))
		if err == nil {
			_, err = io.Copy(t.tw, rc)
		}
		rc.Close()
		if err != nil {
			return 0, err
		}
		size += n
	}
	// index.json last: the layout is whole once it exists.
	return size, t.file(p+"/index.json", index)
}

func nonce() string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
