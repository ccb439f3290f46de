package testbed

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/docker/cli/cli/config/configfile"
	clitypes "github.com/docker/cli/cli/config/types"
	"github.com/docker/docker/api/types/registry"
	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	ggcrregistry "github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// Registry is an in-process OCI registry (go-containerregistry's
// pkg/registry) listening on 127.0.0.1. When it has a username, every
// request, the /v2/ ping included, needs HTTP basic auth with exactly these
// credentials; others get 401 with `WWW-Authenticate: Basic realm=...` and
// a registry-style UNAUTHORIZED error body, as a real registry answers.
//
// Clients reach it over plain HTTP: go-containerregistry (and so the
// stand-in) uses HTTP for loopback registries, and the Docker daemon treats
// 127.0.0.0/8 as an insecure registry. A container reaches it only with
// host networking.
type Registry struct {
	// Addr is host:port, always 127.0.0.1:PORT; image references start
	// with it.
	Addr string
	// Username and Password are the only accepted credentials; an empty
	// Username means the registry accepts anonymous requests.
	Username, Password string

	srv *http.Server
	lis net.Listener

	mu       sync.Mutex
	requests []Request
	faults   faults
}

// Request is one HTTP request the registry answered.
type Request struct {
	// Method and Path of the request (path without the query).
	Method, Path string
	// Status is the HTTP status answered.
	Status int
	// User is the basic-auth username presented, empty when none was.
	User string
}

// StartRegistry starts a registry on 127.0.0.1:0 that requires the given
// credentials (none when user is empty). Close it when done.
func StartRegistry(user, password string) (*Registry, error) {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("listening on 127.0.0.1: %w", err)
	}
	r := &Registry{Addr: lis.Addr().String(), Username: user, Password: password, lis: lis}
	inner := ggcrregistry.New(ggcrregistry.Logger(log.New(io.Discard, "", 0)))
	r.srv = &http.Server{Handler: r.handler(inner)}
	go func() { _ = r.srv.Serve(lis) }()
	return r, nil
}

// NewRegistry starts a registry with user "kanikorun" and a random
// password for one test, closed by t.Cleanup.
func NewRegistry(t testing.TB) *Registry {
	t.Helper()
	r, err := StartRegistry("kanikorun", RandomPassword())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(r.Close)
	return r
}

// RandomPassword returns 32 random hex digits.
func RandomPassword() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// Close stops the registry.
func (r *Registry) Close() { _ = r.srv.Close() }

// unauthorizedBody is what distribution's registry answers to a missing or
// wrong credential; go-containerregistry turns it into
// "UNAUTHORIZED: authentication required".
const unauthorizedBody = `{"errors":[{"code":"UNAUTHORIZED","message":"authentication required","detail":null}]}`

func (r *Registry) handler(inner http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if r.faults.play(w) {
			return
		}
		user, pass, hasAuth := req.BasicAuth()
		rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
		defer func() {
			r.mu.Lock()
			r.requests = append(r.requests, Request{Method: req.Method, Path: req.URL.Path, Status: rec.status, User: user})
			r.mu.Unlock()
		}()
		if r.Username != "" && (!hasAuth || user != r.Username || pass != r.Password) {
			rec.Header().Set("WWW-Authenticate", `Basic realm="kanikorun-testbed"`)
			rec.Header().Set("Content-Type", "application/json")
			rec.WriteHeader(http.StatusUnauthorized)
			_, _ = io.WriteString(rec, unauthorizedBody)
			return
		}
		inner.ServeHTTP(rec, req)
	})
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (s *statusRecorder) WriteHeader(code int) {
	s.status = code
	s.ResponseWriter.WriteHeader(code)
}

// Requests returns the requests answered so far, oldest first. Filter by
// Path (e.g. "/v2/app/manifests/") to isolate one test's traffic on a
// shared registry.
func (r *Registry) Requests() []Request {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Request(nil), r.requests...)
}

// Unauthorized counts the requests answered with 401 so far.
func (r *Registry) Unauthorized() int {
	n := 0
	for _, q := range r.Requests() {
		if q.Status == http.StatusUnauthorized {
			n++
		}
	}
	return n
}

// Authenticator returns the registry's credentials for
// go-containerregistry (anonymous when it has none).
func (r *Registry) Authenticator() authn.Authenticator {
	if r.Username == "" {
		return authn.Anonymous
	}
	return &authn.Basic{Username: r.Username, Password: r.Password}
}

// RegistryAuth returns the X-Registry-Auth value the daemon needs to pull
// from this registry (ImagePull's image.PullOptions.RegistryAuth).
func (r *Registry) RegistryAuth() string {
	s, _ := registry.EncodeAuthConfig(registry.AuthConfig{Username: r.Username, Password: r.Password, ServerAddress: r.Addr})
	return s
}

// DockerConfig returns a docker config.json (written by docker/cli's
// configfile) with an inline "auths" entry for the registry.
func (r *Registry) DockerConfig() []byte {
	cf := configfile.New("")
	cf.AuthConfigs[r.Addr] = clitypes.AuthConfig{Username: r.Username, Password: r.Password, ServerAddress: r.Addr}
	var buf bytes.Buffer
	_ = cf.SaveToWriter(&buf) // writing to memory cannot fail
	return buf.Bytes()
}

// WriteDockerConfig writes DockerConfig to dir/config.json (mode 0600) and
// returns its path: ready to bind-mount read-only at
// /kaniko/.docker/config.json, or to point DOCKER_CONFIG at dir.
func (r *Registry) WriteDockerConfig(dir string) (string, error) {
	p := filepath.Join(dir, "config.json")
	if err := os.WriteFile(p, r.DockerConfig(), 0o600); err != nil {
		return "", fmt.Errorf("writing docker config: %w", err)
	}
	return p, nil
}

