package runner

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/docker/docker/api/types"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/client"
	"github.com/docker/docker/errdefs"
	"github.com/docker/docker/pkg/stdcopy"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/kanikorun/kanikorun/internal/plan"
	"github.com/kanikorun/kanikorun/internal/spec"
)

// fakeEngine records calls and plays a scripted container. It is for the
// runner's own logic; the end-to-end tests use the real daemon.
type fakeEngine struct {
	mu         sync.Mutex
	calls      []string
	haveImage  bool
	pullErr    error
	exitCode   int64
	block      bool // the container never exits on its own
	stdout     string
	stderr     string
	created    *container.Config
	hostConfig *container.HostConfig
	removed    []string
	onStart    func() // runs when the container starts
}

func (f *fakeEngine) record(s string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, s)
}

func (f *fakeEngine) Ping(context.Context) (types.Ping, error) { return types.Ping{}, nil }
func (f *fakeEngine) ImagePull(_ context.Context, ref string, _ image.PullOptions) (io.ReadCloser, error) {
	f.record("pull")
	if f.pullErr != nil {
		return nil, f.pullErr
	}
	f.haveImage = true
	return io.NopCloser(strings.NewReader(`{"status":"Pulling from x"}` + "\n" + `{"status":"Downloaded newer image for ` + ref + `"}` + "\n")), nil
}
func (f *fakeEngine) ImageLoad(context.Context, io.Reader, ...client.ImageLoadOption) (image.LoadResponse, error) {
	f.record("load")
	return image.LoadResponse{Body: io.NopCloser(strings.NewReader(`{"stream":"Loaded image: app:1\n"}`))}, nil
}
func (f *fakeEngine) ContainerCreate(_ context.Context, cfg *container.Config, hc *container.HostConfig, _ *network.NetworkingConfig, _ *ocispec.Platform, _ string) (container.CreateResponse, error) {
	f.record("create")
	if !f.haveImage {
		return container.CreateResponse{}, errdefs.NotFound(errors.New("No such image: " + cfg.Image))
	}
	f.created, f.hostConfig = cfg, hc
	return container.CreateResponse{ID: "c0ffee"}, nil
}
func (f *fakeEngine) ContainerAttach(context.Context, string, container.AttachOptions) (types.HijackedResponse, error) {
	f.record("attach")
	var buf bytes.Buffer
	_, _ = stdcopy.NewStdWriter(&buf, stdcopy.Stdout).Write([]byte(f.stdout))
	_, _ = stdcopy.NewStdWriter(&buf, stdcopy.Stderr).Write([]byte(f.stderr))
	c1, c2 := net.Pipe()
	go func() { _, _ = c2.Write(buf.Bytes()); c2.Close() }()
	return types.NewHijackedResponse(c1, ""), nil
}
func (f *fakeEngine) ContainerStart(context.Context, string, container.StartOptions) error {
	f.record("start")
	if f.onStart != nil {
		f.onStart()
	}
	return nil
}
func (f *fakeEngine) ContainerWait(ctx context.Context, _ string, _ container.WaitCondition) (<-chan container.WaitResponse, <-chan error) {
	f.record("wait")
	wc, ec := make(chan container.WaitResponse, 1), make(chan error, 1)
	if f.block {
		go func() { <-ctx.Done(); ec <- ctx.Err() }()
	} else {
		wc <- container.WaitResponse{StatusCode: f.exitCode}
	}
	return wc, ec
}
func (f *fakeEngine) ContainerRemove(_ context.Context, id string, o container.RemoveOptions) error {
	f.record("remove")
	f.mu.Lock()
	defer f.mu.Unlock()
	if !o.Force {
		return errors.New("remove without force")
	}
	f.removed = append(f.removed, id)
	return nil
}
func (f *fakeEngine) Close() error { return nil }

func (f *fakeEngine) callList() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return strings.Join(f.calls, ",")
}

