package testbed

import (
	"context"
	"errors"
	"net/http"
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/docker/cli/cli/config"
	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

func TestRegistryRequiresBasicAuth(t *testing.T) {
	t.Parallel()
	reg := NewRegistry(t)
	tests := []struct {
		name       string
		user, pass string
		path       string
		want       int
	}{
		{"ping without credentials", "", "", "/v2/", http.StatusUnauthorized},
		{"ping with a wrong password", reg.Username, "nope", "/v2/", http.StatusUnauthorized},
		{"ping with a wrong user", "other", reg.Password, "/v2/", http.StatusUnauthorized},
		{"ping with the credentials", reg.Username, reg.Password, "/v2/", http.StatusOK},
		{"manifest without credentials", "", "", "/v2/app/manifests/latest", http.StatusUnauthorized},
		{"manifest with the credentials", reg.Username, reg.Password, "/v2/app/manifests/latest", http.StatusNotFound},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			req, err := http.NewRequest(http.MethodGet, "http://"+reg.Addr+tc.path, nil)
			if err != nil {
				t.Fatal(err)
			}
			if tc.user != "" {
				req.SetBasicAuth(tc.user, tc.pass)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tc.want {
				t.Errorf("status %d, want %d", resp.StatusCode, tc.want)
			}
			if got := resp.Header.Get("WWW-Authenticate"); (tc.want == http.StatusUnauthorized) != strings.HasPrefix(got, "Basic realm=") {
				t.Errorf("WWW-Authenticate = %q for status %d", got, resp.StatusCode)
			}
		})
	}
	if !strings.HasPrefix(reg.Addr, "127.0.0.1:") {
		t.Errorf("Addr = %q, want 127.0.0.1:PORT", reg.Addr)
	}
}

func TestAnonymousRegistry(t *testing.T) {
	t.Parallel()
	reg, err := StartRegistry("", "")
	if err != nil {
		t.Fatal(err)
	}
	defer reg.Close()
	if _, err := reg.PushBase(context.Background(), "anon", map[string]string{"f": "x"}, nil, nil); err != nil {
		t.Fatal(err)
	}
	for _, q := range reg.Requests() {
		if q.Status == http.StatusUnauthorized {
			t.Errorf("%s %s answered 401 on a registry without credentials", q.Method, q.Path)
		}
	}
}

func TestPushBaseRoundTrip(t *testing.T) {
	t.Parallel()
	reg := NewRegistry(t)
	files := map[string]string{"bin/sh": "#!", "etc/deep/dir/f.txt": "content", "/abs.txt": "abs"}
	ref, err := reg.PushBase(context.Background(), "team/base:7", files, []string{"A=1"}, map[string]string{"l": "v"})
	if err != nil {
		t.Fatal(err)
	}
	if want := reg.Addr + "/team/base:7"; ref != want {
		t.Errorf("ref = %q, want %q", ref, want)
	}
	img, err := reg.Image("team/base:7")
	if err != nil {
		t.Fatal(err)
	}
	got, err := Files(img)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"bin/sh": "#!", "etc/deep/dir/f.txt": "content", "abs.txt": "abs"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Files = %v, want %v", got, want)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(cf.Config.Env, []string{"A=1"}) || cf.Config.Labels["l"] != "v" {
		t.Errorf("config env %q labels %v", cf.Config.Env, cf.Config.Labels)
	}
	var pushed bool
	for _, q := range reg.Requests() {
		if q.Method == http.MethodPut && strings.Contains(q.Path, "/manifests/") {
			pushed = q.User == reg.Username && q.Status == http.StatusCreated
		}
	}
	if !pushed {
		t.Errorf("no authenticated manifest PUT among %v", reg.Requests())
	}
	if reg.Unauthorized() == 0 {
		t.Errorf("the client never met the 401 challenge; is auth enforced?")
	}
}

// Not parallel: it points the default keychain at the written config.
func TestWriteDockerConfigFeedsTheKeychain(t *testing.T) {
	reg := NewRegistry(t)
	dir := t.TempDir()
	p, err := reg.WriteDockerConfig(dir)
	if err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Errorf("config.json mode %v, want 0600", st.Mode().Perm())
	}
	cf, err := config.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	ac, err := cf.GetAuthConfig(reg.Addr)
	if err != nil {
		t.Fatal(err)
	}
	if ac.Username != reg.Username || ac.Password != reg.Password {
		t.Errorf("docker/cli reads user %q, password match %v", ac.Username, ac.Password == reg.Password)
	}
	t.Setenv("HOME", t.TempDir())
	t.Setenv("DOCKER_CONFIG", dir)
	ref, err := name.NewTag(reg.Addr + "/app:1")
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.CheckPushPermission(ref, authn.DefaultKeychain, http.DefaultTransport); err != nil {
		t.Errorf("push permission with the written config: %v", err)
	}
	bad := &Registry{Addr: reg.Addr, Username: reg.Username, Password: "wrong"}
	if _, err := bad.WriteDockerConfig(dir); err != nil {
		t.Fatal(err)
	}
	if err := remote.CheckPushPermission(ref, authn.DefaultKeychain, http.DefaultTransport); err == nil {
		t.Error("push permission granted with a wrong password")
	}
}

func TestParseArgv(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		log     string
		want    []string
		wantErr error
	}{
		{"first line", "INFO[0000] kanikorun-standin argv: [\"--context=dir:///workspace/\",\"-d\",\"a b\"]\nINFO[0000] next\n",
			[]string{"--context=dir:///workspace/", "-d", "a b"}, nil},
		{"after other output and with CRLF", "hello\r\nINFO[0000] kanikorun-standin argv: [\"--no-push\"]\r\n", []string{"--no-push"}, nil},
		{"coloured", "\x1b[36mINFO\x1b[0m[0000] kanikorun-standin argv: [\"x\"]\n", []string{"x"}, nil},
		{"empty argv", "INFO[0000] kanikorun-standin argv: []\n", []string{}, nil},
		{"absent", "INFO[0000] Retrieving image manifest alpine\n", nil, ErrNoArgv},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := ParseArgv(tc.log)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("error %v, want %v", err, tc.wantErr)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("ParseArgv = %q, want %q", got, tc.want)
			}
		})
	}
	if _, err := ParseArgv("INFO[0000] kanikorun-standin argv: [broken\n"); err == nil || errors.Is(err, ErrNoArgv) {
		t.Errorf("malformed argv: error %v, want a decoding error", err)
	}
}
