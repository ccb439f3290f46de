package main

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/kanikorun/kanikorun/internal/testbed"
)

// useDockerConfig points the default keychain at a config.json holding the
// given credentials for reg, as DOCKER_CONFIG=/kaniko/.docker/ does in the
// image. Tests using it cannot run in parallel (t.Setenv).
func useDockerConfig(t *testing.T, reg *testbed.Registry, user, password string) {
	t.Helper()
	dir := t.TempDir()
	creds := &testbed.Registry{Addr: reg.Addr, Username: user, Password: password}
	if _, err := creds.WriteDockerConfig(dir); err != nil {
		t.Fatal(err)
	}
	t.Setenv("HOME", t.TempDir())
	t.Setenv("DOCKER_CONFIG", dir)
}

func TestBuildFromRegistryAndPush(t *testing.T) {
	ctx := context.Background()
	reg := testbed.NewRegistry(t)
	useDockerConfig(t, reg, reg.Username, reg.Password)
	base, err := reg.PushBase(ctx, "base:1", map[string]string{"etc/base.txt": "base", "bin/sh": "#!"}, []string{"BASE=1"}, map[string]string{"base": "yes"})
	if err != nil {
		t.Fatal(err)
	}
	ctxDir := writeContext(t, map[string]string{
		"Dockerfile": "FROM " + base + "\nCOPY a /a\nRUN echo built\nLABEL own=1\n",
		"a":          "A",
	})
	out := t.TempDir()
	digestFile, nameFile := filepath.Join(out, "digest"), filepath.Join(out, "names")
	r := runStandIn(t, "-c", ctxDir, "-d", reg.Addr+"/app:1", "-d", reg.Addr+"/app:2",
		"--digest-file="+digestFile, "--image-name-with-digest-file="+nameFile)
	if r.code != 0 {
		t.Fatalf("exit %d:\n%s", r.code, r.stderr)
	}
	for _, want := range []string{"Retrieving image manifest " + base, "Pushing image to " + reg.Addr + "/app:1", "Pushed " + reg.Addr + "/app@sha256:"} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("log lacks %q:\n%s", want, r.stderr)
		}
	}
	if r.stdout != "built\n" {
		t.Errorf("stdout = %q, want the RUN echo output", r.stdout)
	}
	digest, err := os.ReadFile(digestFile)
	if err != nil {
		t.Fatal(err)
	}
	for _, tag := range []string{"app:1", "app:2"} {
		img, err := reg.Image(tag)
		if err != nil {
			t.Fatal(err)
		}
		d, err := img.Digest()
		if err != nil {
			t.Fatal(err)
		}
		if d.String() != string(digest) {
			t.Errorf("%s has digest %s, digest file says %s", tag, d, digest)
		}
		files, err := testbed.Files(img)
		if err != nil {
			t.Fatal(err)
		}
		if want := map[string]string{"etc/base.txt": "base", "bin/sh": "#!", "a": "A"}; !reflect.DeepEqual(files, want) {
			t.Errorf("files = %v, want %v", files, want)
		}
		cf, err := img.ConfigFile()
		if err != nil {
			t.Fatal(err)
		}
		if want := map[string]string{"base": "yes", "own": "1"}; !reflect.DeepEqual(cf.Config.Labels, want) {
			t.Errorf("labels = %v, want %v", cf.Config.Labels, want)
		}
		if !contains(cf.Config.Env, "BASE=1") {
			t.Errorf("env %q lost the base image's BASE=1", cf.Config.Env)
		}
	}
	names, err := os.ReadFile(nameFile)
	if err != nil {
		t.Fatal(err)
	}
	if want := strings.Repeat(reg.Addr+"/app@"+string(digest)+"\n", 2); string(names) != want {
		t.Errorf("image-name-with-digest file = %q, want %q", names, want)
	}
}

func TestPushPermission(t *testing.T) {
	reg := testbed.NewRegistry(t)
	ctxDir := writeContext(t, map[string]string{"Dockerfile": "FROM scratch\nCOPY a /a\n", "a": "A"})
	dest := reg.Addr + "/denied:1"
	tests := []struct {
		name       string
		user, pass string
		extra      []string
		wantStderr string
		wantBuild  bool
	}{
		{"wrong password", reg.Username, "wrong", nil,
			`error checking push permissions -- make sure you entered the correct tag name, and that you are authenticated correctly, and try again: checking push permission for "` + dest + `": `, false},
		{"no credentials", "", "", nil, "UNAUTHORIZED: authentication required", false},
		{"check skipped", reg.Username, "wrong", []string{"--skip-push-permission-check"}, "error pushing image: failed to push to destination " + dest, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.user == "" {
				t.Setenv("HOME", t.TempDir())
				t.Setenv("DOCKER_CONFIG", t.TempDir())
			} else {
				useDockerConfig(t, reg, tc.user, tc.pass)
			}
			before := len(reg.Requests())
			r := runStandIn(t, append([]string{"-c", ctxDir, "-d", dest}, tc.extra...)...)
			if r.code != 1 {
				t.Fatalf("exit %d, want 1:\n%s", r.code, r.stderr)
			}
			if !strings.Contains(r.stderr, tc.wantStderr) {
				t.Errorf("stderr lacks %q:\n%s", tc.wantStderr, r.stderr)
			}
			if built := strings.Contains(r.stderr, "Building stage"); built != tc.wantBuild {
				t.Errorf("build started = %v, want %v:\n%s", built, tc.wantBuild, r.stderr)
			}
			for _, q := range reg.Requests()[before:] {
				if q.Status != http.StatusUnauthorized {
					t.Errorf("request %s %s answered %d without valid credentials", q.Method, q.Path, q.Status)
				}
			}
		})
	}
}

func TestRegistryMirrorAndMap(t *testing.T) {
	ctx := context.Background()
	reg := testbed.NewRegistry(t)
	useDockerConfig(t, reg, reg.Username, reg.Password)
	if _, err := reg.PushBase(ctx, "library/alpine:3", map[string]string{"etc/alpine-release": "3"}, nil, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := reg.PushBase(ctx, "prefix/library/alpine:3", map[string]string{"etc/prefixed": "yes"}, nil, nil); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name      string
		args      []string
		wantCode  int
		wantFile  string
		wantError string
	}{
		{"mirror", []string{"--registry-mirror=" + reg.Addr}, 0, "etc/alpine-release", ""},
		{"mirror with a path prefix", []string{"--registry-mirror=" + reg.Addr + "/prefix"}, 0, "etc/prefixed", ""},
		{"map", []string{"--registry-map=index.docker.io=" + reg.Addr}, 0, "etc/alpine-release", ""},
		{"missing on the mirror without fallback", []string{"--registry-mirror=" + reg.Addr + "/nothing", "--skip-default-registry-fallback"}, 1, "", "image not found on any configured mirror(s)"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			img, r := build(t, map[string]string{"Dockerfile": "FROM alpine:3\n"}, tc.args...)
			if r.code != tc.wantCode {
				t.Fatalf("exit %d, want %d:\n%s", r.code, tc.wantCode, r.stderr)
			}
			if !strings.Contains(r.stderr, tc.wantError) {
				t.Errorf("stderr lacks %q:\n%s", tc.wantError, r.stderr)
			}
			if img == nil {
				return
			}
			files, err := testbed.Files(img)
			if err != nil {
				t.Fatal(err)
			}
			if _, ok := files[tc.wantFile]; !ok || len(files) != 1 {
				t.Errorf("files = %v, want only %s", files, tc.wantFile)
			}
		})
	}
}