func testBuild(t *testing.T) *spec.Build {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte("FROM scratch\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return &spec.Build{Context: dir, Dockerfile: filepath.Join(dir, "Dockerfile"), ExecutorImage: "exec:1"}
}

func TestPullPolicy(t *testing.T) {
	t.Parallel()
	tests := []struct {
		policy    PullPolicy
		haveImage bool
		wantCalls string
		wantErr   error
	}{
		{PullMissing, true, "create,attach", nil},
		{PullMissing, false, "create,pull,create,attach", nil},
		{PullAlways, true, "pull,create,attach", nil},
		{PullNever, true, "create,attach", nil},
		{PullNever, false, "create", ErrImageMissing},
	}
	for _, tt := range tests {
		t.Run(string(tt.policy), func(t *testing.T) {
			t.Parallel()
			f := &fakeEngine{haveImage: tt.haveImage}
			var out bytes.Buffer
			r := &Runner{Engine: f, Stdout: &out, Stderr: io.Discard, Pull: tt.policy}
			_, err := r.Run(context.Background(), plan.Local(testBuild(t), plan.HostFiles{}, "bridge"))
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			if got := f.callList(); !strings.HasPrefix(got, tt.wantCalls) {
				t.Errorf("calls = %s, want them to start with %s", got, tt.wantCalls)
			}
			if strings.Contains(tt.wantCalls, "pull") && !strings.Contains(out.String(), "Downloaded newer image") {
				t.Errorf("pull progress not shown as plain lines: %q", out.String())
			}
		})
	}
}

func TestPullErrorIsOneLine(t *testing.T) {
	t.Parallel()
	f := &fakeEngine{pullErr: errors.New("pull access denied for exec\nrepository does not exist")}
	r := &Runner{Engine: f, Stdout: io.Discard, Stderr: io.Discard}
	_, err := r.Run(context.Background(), plan.Local(testBuild(t), plan.HostFiles{}, "bridge"))
	if !errors.Is(err, ErrPull) || strings.Contains(err.Error(), "\n") || !strings.Contains(err.Error(), "--pull=never") {
		t.Fatalf("err = %q, want one line wrapping ErrPull with a hint", err)
	}
}

func TestRunStreamsExitCodeAndRemoves(t *testing.T) {
	t.Parallel()
	f := &fakeEngine{haveImage: true, exitCode: 3, stdout: "to stdout\n", stderr: "to stderr\n"}
	var out, errOut bytes.Buffer
	r := &Runner{Engine: f, Stdout: &out, Stderr: &errOut}
	b := testBuild(t)
	res, err := r.Run(context.Background(), plan.Local(b, plan.HostFiles{}, "bridge"))
	if err != nil {
		t.Fatal(err)
	}
	if res.ExitCode != 3 {
		t.Errorf("exit code = %d, want 3", res.ExitCode)
	}
	if out.String() != "to stdout\n" || errOut.String() != "to stderr\n" {
		t.Errorf("streams not demultiplexed: stdout %q stderr %q", out.String(), errOut.String())
	}
	if len(f.removed) != 1 {
		t.Errorf("container removed %d times, want 1", len(f.removed))
	}
	hc := f.hostConfig
	if hc.Privileged || hc.NetworkMode != "bridge" || hc.LogConfig.Type != "none" {
		t.Errorf("host config = %+v", hc)
	}
	for _, m := range hc.Mounts {
		if strings.Contains(m.Source, "docker.sock") {
			t.Errorf("docker socket mounted: %+v", m)
		}
		if m.Target == spec.WorkspaceDir && !m.ReadOnly {
			t.Errorf("workspace mounted read-write")
		}
	}
	if f.created.Labels[spec.ManagedLabel] != "true" || f.created.Labels[spec.ContextLabel] != b.Context {
		t.Errorf("labels = %v", f.created.Labels)
	}
}

func TestRunCancelRemovesContainer(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	f := &fakeEngine{haveImage: true, block: true, onStart: cancel}
	r := &Runner{Engine: f, Stdout: io.Discard, Stderr: io.Discard}
	_, err := r.Run(ctx, plan.Local(testBuild(t), plan.HostFiles{}, "bridge"))
	if !errors.Is(err, ErrInterrupted) {
		t.Fatalf("err = %v, want ErrInterrupted", err)
	}
	if len(f.removed) != 1 {
		t.Errorf("container removed %d times, want 1", len(f.removed))
	}
}

func TestRunRefusesMissingMountSource(t *testing.T) {
	t.Parallel()
	f := &fakeEngine{haveImage: true}
	r := &Runner{Engine: f, Stdout: io.Discard, Stderr: io.Discard}
	c := plan.Local(testBuild(t), plan.HostFiles{DockerConfig: "/nonexistent/config.json"}, "bridge")
	if _, err := r.Run(context.Background(), c); !errors.Is(err, ErrMountSource) {
		t.Fatalf("err = %v, want ErrMountSource", err)
	}
	if got := f.callList(); got != "" {
		t.Errorf("daemon was called: %s", got)
	}
}

func TestBuildCleansUpAndChecksOutputs(t *testing.T) {
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	tests := []struct {
		name     string
		outputs  spec.Outputs
		exitCode int64
		wantErr  error
		wantTar  bool
	}{
		{name: "success with tar", outputs: spec.Outputs{TarPath: filepath.Join(tmp, "out", "img.tar")}, wantTar: true},
		{name: "failure leaves no tar", outputs: spec.Outputs{TarPath: filepath.Join(tmp, "out", "img.tar")}, exitCode: 1},
		{name: "tar dir missing", outputs: spec.Outputs{TarPath: filepath.Join(tmp, "missing", "img.tar")}, wantErr: ErrOutput},
		{name: "tar is a dir", outputs: spec.Outputs{TarPath: filepath.Join(tmp, "out")}, wantErr: ErrOutput},
		{name: "digest dir missing", outputs: spec.Outputs{DigestFile: filepath.Join(tmp, "missing", "d")}, wantErr: ErrOutput},
		{name: "load", outputs: spec.Outputs{Load: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := filepath.Join(tmp, "out")
			if err := os.MkdirAll(out, 0o755); err != nil {
				t.Fatal(err)
			}
			f := &fakeEngine{haveImage: true, exitCode: tt.exitCode}
			r := &Runner{Engine: f, Stdout: io.Discard, Stderr: io.Discard}
			b := testBuild(t)
			b.Outputs = tt.outputs
			res, err := r.Build(context.Background(), Local{Build: b, Network: "bridge"})
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			if tt.wantErr != nil && f.callList() != "" {
				t.Errorf("daemon called despite bad output: %s", f.callList())
			}
			_, statErr := os.Stat(filepath.Join(out, "img.tar"))
			if (statErr == nil) != tt.wantTar {
				t.Errorf("tar present = %v, want %v", statErr == nil, tt.wantTar)
			}
			if tt.outputs.Load && (len(res.Loaded) != 1 || res.Loaded[0] != "app:1") {
				t.Errorf("loaded = %v", res.Loaded)
			}
			// Nothing of ours may remain: no temp dir, no partial tarball.
			entries, _ := os.ReadDir(tmp)
			for _, e := range entries {
				if strings.HasPrefix(e.Name(), "kanikorun-") {
					t.Errorf("temp dir left behind: %s", e.Name())
				}
			}
			left, _ := os.ReadDir(out)
			for _, e := range left {
				if e.Name() != "img.tar" {
					t.Errorf("file left in output dir: %s", e.Name())
				}
			}
			_ = os.RemoveAll(out)
		})
	}
}

func TestLoadedNames(t *testing.T) {
	t.Parallel()
	body := `{"stream":"Loaded image: a:1\n"}` + "\n" + `{"stream":"Loaded image ID: sha256:abc\n"}`
	names, err := loadedNames(strings.NewReader(body))
	if err != nil || strings.Join(names, ",") != "a:1,sha256:abc" {
		t.Fatalf("names = %v, err = %v", names, err)
	}
	_, err = loadedNames(strings.NewReader(`{"errorDetail":{"message":"bad tar"},"error":"bad tar"}`))
	if !errors.Is(err, ErrLoad) {
		t.Fatalf("err = %v, want ErrLoad", err)
	}
}

func TestBuildMountsPrivateCredentialsReadOnly(t *testing.T) {
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	f := &fakeEngine{haveImage: true}
	var checked bool
	f.onStart = func() {
		for _, m := range f.hostConfig.Mounts {
			if m.Target != spec.DockerConfigPath {
				continue
			}
			checked = true
			if !m.ReadOnly {
				t.Error("credentials mounted read-write")
			}
			st, err := os.Stat(m.Source)
			if err != nil || st.Mode().Perm() != 0o600 {
				t.Errorf("config.json mode %v, %v; want 0600", st.Mode(), err)
			}
			dst, err := os.Stat(filepath.Dir(m.Source))
			if err != nil || dst.Mode().Perm() != 0o700 {
				t.Errorf("its directory mode %v, %v; want 0700", dst.Mode(), err)
			}
			if b, _ := os.ReadFile(m.Source); string(b) != `{"auths":{"r":{"auth":"eDp5"}}}` {
				t.Errorf("config.json = %q", b)
			}
		}
	}
	r := &Runner{Engine: f, Stdout: io.Discard, Stderr: io.Discard}
	if _, err := r.Build(context.Background(), Local{Build: testBuild(t), DockerConfig: []byte(`{"auths":{"r":{"auth":"eDp5"}}}`), Network: "none"}); err != nil {
		t.Fatal(err)
	}
	if !checked {
		t.Fatal("no credentials mount")
	}
	if left, _ := os.ReadDir(tmp); len(left) != 0 {
		t.Errorf("left in TMPDIR: %v", left)
	}
}
