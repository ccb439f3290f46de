package runner

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kanikorun/kanikorun/internal/plan"
	"github.com/kanikorun/kanikorun/internal/spec"
)

// fakeEngine records calls and plays a scripted container. It is for the
// runner's own logic; docker_test.go tests the Docker implementation.
type fakeEngine struct {
	mu        sync.Mutex
	calls     []string
	haveImage bool
	pullErr   error
	pullAuth  string
	createErr error // returned by every create while the image is there
	runErr    error
	removeErr error
	loadErr   error
	loaded    string // what LoadImage read
	exitCode  int
	block     bool // the container never exits on its own
	stdout    string
	stderr    string
	created   plan.Container
	removed   []string
	onStart   func() // runs when the container starts
}

var _ Engine = (*fakeEngine)(nil)

func (f *fakeEngine) record(s string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, s)
}

func (f *fakeEngine) Ping(context.Context) (DaemonInfo, error) {
	return DaemonInfo{APIVersion: "1.41", OSType: "linux"}, nil
}

func (f *fakeEngine) PullImage(_ context.Context, ref, auth string, progress io.Writer) error {
	f.record("pull")
	f.pullAuth = auth
	if f.pullErr != nil {
		return f.pullErr
	}
	f.haveImage = true
	_, err := fmt.Fprintf(progress, "Pulling from x\nDownloaded newer image for %s\n", ref)
	return err
}

func (f *fakeEngine) LoadImage(_ context.Context, tar io.Reader) ([]string, error) {
	f.record("load")
	b, err := io.ReadAll(tar)
	if err != nil {
		return nil, err
	}
	f.loaded = string(b)
	if f.loadErr != nil {
		return nil, f.loadErr
	}
	return []string{"app:1"}, nil
}

func (f *fakeEngine) ImageID(_ context.Context, ref string) (string, error) {
	f.record("image-id " + ref)
	return "sha256:" + strings.Repeat("1", 64), nil
}

func (f *fakeEngine) CreateContainer(_ context.Context, c plan.Container) (string, error) {
	f.record("create")
	if !f.haveImage {
		return "", fmt.Errorf("%w: No such image: %s", ErrImageNotFound, c.Image)
	}
	if f.createErr != nil {
		return "", f.createErr
	}
	f.created = c
	return "c0ffee", nil
}

func (f *fakeEngine) RunContainer(ctx context.Context, _ string, stdout, stderr io.Writer) (int, error) {
	f.record("run")
	if f.onStart != nil {
		f.onStart()
	}
	if f.runErr != nil {
		return 0, f.runErr
	}
	_, _ = io.WriteString(stdout, f.stdout)
	_, _ = io.WriteString(stderr, f.stderr)
	if f.block {
		<-ctx.Done()
		return 0, ctx.Err()
	}
	return f.exitCode, nil
}

func (f *fakeEngine) RemoveContainer(_ context.Context, id string) error {
	f.record("remove")
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.removeErr != nil {
		return f.removeErr
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
		{PullMissing, true, "create,run,remove", nil},
		{PullMissing, false, "create,pull,create,run,remove", nil},
		{PullAlways, true, "pull,create,run,remove", nil},
		{PullNever, true, "create,run,remove", nil},
		{PullNever, false, "create", ErrImageMissing},
	}
	for _, tt := range tests {
		t.Run(string(tt.policy), func(t *testing.T) {
			t.Parallel()
			f := &fakeEngine{haveImage: tt.haveImage}
			var out bytes.Buffer
			auth := func(image string) string { return "auth-for-" + image }
			r := &Runner{Engine: f, Stdout: &out, Stderr: io.Discard, Pull: tt.policy, RegistryAuth: auth}
			_, err := r.Run(context.Background(), plan.Local(testBuild(t), plan.HostFiles{}, "bridge"))
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			if got := f.callList(); got != tt.wantCalls {
				t.Errorf("calls = %s, want %s", got, tt.wantCalls)
			}
			if strings.Contains(tt.wantCalls, "pull") {
				if !strings.Contains(out.String(), "Downloaded newer image for exec:1") {
					t.Errorf("pull progress not on Stdout: %q", out.String())
				}
				if f.pullAuth != "auth-for-exec:1" {
					t.Errorf("pull auth = %q, want RegistryAuth's answer for the image", f.pullAuth)
				}
			}
		})
	}
}

