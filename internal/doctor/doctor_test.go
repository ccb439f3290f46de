package doctor

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kanikorun/kanikorun/internal/lint"
	prep "github.com/kanikorun/kanikorun/internal/prepare"
	"github.com/kanikorun/kanikorun/internal/spec"
	"github.com/kanikorun/kanikorun/internal/testbed"
	"github.com/kanikorun/kanikorun/runner"
)

// fakeEngine answers the calls doctor makes; any other call panics.
type fakeEngine struct {
	runner.Engine
	volumes []runner.VolumeInfo
}

func (fakeEngine) Info(context.Context) (runner.DaemonDetails, error) {
	return runner.DaemonDetails{Version: "20.10.24", APIVersion: "1.41", OSType: "linux", StorageDriver: "overlay2", RootDir: os.TempDir(), Host: "unix:///var/run/docker.sock"}, nil
}
func (fakeEngine) ImagePresent(context.Context, string) (bool, error) { return true, nil }
func (f fakeEngine) ListVolumes(context.Context, map[string]string) ([]runner.VolumeInfo, error) {
	return f.volumes, nil
}
func (fakeEngine) Close() error { return nil }

func options(t *testing.T, dest, dockerConfig string, eng runner.Engine) Options {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte("FROM scratch\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return Options{
		Prepare: prep.Options{
			Build:        spec.Options{Args: []string{dir}, Destinations: []string{dest}, ExecutorImage: "kanikorun-test/executor:1"},
			Preflight:    lint.Policy{Flavor: "upstream"},
			Mode:         lint.Local,
			DockerConfig: dockerConfig,
		},
		Kubeconfig: filepath.Join(t.TempDir(), "absent"),
		Connect:    func(context.Context) (runner.Engine, error) { return eng, nil },
	}
}

func checkNamed(r *Report, prefix string) (Check, bool) {
	for _, c := range r.Checks {
		if strings.HasPrefix(c.Name, prefix) {
			return c, true
		}
	}
	return Check{}, false
}

func TestDoctorRegistries(t *testing.T) {
	t.Parallel()
	reg := testbed.NewRegistry(t)
	good := t.TempDir()
	if _, err := reg.WriteDockerConfig(good); err != nil {
		t.Fatal(err)
	}
	wrongReg, err := testbed.StartRegistry(reg.Username, "wrong-"+reg.Password)
	if err != nil {
		t.Fatal(err)
	}
	wrongReg.Close()
	wrongReg.Addr = reg.Addr
	wrong := t.TempDir()
	if _, err := wrongReg.WriteDockerConfig(wrong); err != nil {
		t.Fatal(err)
	}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := lis.Addr().String()
	lis.Close()

	tests := []struct {
		name      string
		dest, cfg string
		check     string
		status    Status
		detail    string
	}{
		{"login accepted", reg.Ref("doctor/app:1"), good, "registry ", OK, "login accepted"},
		{"push granted", reg.Ref("doctor/app:1"), good, "push ", OK, "push permission granted"},
		{"login refused", reg.Ref("doctor/app:1"), wrong, "registry ", Failed, "login refused: "},
		{"unreachable", closed + "/app:1", good, "registry ", Failed, "unreachable: "},
		{"credentials from where", reg.Ref("doctor/app:1"), good, "credentials ", OK, "push access, from inline"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			rep, err := Run(context.Background(), options(t, tt.dest, tt.cfg, fakeEngine{}))
			if (tt.status == Failed) != errors.Is(err, ErrChecksFailed) {
				t.Errorf("err = %v", err)
			}
			c, ok := checkNamed(rep, tt.check)
			if !ok || c.Status != tt.status || !strings.Contains(c.Detail, tt.detail) || c.Status == Failed && c.Hint == "" {
				t.Errorf("check %q = %+v, want %s with %q and, failed, a hint", tt.check, c, tt.status, tt.detail)
			}
			var text bytes.Buffer
			rep.WriteText(&text)
			if strings.Contains(text.String(), reg.Password) {
				t.Errorf("the report shows the password:\n%s", text.String())
			}
			if strings.Count(text.String(), "\n") != len(rep.Checks) {
				t.Errorf("want one line per check:\n%s", text.String())
			}
		})
	}
}

func TestDoctorCacheAndKubeconfig(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	kc := filepath.Join(dir, "config")
	if err := os.WriteFile(kc, []byte("apiVersion: v1\nkind: Config\ncurrent-context: dev\ncontexts:\n- name: dev\n  context: {cluster: c1, user: u}\nclusters:\n- name: c1\n  cluster: {server: 'https://127.0.0.1:6443'}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	bad := filepath.Join(dir, "bad")
	if err := os.WriteFile(bad, []byte("current-context: [\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		kubeconfig string
		volumes    []runner.VolumeInfo
		kube       Status
		cache      Status
	}{
		{filepath.Join(dir, "absent"), nil, Skipped, Skipped},
		{kc, []runner.VolumeInfo{{Name: runner.CacheVolume}}, OK, OK},
		{bad, nil, Failed, Skipped},
	} {
		o := options(t, "", "", fakeEngine{volumes: tt.volumes})
		o.Prepare.Build.Destinations = nil
		o.Kubeconfig = tt.kubeconfig
		rep, _ := Run(context.Background(), o)
		k, _ := checkNamed(rep, "kubeconfig")
		c, _ := checkNamed(rep, "cache volume")
		if k.Status != tt.kube || c.Status != tt.cache {
			t.Errorf("%s: kubeconfig %+v, cache %+v; want %s, %s", tt.kubeconfig, k, c, tt.kube, tt.cache)
		}
		if tt.kube == OK && !strings.Contains(k.Detail, "context dev, cluster c1 at https://127.0.0.1:6443") {
			t.Errorf("kubeconfig detail %q", k.Detail)
		}
		d, _ := checkNamed(rep, "free disk")
		if d.Status == Failed && d.Hint == "" {
			t.Errorf("free disk %+v", d)
		}
		var js bytes.Buffer
		if err := rep.WriteJSON(&js); err != nil {
			t.Fatal(err)
		}
		var back Report
		if err := json.Unmarshal(js.Bytes(), &back); err != nil || len(back.Checks) != len(rep.Checks) || back.OK != rep.OK {
			t.Errorf("JSON round trip: %v\n%s", err, js.String())
		}
	}
}

func TestDoctorWithoutDaemon(t *testing.T) {
	t.Parallel()
	o := options(t, "", "", nil)
	o.Prepare.Build.Destinations = nil
	o.Connect = func(context.Context) (runner.Engine, error) { return nil, runner.ErrDaemonUnreachable }
	rep, err := Run(context.Background(), o)
	if !errors.Is(err, ErrChecksFailed) {
		t.Fatalf("err = %v", err)
	}
	if c, _ := checkNamed(rep, "daemon"); c.Status != Failed || c.Hint == "" {
		t.Errorf("daemon check %+v", c)
	}
}

func TestRemoteHost(t *testing.T) {
	t.Parallel()
	for host, want := range map[string]bool{
		"unix:///var/run/docker.sock": false, "npipe:////./pipe/docker_engine": false,
		"tcp://127.0.0.1:2375": false, "tcp://build.example:2376": true, "ssh://me@build.example": true,
	} {
		if got := remoteHost(host); got != want {
			t.Errorf("remoteHost(%q) = %v, want %v", host, got, want)
		}
	}
}
