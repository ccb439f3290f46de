package runner

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"

	"github.com/kanikorun/kanikorun/internal/spec"
)

// ErrImageID means kanikorun could not learn the built image's ID (its
// config digest) for --iidfile or --metadata-file.
var ErrImageID = errors.New("reading the image ID failed")

// The executor reports only the manifest digest (--digest-file); no flag
// of kaniko v1.24.0 writes the config digest. kanikorun reads it from
// what the build left: the tarball when one was written (--tar, --load:
// its manifest.json names the config), else the manifest the executor
// pushed, fetched from the registry with the build's own credentials.
// An OCI layout (--oci-layout-path) would hold it too, but the executor
// writes it as root into a bind-mounted directory that an ordinary user
// could not remove afterwards.

// tarConfigDigest reads the config digest of a docker-load tarball.
func tarConfigDigest(path string) (string, error) {
	img, err := tarball.ImageFromPath(path, nil)
	if err != nil {
		return "", fmt.Errorf("%w: reading the tarball: %w", ErrImageID, err)
	}
	h, err := img.ConfigName()
	if err != nil {
		return "", fmt.Errorf("%w: reading the tarball: %w", ErrImageID, err)
	}
	return h.String(), nil
}

// pushedConfigDigest fetches the manifest the executor pushed to ref
// (a tag) under digest and returns its config digest.
func pushedConfigDigest(ctx context.Context, b *spec.Build, ref, digest string, dockerConfig []byte) (string, error) {
	var opts []name.Option
	tag, err := name.NewTag(ref, name.WeakValidation)
	if err != nil {
		return "", fmt.Errorf("%w: %q: %w", ErrImageID, ref, err)
	}
	if insecure(b, tag.RegistryStr()) {
		opts = append(opts, name.Insecure)
	}
	d, err := name.NewDigest(tag.Context().Name()+"@"+digest, append(opts, name.WeakValidation)...)
	if err != nil {
		return "", fmt.Errorf("%w: %q@%s: %w", ErrImageID, ref, digest, err)
	}
	desc, err := remote.Get(d, remote.WithContext(ctx), remote.WithAuth(authFromConfig(dockerConfig, tag.Registry)))
	if err != nil {
		return "", fmt.Errorf("%w: fetching the pushed manifest %s: %w", ErrImageID, d, oneLine(err))
	}
	m, err := v1.ParseManifest(strings.NewReader(string(desc.Manifest)))
	if err != nil {
		return "", fmt.Errorf("%w: the pushed manifest %s: %w", ErrImageID, d, err)
	}
	return m.Config.Digest.String(), nil
}

func insecure(b *spec.Build, registry string) bool {
	f, err := spec.ParseExecutorArgs(b.ExtraArgs)
	if err == nil && (f.Insecure || contains(f.InsecureRegistries, registry)) {
		return true
	}
	return contains(b.Registry.Insecure, registry)
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// authFromConfig picks the registry's entry of the build's minimal
// config.json (inline auths only, keyed as kaniko looks them up).
func authFromConfig(dockerConfig []byte, reg name.Registry) authn.Authenticator {
	var cfg struct {
		Auths map[string]authn.AuthConfig `json:"auths"`
	}
	if json.Unmarshal(dockerConfig, &cfg) != nil {
		return authn.Anonymous
	}
	for _, key := range []string{reg.RegistryStr(), reg.Name(), "https://" + reg.RegistryStr(), authn.DefaultAuthKey} {
		if key == authn.DefaultAuthKey && reg.RegistryStr() != name.DefaultRegistry {
			continue
		}
		if ac, ok := cfg.Auths[key]; ok {
			return authn.FromConfig(ac)
		}
	}
	return authn.Anonymous
}

// metadata is --metadata-file's content: buildx's keys where kaniko has
// the value, and kanikorun's own.
func metadata(b *spec.Build, digest, configDigest, loadedID string) ([]byte, error) {
	m := map[string]string{
		"containerimage.digest":        digest,
		"containerimage.config.digest": configDigest,
		"kanikorun.executor.image":     b.ExecutorImage,
	}
	if names := append(append([]string(nil), b.PushDestinations()...), b.ExtraDestinations...); len(names) > 0 {
		m["image.name"] = strings.Join(names, ",")
	}
	if b.Platform != "" {
		m["kanikorun.platform"] = b.Platform
	}
	if loadedID != "" {
		m["kanikorun.loaded.id"] = loadedID
	}
	for k, v := range m {
		if v == "" {
			delete(m, k)
		}
	}
	out, err := json.MarshalIndent(m, "", "  ")
	return append(out, '\n'), err
}