func TestPullErrorIsOneLine(t *testing.T) {
	t.Parallel()
	f := &fakeEngine{pullErr: errors.New("pull access denied for exec\nrepository does not exist")}
	r := &Runner{Engine: f, Stdout: io.Discard, Stderr: io.Discard}
	_, err := r.Run(context.Background(), plan.Local(testBuild(t), plan.HostFiles{}, "bridge"))
	if !errors.Is(err, ErrPull) || strings.Contains(err.Error(), "\n") || !strings.Contains(err.Error(), "--executor-pull=never") {
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
	if len(f.removed) != 1 || f.removed[0] != "c0ffee" {
		t.Errorf("removed %v, want [c0ffee]", f.removed)
	}
	c := f.created
	if c.Network != "bridge" || !c.NoNewPrivileges || c.Image != "exec:1" {
		t.Errorf("created %+v", c)
	}
	for _, m := range c.AllMounts() {
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

func TestRunLeavesThePlanAlone(t *testing.T) {
	t.Parallel()
	f := &fakeEngine{haveImage: true}
	r := &Runner{Engine: f, Stdout: io.Discard, Stderr: io.Discard}
	c := plan.Local(testBuild(t), plan.HostFiles{}, "bridge")
	if _, err := r.Run(context.Background(), c); err != nil {
		t.Fatal(err)
	}
	if _, ok := c.Labels[spec.ManagedLabel]; ok {
		t.Errorf("the caller's label map gained %s", spec.ManagedLabel)
	}
}

func TestRunErrors(t *testing.T) {
	t.Parallel()
	daemonErr := errors.New("Error response from daemon: network nope not found\nsecond line")
	tests := []struct {
		name  string
		fake  func() Engine
		want  string
		wantW error // must be in the chain
	}{
		{
			name:  "create",
			fake:  func() Engine { return &fakeEngine{haveImage: true, createErr: daemonErr} },
			want:  `creating executor container from "exec:1": Error response from daemon: network nope not found; --network "nope" names no network: use bridge, host, none or one that docker network ls lists`,
			wantW: daemonErr,
		},
		{
			name:  "image still missing after the pull",
			fake:  func() Engine { return &stillMissing{&fakeEngine{}} },
			want:  `creating executor container from "exec:1": image not found in the daemon: No such image: exec:1`,
			wantW: ErrImageNotFound,
		},
		{
			name: "attach",
			fake: func() Engine {
				return &fakeEngine{haveImage: true, runErr: &StepError{Step: StepAttach, Err: daemonErr}}
			},
			want:  `attaching to executor container: Error response from daemon: network nope not found`,
			wantW: daemonErr,
		},
		{
			name: "start",
			fake: func() Engine {
				return &fakeEngine{haveImage: true, runErr: &StepError{Step: StepStart, Err: daemonErr}}
			},
			want:  `starting executor container: Error response from daemon: network nope not found; --network "nope" names no network: use bridge, host, none or one that docker network ls lists`,
			wantW: daemonErr,
		},
		{
			name: "wait",
			fake: func() Engine {
				return &fakeEngine{haveImage: true, runErr: &StepError{Step: StepWait, Err: errors.New("lost")}}
			},
			want: `waiting for executor container: lost`,
		},
		{
			name:  "no step",
			fake:  func() Engine { return &fakeEngine{haveImage: true, runErr: daemonErr} },
			want:  `running executor container: Error response from daemon: network nope not found`,
			wantW: daemonErr,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := &Runner{Engine: tt.fake(), Stdout: io.Discard, Stderr: io.Discard}
			c := plan.Local(testBuild(t), plan.HostFiles{}, "nope")
			_, err := r.Run(context.Background(), c)
			if err == nil || err.Error() != tt.want {
				t.Fatalf("err = %q\nwant  %q", err, tt.want)
			}
			if tt.wantW != nil && !errors.Is(err, tt.wantW) {
				t.Errorf("%v is not in the chain of %q", tt.wantW, err)
			}
		})
	}
}

// stillMissing is an engine whose daemon never has the image, even after
// a pull that succeeded.
type stillMissing struct{ *fakeEngine }

func (s *stillMissing) CreateContainer(ctx context.Context, c plan.Container) (string, error) {
	s.record("create")
	return "", fmt.Errorf("%w: No such image: %s", ErrImageNotFound, c.Image)
}

func TestRunReportsAFailedRemoval(t *testing.T) {
	t.Parallel()
	f := &fakeEngine{haveImage: true, removeErr: errors.New("device busy\ndetails")}
	var errOut bytes.Buffer
	r := &Runner{Engine: f, Stdout: io.Discard, Stderr: &errOut}
	if _, err := r.Run(context.Background(), plan.Local(testBuild(t), plan.HostFiles{}, "bridge")); err != nil {
		t.Fatal(err)
	}
	want := "kanikorun: could not remove container c0ffee: device busy; remove it with: docker rm -f c0ffee\n"
	if errOut.String() != want {
		t.Errorf("stderr = %q, want %q", errOut.String(), want)
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

func TestRunTimeoutRemovesContainer(t *testing.T) {
	t.Parallel()
	f := &fakeEngine{haveImage: true, block: true}
	r := &Runner{Engine: f, Stdout: io.Discard, Stderr: io.Discard, Timeout: 20 * time.Millisecond}
	_, err := r.Run(context.Background(), plan.Local(testBuild(t), plan.HostFiles{}, "bridge"))
	if !errors.Is(err, ErrTimeout) || !strings.Contains(err.Error(), "after 20ms; raise --timeout") {
		t.Fatalf("err = %v, want ErrTimeout with a hint", err)
	}
	if len(f.removed) != 1 {
		t.Errorf("container removed %d times, want 1", len(f.removed))
	}
}

func TestLoad(t *testing.T) {
	t.Parallel()
	tarPath := filepath.Join(t.TempDir(), "image.tar")
	if err := os.WriteFile(tarPath, []byte("tar bytes"), 0o644); err != nil {
		t.Fatal(err)
	}
	f := &fakeEngine{}
	r := &Runner{Engine: f, Stdout: io.Discard, Stderr: io.Discard}
	names, err := r.Load(context.Background(), tarPath)
	if err != nil || strings.Join(names, ",") != "app:1" || f.loaded != "tar bytes" {
		t.Fatalf("names = %v, err = %v, engine read %q", names, err, f.loaded)
	}

	refused := errors.New("unexpected EOF\nin layer 3")
	f = &fakeEngine{loadErr: refused}
	r.Engine = f
	_, err = r.Load(context.Background(), tarPath)
	if !errors.Is(err, ErrLoad) || !errors.Is(err, refused) || err.Error() != "loading image into the daemon failed: unexpected EOF" {
		t.Fatalf("err = %q, want one line wrapping ErrLoad and the daemon's error", err)
	}

	_, err = r.Load(context.Background(), filepath.Join(t.TempDir(), "missing.tar"))
	if !errors.Is(err, ErrLoad) || !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("err = %v, want ErrLoad wrapping the open error", err)
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
		exitCode int
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

func TestBuildMountsPrivateCredentialsReadOnly(t *testing.T) {
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	f := &fakeEngine{haveImage: true}
	var checked bool
	f.onStart = func() {
		for _, m := range f.created.AllMounts() {
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