// Ref returns a full reference for repo ("app:1", "team/app") in this
// registry; a reference already naming the registry is returned as is.
func (r *Registry) Ref(repo string) string {
	if strings.HasPrefix(repo, r.Addr+"/") {
		return repo
	}
	return r.Addr + "/" + repo
}

func (r *Registry) tag(repo string) (name.Tag, error) {
	t, err := name.NewTag(r.Ref(repo))
	if err != nil {
		return t, fmt.Errorf("parsing %q: %w", repo, err)
	}
	return t, nil
}

// PushBase pushes a small one-layer image to repo (tag "latest" unless
// repo has one) and returns its tag reference, for FROM lines. Keys of
// files are paths ("app/a.txt", no leading slash needed), values their
// content; parent directories are created. Put "bin/sh" in files to let
// the stand-in's RUN steps start, as real kaniko needs /bin/sh.
func (r *Registry) PushBase(ctx context.Context, repo string, files map[string]string, env []string, labels map[string]string) (string, error) {
	t, err := r.tag(repo)
	if err != nil {
		return "", err
	}
	data, err := tarFiles(files)
	if err != nil {
		return "", err
	}
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(data)), nil
	})
	if err != nil {
		return "", err
	}
	img, err := mutate.AppendLayers(empty.Image, layer)
	if err != nil {
		return "", err
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return "", err
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture = "linux", runtime.GOARCH
	cf.Config.Env = append([]string(nil), env...)
	cf.Config.Labels = labels
	if img, err = mutate.ConfigFile(img, cf); err != nil {
		return "", err
	}
	if err := remote.Write(t, img, remote.WithContext(ctx), remote.WithAuth(r.Authenticator())); err != nil {
		return "", fmt.Errorf("pushing base image %q: %w", t, err)
	}
	return t.String(), nil
}

// tarFiles makes a layer tar from path -> content, with parent directories.
func tarFiles(files map[string]string) ([]byte, error) {
	entries := map[string]bool{} // path -> is directory
	for p := range files {
		p = strings.TrimPrefix(path.Clean("/"+p), "/")
		entries[p] = false
		for d := path.Dir(p); d != "." && d != "/"; d = path.Dir(d) {
			entries[d] = true
		}
	}
	names := make([]string, 0, len(entries))
	for p := range entries {
		names = append(names, p)
	}
	sort.Strings(names)
	content := map[string]string{}
	for p, c := range files {
		content[strings.TrimPrefix(path.Clean("/"+p), "/")] = c
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, p := range names {
		h := &tar.Header{Name: p, Mode: 0o755, ModTime: epoch, Typeflag: tar.TypeDir}
		if !entries[p] {
			h = &tar.Header{Name: p, Mode: 0o755, ModTime: epoch, Typeflag: tar.TypeReg, Size: int64(len(content[p]))}
		} else {
			h.Name += "/"
		}
		if err := tw.WriteHeader(h); err != nil {
			return nil, err
		}
		if _, err := io.WriteString(tw, content[p]); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// PushStandIn pushes the stand-in executor image (the same image
// StandInImage loads) to repo and returns its tag reference, so the daemon
// can pull the executor from this registry (it pulls from 127.0.0.0/8 over
// plain HTTP without configuration). When the registry needs credentials
// the daemon does too: pass RegistryAuth() as
// image.PullOptions.RegistryAuth, or the pull fails with 401.
//
// The pulled image has the same ID as StandInImage's, so its layer is
// reported "Already exists" when that one is loaded, and removing the
// pulled reference only untags it.
func (r *Registry) PushStandIn(ctx context.Context, repo string) (string, error) {
	img, err := StandIn(ctx)
	if err != nil {
		return "", err
	}
	t, err := r.tag(repo)
	if err != nil {
		return "", err
	}
	if err := remote.Write(t, img, remote.WithContext(ctx), remote.WithAuth(r.Authenticator())); err != nil {
		return "", fmt.Errorf("pushing the stand-in to %q: %w", t, err)
	}
	return t.String(), nil
}

// Image fetches an image from the registry with its credentials; ref is a
// full reference or one relative to the registry ("app:1",
// "app@sha256:...").
func (r *Registry) Image(ref string) (v1.Image, error) {
	p, err := name.ParseReference(r.Ref(ref))
	if err != nil {
		return nil, fmt.Errorf("parsing %q: %w", ref, err)
	}
	img, err := remote.Image(p, remote.WithAuth(r.Authenticator()))
	if err != nil {
		return nil, fmt.Errorf("fetching %q: %w", p, err)
	}
	return img, nil
}

// Files returns an image's flattened filesystem: regular files by path
// (no leading slash, e.g. "app/a.txt") with their content, and symlinks
// with "-> target". Directories are left out. Meant for small test images.
func Files(img v1.Image) (map[string]string, error) {
	rc := mutate.Extract(img)
	defer rc.Close()
	tr := tar.NewReader(rc)
	out := map[string]string{}
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, fmt.Errorf("reading image filesystem: %w", err)
		}
		p := strings.TrimPrefix(path.Clean("/"+h.Name), "/")
		switch h.Typeflag {
		case tar.TypeReg:
			b, err := io.ReadAll(tr)
			if err != nil {
				return nil, err
			}
			out[p] = string(b)
		case tar.TypeSymlink:
			out[p] = "-> " + h.Linkname
		}
	}
}
