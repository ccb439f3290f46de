package testbed

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/client"
	"github.com/docker/docker/pkg/jsonmessage"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// StandInRepository is the repository StandInImage tags the stand-in with
// in the daemon; the tag is the first 12 hex digits of the image ID.
const StandInRepository = "kanikorun-test/executor"

// StandInForkRepository is the repository StandInForkImage tags the
// fork-mode stand-in with, the same way.
const StandInForkRepository = "kanikorun-test/executor-fork"

// StandInFlavorEnv is the environment variable that puts the stand-in in
// fork mode when it is "fork" (see the standin package doc): --target
// takes a list, --secret exists, heredocs run and a quoted one is skipped.
// The fork-mode image has it in its environment; a container of the
// upstream image can be given it too (RunOptions.Env).
const StandInFlavorEnv = "KANIKORUN_STANDIN_FLAVOR"

// ExecutorEnv is the environment of the real executor image, which the
// stand-in image copies.
var ExecutorEnv = []string{
	"HOME=/root",
	"USER=root",
	"PATH=/usr/local/bin:/kaniko",
	"SSL_CERT_DIR=/kaniko/ssl/certs",
	"DOCKER_CONFIG=/kaniko/.docker/",
	"DOCKER_CREDENTIAL_GCR_CONFIG=/kaniko/.config/gcloud/docker_credential_gcr_config.json",
}

// epoch is the timestamp of every file and of the image, so that the same
// stand-in binary always yields the same image ID.
var epoch = time.Unix(0, 0).UTC()

var standIn struct {
	mu     sync.Mutex
	img    v1.Image
	fork   v1.Image
	rootfs []byte
}

// StandInRootfs returns the stand-in executor image's only layer as an
// uncompressed tar: /kaniko/executor, /kaniko (mode 0777), an empty
// /kaniko/.docker/, /kaniko/ssl/certs/ca-certificates.crt (the host's),
// /etc/nsswitch.conf and /workspace, like the real image. The binary is
// built once per test process (CGO_ENABLED=0, through the go command, so
// the Go build cache makes later builds quick).
func StandInRootfs(ctx context.Context) ([]byte, error) {
	if _, err := StandIn(ctx); err != nil {
		return nil, err
	}
	standIn.mu.Lock()
	defer standIn.mu.Unlock()
	return standIn.rootfs, nil
}

// StandIn returns the stand-in executor image: StandInRootfs as its layer,
// entrypoint /kaniko/executor, working directory /workspace and
// ExecutorEnv. It is built once per test process and is deterministic for
// a given binary.
func StandIn(ctx context.Context) (v1.Image, error) {
	standIn.mu.Lock()
	defer standIn.mu.Unlock()
	if standIn.img != nil {
		return standIn.img, nil
	}
	bin, err := buildStandIn(ctx)
	if err != nil {
		return nil, err
	}
	rootfs, err := standInRootfs(bin)
	if err != nil {
		return nil, err
	}
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(rootfs)), nil
	})
	if err != nil {
		return nil, fmt.Errorf("making stand-in layer: %w", err)
	}
	img, err := mutate.Append(empty.Image, mutate.Addendum{
		Layer:   layer,
		History: v1.History{CreatedBy: "kanikorun testbed stand-in executor", Created: v1.Time{Time: epoch}},
	})
	if err != nil {
		return nil, fmt.Errorf("making stand-in image: %w", err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture = "linux", runtime.GOARCH
	cf.Created = v1.Time{Time: epoch}
	cf.Config.Env = append([]string(nil), ExecutorEnv...)
	cf.Config.Entrypoint = []string{"/kaniko/executor"}
	cf.Config.WorkingDir = "/workspace"
	if img, err = mutate.ConfigFile(img, cf); err != nil {
		return nil, fmt.Errorf("making stand-in image: %w", err)
	}
	standIn.img, standIn.rootfs = img, rootfs
	return img, nil
}

// StandInFork returns the stand-in executor image in fork mode: StandIn
// with StandInFlavorEnv=fork added to its environment, so that it imitates
// the osscontainertools fork v1.28.3 (--target a,b, --secret, heredocs).
// It is built once per test process and is deterministic for a given
// binary.
func StandInFork(ctx context.Context) (v1.Image, error) {
	img, err := StandIn(ctx)
	if err != nil {
		return nil, err
	}
	standIn.mu.Lock()
	defer standIn.mu.Unlock()
	if standIn.fork != nil {
		return standIn.fork, nil
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	cf = cf.DeepCopy()
	cf.Config.Env = append(cf.Config.Env, StandInFlavorEnv+"=fork")
	fork, err := mutate.ConfigFile(img, cf)
	if err != nil {
		return nil, fmt.Errorf("making fork-mode stand-in image: %w", err)
	}
	standIn.fork = fork
	return fork, nil
}

// standInDir is the stand-in's source directory, found from this file so
// that any package's tests can build it.
func standInDir() (string, error) {
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		return "", errors.New("locating the testbed sources: runtime.Caller failed")
	}
	return filepath.Join(filepath.Dir(file), "standin"), nil
}

// buildStandIn compiles the stand-in for Linux and returns the binary.
func buildStandIn(ctx context.Context) ([]byte, error) {
	dir, err := standInDir()
	if err != nil {
		return nil, err
	}
	goBin, err := exec.LookPath("go")
	if err != nil {
		return nil, fmt.Errorf("building the stand-in executor needs the go command on PATH: %w", err)
	}
	out, err := os.MkdirTemp("", "kanikorun-standin-")
	if err != nil {
		return nil, fmt.Errorf("creating build directory: %w", err)
	}
	defer os.RemoveAll(out)
	bin := filepath.Join(out, "executor")
	cmd := exec.CommandContext(ctx, goBin, "build", "-trimpath", "-buildvcs=false", "-ldflags=-s -w", "-o", bin, ".")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+runtime.GOARCH)
	if msg, err := cmd.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("building the stand-in executor in %q: %w\n%s", dir, err, msg)
	}
	return os.ReadFile(bin)
}

