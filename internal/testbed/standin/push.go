package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// push is kaniko's DoPush: digest files, OCI layout and tarball first, then
// every destination unless --no-push.
func push(ctx context.Context, log *logger, img v1.Image, o *options, kc authn.Keychain) error {
	digest, err := img.Digest()
	if err != nil {
		return fmt.Errorf("error fetching digest: %w", err)
	}
	if o.digestFile != "" {
		if err := writeInPlace(o.digestFile, []byte(digest.String())); err != nil {
			return fmt.Errorf("writing digest to file failed: %w", err)
		}
	}
	if o.ociLayoutPath != "" {
		p, err := layout.Write(o.ociLayoutPath, empty.Index)
		if err != nil {
			return fmt.Errorf("writing empty layout: %w", err)
		}
		if err := p.AppendImage(img); err != nil {
			return fmt.Errorf("appending image: %w", err)
		}
	}
	var refs []name.Tag
	var withDigest, withTagDigest strings.Builder
	for _, d := range o.destinations {
		ref, err := o.tag(d)
		if err != nil {
			return fmt.Errorf("getting tag for destination: %w", err)
		}
		refs = append(refs, ref)
		fmt.Fprintf(&withDigest, "%s@%s\n", ref.Repository.Name(), digest)
		fmt.Fprintf(&withTagDigest, "%s:%s@%s\n", ref.Repository.Name(), ref.TagStr(), digest)
	}
	if o.imageNameDigestFile != "" {
		if err := writeInPlace(o.imageNameDigestFile, []byte(withDigest.String())); err != nil {
			return fmt.Errorf("writing image name with digest to file failed: %w", err)
		}
	}
	if o.imageNameTagDigestFile != "" {
		if err := writeInPlace(o.imageNameTagDigestFile, []byte(withTagDigest.String())); err != nil {
			return fmt.Errorf("writing image name with image tag and digest to file failed: %w", err)
		}
	}
	if o.tarPath != "" {
		m := map[name.Reference]v1.Image{}
		for _, r := range refs {
			m[r] = img
		}
		// MultiRefWriteToFile opens the path with os.Create (O_TRUNC): a
		// bind-mounted file is written in place, never replaced.
		if err := tarball.MultiRefWriteToFile(o.tarPath, m); err != nil {
			return fmt.Errorf("writing tarball to file failed: %w", err)
		}
	}
	if o.noPush {
		log.Infof("Skipping push to container registry due to --no-push flag")
		return nil
	}
	if len(refs) == 0 {
		return errors.New("must provide at least one destination to push")
	}
	for _, r := range refs {
		log.Infof("Pushing image to %s", r.String())
		err := retry(o.pushRetry, func() error {
			return remote.Write(r, img,
				remote.WithContext(ctx),
				remote.WithAuthFromKeychain(kc),
				remote.WithTransport(o.transport(r.RegistryStr())))
		})
		if err != nil {
			return fmt.Errorf("failed to push to destination %s: %w", r, err)
		}
		log.Infof("Pushed %s", r.Context().Digest(digest.String()))
	}
	return nil
}

// retryDelay is the first wait of retry. kaniko's util.Retry starts at
// one second; the stand-in waits less, so that tests of retried pushes do
// not sleep.
const retryDelay = 50 * time.Millisecond

// retry is kaniko's util.Retry: the operation, then up to retries more
// times with a doubling wait, and the error kaniko words when all failed.
// --push-retry and --image-download-retry run through it; the
// push-permission check before the build does not, as in kaniko.
func retry(retries int, op func() error) error {
	err := op()
	delay := retryDelay
	for i := 0; err != nil && i < retries; i++ {
		time.Sleep(delay)
		delay *= 2
		err = op()
	}
	if err != nil {
		return fmt.Errorf("unable to complete operation after %d attempts, last error: %w", retries, err)
	}
	return nil
}

// writeInPlace is kaniko's writeDigestFile: create the parent when missing,
// then truncate and write, so a bind-mounted file such as
// /dev/termination-log keeps its inode.
func writeInPlace(p string, data []byte) error {
	if _, err := os.Stat(filepath.Dir(p)); errors.Is(err, os.ErrNotExist) {
		if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
			return err
		}
	}
	return os.WriteFile(p, data, 0o644)
}