// standInRootfs lays out the executor image's files around the binary.
func standInRootfs(bin []byte) ([]byte, error) {
	certs, err := os.ReadFile("/etc/ssl/certs/ca-certificates.crt")
	if err != nil {
		certs = nil // an empty bundle still lets loopback HTTP work
	}
	type file struct {
		name string
		mode int64
		data []byte
		dir  bool
	}
	files := []file{
		{name: "etc/", mode: 0o755, dir: true},
		{name: "etc/nsswitch.conf", mode: 0o644, data: []byte("hosts: files dns\n")},
		{name: "kaniko/", mode: 0o777, dir: true},
		{name: "kaniko/.docker/", mode: 0o755, dir: true},
		{name: "kaniko/executor", mode: 0o755, data: bin},
		{name: "kaniko/ssl/", mode: 0o755, dir: true},
		{name: "kaniko/ssl/certs/", mode: 0o755, dir: true},
		{name: "kaniko/ssl/certs/ca-certificates.crt", mode: 0o644, data: certs},
		{name: "workspace/", mode: 0o755, dir: true},
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, f := range files {
		h := &tar.Header{Name: f.name, Mode: f.mode, ModTime: epoch, Typeflag: tar.TypeReg, Size: int64(len(f.data))}
		if f.dir {
			h.Typeflag, h.Size = tar.TypeDir, 0
		}
		if err := tw.WriteHeader(h); err != nil {
			return nil, err
		}
		if _, err := tw.Write(f.data); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// StandInImage loads the stand-in executor into the daemon and returns its
// reference, kanikorun-test/executor:<12 hex digits of the image ID>. An
// image already there under that tag is reused, so test packages and
// repeated runs share it; two processes loading it at once both succeed,
// as loading identical content is idempotent. Call it once per package,
// from TestMain. The image is left in the daemon on purpose (it is the
// cache); loading a new version removes the older ones.
func StandInImage(ctx context.Context, cli *client.Client) (string, error) {
	img, err := StandIn(ctx)
	if err != nil {
		return "", err
	}
	return loadStandIn(ctx, cli, img, StandInRepository)
}

// StandInForkImage is StandInImage for the fork-mode stand-in
// (StandInFork): it loads it as kanikorun-test/executor-fork:<12 hex
// digits of the image ID>, reused and pruned the same way. kanikorun does
// not know that repository, so a test of the CLI passes
// --executor-flavor fork (or KANIKORUN_EXECUTOR_FLAVOR=fork) with it.
func StandInForkImage(ctx context.Context, cli *client.Client) (string, error) {
	img, err := StandInFork(ctx)
	if err != nil {
		return "", err
	}
	return loadStandIn(ctx, cli, img, StandInForkRepository)
}

// loadStandIn loads img into the daemon as repo:<12 hex digits of its ID>
// unless it is there already, and removes older tags of repo.
func loadStandIn(ctx context.Context, cli *client.Client, img v1.Image, repo string) (string, error) {
	id, err := img.ConfigName()
	if err != nil {
		return "", err
	}
	ref := repo + ":" + id.Hex[:12]
	if got, err := cli.ImageInspect(ctx, ref); err == nil && got.ID == id.String() {
		return ref, nil
	} else if err != nil && !cerrdefs.IsNotFound(err) {
		return "", fmt.Errorf("inspecting %q: %w", ref, err)
	}
	tag, err := name.NewTag(ref)
	if err != nil {
		return "", err
	}
	pr, pw := io.Pipe()
	go func() { pw.CloseWithError(tarball.Write(tag, img, pw)) }()
	resp, err := cli.ImageLoad(ctx, pr, client.ImageLoadWithQuiet(true))
	if err != nil {
		pr.CloseWithError(err)
		return "", fmt.Errorf("loading %q into the daemon: %w", ref, err)
	}
	defer resp.Body.Close()
	if err := readJSONMessages(resp.Body); err != nil {
		return "", fmt.Errorf("loading %q into the daemon: %w", ref, err)
	}
	pruneStandIns(ctx, cli, repo, ref)
	return ref, nil
}

// pruneStandIns removes stand-in images of earlier sources from repo,
// best effort: without force, an image a container still uses stays.
//
// KANIKORUN_TEST_KEEP_STANDINS=1 keeps them: several checkouts testing at
// once on one daemon would otherwise remove each other's stand-ins.
func pruneStandIns(ctx context.Context, cli *client.Client, repo, keep string) {
	if os.Getenv("KANIKORUN_TEST_KEEP_STANDINS") != "" {
		return
	}
	list, err := cli.ImageList(ctx, image.ListOptions{Filters: filters.NewArgs(filters.Arg("reference", repo))})
	if err != nil {
		return
	}
	for _, img := range list {
		for _, tag := range img.RepoTags {
			if tag != keep && strings.HasPrefix(tag, repo+":") {
				_, _ = cli.ImageRemove(ctx, tag, image.RemoveOptions{PruneChildren: true})
			}
		}
	}
}

// readJSONMessages drains a daemon progress stream and returns the first
// error it reports.
func readJSONMessages(r io.Reader) error {
	dec := json.NewDecoder(r)
	for {
		var m jsonmessage.JSONMessage
		if err := dec.Decode(&m); errors.Is(err, io.EOF) {
			return nil
		} else if err != nil {
			return err
		}
		if m.Error != nil {
			return m.Error
		}
	}
}
