package creds

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/kanikorun/kanikorun/internal/dockerfile"
	"github.com/kanikorun/kanikorun/internal/spec"
)

const digest = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

func TestDockerfileImages(t *testing.T) {
	t.Parallel()
	type img struct{ registry, use, ref string }
	tests := []struct {
		name       string
		dockerfile string
		buildArgs  []string
		target     string
		want       []img
		wantErr    string
	}{
		{
			name:       "bare name is Docker Hub",
			dockerfile: "FROM alpine\n",
			want:       []img{{"index.docker.io", UseFrom, "alpine"}},
		},
		{
			name: "multi-stage skips stage names, case-insensitively",
			dockerfile: "FROM golang:1.22 AS Build\n" +
				"RUN go build ./...\n" +
				"FROM build AS test\n" +
				"FROM gcr.io/distroless/static:nonroot\n" +
				"COPY --from=BUILD /out /app\n" +
				"COPY --from=test /x /x\n",
			want: []img{
				{"index.docker.io", UseFrom, "golang:1.22"},
				{"gcr.io", UseFrom, "gcr.io/distroless/static:nonroot"},
			},
		},
		{
			name:       "a stage name used before it is defined is an image",
			dockerfile: "FROM base\nFROM alpine AS base\n",
			want: []img{
				{"index.docker.io", UseFrom, "base"},
				{"index.docker.io", UseFrom, "alpine"},
			},
		},
		{
			name:       "scratch pulls nothing",
			dockerfile: "FROM scratch\nCOPY app /app\n",
			want:       nil,
		},
		{
			name: "global ARG defaults, nested",
			dockerfile: "ARG REG=ghcr.io\n" +
				"ARG IMG=${REG}/org/base:1\n" +
				"FROM $IMG\n",
			want: []img{{"ghcr.io", UseFrom, "ghcr.io/org/base:1"}},
		},
		{
			name: "build arg overrides a default and feeds later defaults",
			dockerfile: "ARG REG=ghcr.io\n" +
				"ARG IMG=${REG}/org/base:1\n" +
				"FROM ${IMG}\n",
			buildArgs: []string{"REG=quay.io"},
			want:      []img{{"quay.io", UseFrom, "quay.io/org/base:1"}},
		},
		{
			name:       "build arg fills an ARG without default",
			dockerfile: "ARG BASE\nFROM ${BASE}\n",
			buildArgs:  []string{"BASE=localhost:5000/team/base:dev"},
			want:       []img{{"localhost:5000", UseFrom, "localhost:5000/team/base:dev"}},
		},
		{
			name:       "empty build arg keeps the default, as kaniko does",
			dockerfile: "ARG V=3.19\nFROM alpine:$V\n",
			buildArgs:  []string{"V="},
			want:       []img{{"index.docker.io", UseFrom, "alpine:3.19"}},
		},
		{
			name:       "kaniko substitutes undeclared build args in FROM",
			dockerfile: "FROM ${BASE:-alpine}\n",
			buildArgs:  []string{"BASE=quay.io/x/y"},
			want:       []img{{"quay.io", UseFrom, "quay.io/x/y"}},
		},
		{
			name:       "shell default when unset",
			dockerfile: "FROM ${BASE:-registry.example.com/base}\n",
			want:       []img{{"registry.example.com", UseFrom, "registry.example.com/base"}},
		},
		{
			name:       "quoted ARG default",
			dockerfile: "ARG IMG=\"quay.io/q/img:2\"\nFROM $IMG\n",
			want:       []img{{"quay.io", UseFrom, "quay.io/q/img:2"}},
		},
		{
			name: "digests",
			dockerfile: "FROM alpine@" + digest + "\n" +
				"FROM ghcr.io/o/i:1@" + digest + "\n",
			want: []img{
				{"index.docker.io", UseFrom, "alpine@" + digest},
				{"ghcr.io", UseFrom, "ghcr.io/o/i:1@" + digest},
			},
		},
		{
			name: "ports and localhost",
			dockerfile: "FROM registry.example.com:5443/team/img:tag\n" +
				"FROM localhost/img\n" +
				"FROM localhost:5000/img\n" +
				"FROM 127.0.0.1:5000/a/b\n" +
				"FROM [::1]:5000/v6\n",
			want: []img{
				{"registry.example.com:5443", UseFrom, "registry.example.com:5443/team/img:tag"},
				{"localhost", UseFrom, "localhost/img"},
				{"localhost:5000", UseFrom, "localhost:5000/img"},
				{"127.0.0.1:5000", UseFrom, "127.0.0.1:5000/a/b"},
				{"[::1]:5000", UseFrom, "[::1]:5000/v6"},
			},
		},
		{
			name: "FROM --platform is ignored",
			dockerfile: "FROM --platform=$BUILDPLATFORM golang AS build\n" +
				"FROM --platform=linux/arm64 quay.io/arm/base\n",
			want: []img{
				{"index.docker.io", UseFrom, "golang"},
				{"quay.io", UseFrom, "quay.io/arm/base"},
			},
		},
		{
			name: "COPY --from an image, a stage index, a stage name",
			dockerfile: "FROM alpine AS one\n" +
				"FROM busybox\n" +
				"COPY --from=0 /a /a\n" +
				"COPY --from=one /b /b\n" +
				"COPY --from=nginx:1.27 /etc/nginx /etc/nginx\n" +
				"COPY --from=quay.io/x/tools:1 /bin/t /bin/t\n",
			want: []img{
				{"index.docker.io", UseFrom, "alpine"},
				{"index.docker.io", UseFrom, "busybox"},
				{"index.docker.io", UseCopyFrom, "nginx:1.27"},
				{"quay.io", UseCopyFrom, "quay.io/x/tools:1"},
			},
		},
		{
			name:       "COPY --from with an ARG",
			dockerfile: "ARG TOOLS=ghcr.io/t/tools\nFROM alpine\nCOPY --from=${TOOLS} /t /t\n",
			want: []img{
				{"index.docker.io", UseFrom, "alpine"},
				{"ghcr.io", UseCopyFrom, "ghcr.io/t/tools"},
			},
		},
		{
			name:       "stages after the target are not built",
			dockerfile: "FROM alpine AS a\nFROM quay.io/b/b AS b\n",
			target:     "A",
			want:       []img{{"index.docker.io", UseFrom, "alpine"}},
		},
		{
			name: "Docker Hub spellings",
			dockerfile: "FROM docker.io/library/alpine\n" +
				"FROM index.docker.io/library/busybox\n" +
				"FROM registry-1.docker.io/library/debian\n",
			want: []img{
				{"index.docker.io", UseFrom, "docker.io/library/alpine"},
				{"index.docker.io", UseFrom, "index.docker.io/library/busybox"},
				{"registry-1.docker.io", UseFrom, "registry-1.docker.io/library/debian"},
			},
		},
		{
			name:       "escape directive",
			dockerfile: "# escape=`\nARG R=quay.io\nFROM ${R}/w/img\nRUN dir c:\\ `\n  && echo\n",
			want:       []img{{"quay.io", UseFrom, "quay.io/w/img"}},
		},
		{
			name:       "unset ARG leaves no image name",
			dockerfile: "ARG BASE\nFROM ${BASE}\n",
			wantErr:    "line 2: FROM \"\" is not an image reference",
		},
		{
			name:       "not a Dockerfile",
			dockerfile: "RUN echo before any FROM\n",
			wantErr:    "parsing",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := dockerfileImages(dockerfile.Parse("", []byte(tt.dockerfile)), tt.buildArgs, tt.target)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error = %v, want it to contain %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var gotImgs []img
			for _, g := range got {
				gotImgs = append(gotImgs, img{g.registry, g.use, g.ref})
			}
			if !reflect.DeepEqual(gotImgs, tt.want) {
				t.Errorf("images:\n got %q\nwant %q", gotImgs, tt.want)
			}
		})
	}
}

func TestRegistries(t *testing.T) {
	t.Parallel()
	const generated = "kanikorun.local/app:abc123"
	tests := []struct {
		name       string
		dockerfile string
		build      spec.Build
		want       []Registry
	}{
		{
			name:       "destinations push, base images pull",
			dockerfile: "FROM alpine\n",
			build:      spec.Build{Destinations: []string{"ghcr.io/me/app:1", "127.0.0.1:5000/app:1"}},
			want: []Registry{
				{Host: "127.0.0.1:5000", Push: true, Uses: []string{UseDestination}},
				{Host: "ghcr.io", Push: true, Uses: []string{UseDestination}},
				{Host: "index.docker.io", Uses: []string{UseFrom}},
			},
		},
		{
			name:       "a registry both pushed to and pulled from is one push entry",
			dockerfile: "FROM ghcr.io/me/base:1\n",
			build:      spec.Build{Destinations: []string{"ghcr.io/me/app:1"}},
			want: []Registry{
				{Host: "ghcr.io", Push: true, Uses: []string{UseDestination, UseFrom}},
			},
		},
		{
			name:       "generated destination needs nothing",
			dockerfile: "FROM scratch\n",
			build:      spec.Build{GeneratedDestination: generated},
			want:       []Registry{},
		},
		{
			name:       "--no-push touches no destination",
			dockerfile: "FROM scratch\n",
			build:      spec.Build{Destinations: []string{"ghcr.io/me/app:1"}, NoPush: true},
			want:       []Registry{},
		},
		{
			name:       "--no-push passed through ExtraArgs",
			dockerfile: "FROM scratch\n",
			build:      spec.Build{Destinations: []string{"ghcr.io/me/app:1"}, ExtraArgs: []string{"--no-push"}},
			want:       []Registry{},
		},
		{
			name:       "--cache defaults to the first destination's registry",
			dockerfile: "FROM scratch\n",
			build:      spec.Build{Destinations: []string{"quay.io/me/app:1", "ghcr.io/me/app:1"}, ExtraArgs: []string{"--cache=true"}},
			want: []Registry{
				{Host: "ghcr.io", Push: true, Uses: []string{UseDestination}},
				{Host: "quay.io", Push: true, Uses: []string{UseDestination, UseCache}},
			},
		},
		{
			name:       "--cache-repo as a separate argument",
			dockerfile: "FROM scratch\n",
			build:      spec.Build{Destinations: []string{"quay.io/me/app:1"}, ExtraArgs: []string{"--cache", "--cache-repo", "registry.example.com:5443/cache"}},
			want: []Registry{
				{Host: "quay.io", Push: true, Uses: []string{UseDestination}},
				{Host: "registry.example.com:5443", Push: true, Uses: []string{UseCache}},
			},
		},
		{
			name:       "--cache-repo without --cache is unused",
			dockerfile: "FROM scratch\n",
			build:      spec.Build{Destinations: []string{"quay.io/me/app:1"}, ExtraArgs: []string{"--cache-repo=registry.example.com/cache"}},
			want: []Registry{
				{Host: "quay.io", Push: true, Uses: []string{UseDestination}},
			},
		},
		{
			name:       "an oci: cache is local",
			dockerfile: "FROM scratch\n",
			build:      spec.Build{GeneratedDestination: generated, NoPush: true, ExtraArgs: []string{"--cache=true", "--cache-repo=oci:/cache/layers"}},
			want:       []Registry{},
		},
		{
			name:       "--no-push-cache only pulls the cache",
			dockerfile: "FROM scratch\n",
			build:      spec.Build{NoPush: true, ExtraArgs: []string{"--cache=true", "--cache-repo=registry.example.com/cache", "--no-push-cache"}},
			want: []Registry{
				{Host: "registry.example.com", Uses: []string{UseCache}},
			},
		},
		{
			name:       "the generated destination is no cache",
			dockerfile: "FROM scratch\n",
			build:      spec.Build{GeneratedDestination: generated, ExtraArgs: []string{"--cache=true"}},
			want:       []Registry{},
		},
		{
			name:       "mirrors, registry maps and insecure registries are pulled from",
			dockerfile: "FROM scratch\n",
			build: spec.Build{
				Registry: spec.RegistryOptions{
					Mirrors:  []string{"https://mirror.gcr.io", "mirror.example.com/dockerhub"},
					Insecure: []string{"localhost:5000"},
				},
				ExtraArgs: []string{
					"--registry-map=index.docker.io=hub.example.com;quay.io=q1.example.com,q2.example.com",
					"--skip-tls-verify-registry", "self.example.com:8443",
					"--insecure-registry=docker.io",
				},
			},
			want: []Registry{
				{Host: "hub.example.com", Uses: []string{UseMirror}},
				{Host: "index.docker.io", Uses: []string{UseInsecure}},
				{Host: "localhost:5000", Uses: []string{UseInsecure}},
				{Host: "mirror.example.com", Uses: []string{UseMirror}},
				{Host: "mirror.gcr.io", Uses: []string{UseMirror}},
				{Host: "q1.example.com", Uses: []string{UseMirror}},
				{Host: "q2.example.com", Uses: []string{UseMirror}},
				{Host: "self.example.com:8443", Uses: []string{UseInsecure}},
			},
		},
		{
			name:       "destinations and build args in ExtraArgs count",
			dockerfile: "ARG BASE=alpine\nFROM $BASE\n",
			build: spec.Build{
				Destinations: []string{"quay.io/me/app:1"},
				BuildArgs:    []string{"BASE=ghcr.io/a/b"},
				ExtraArgs:    []string{"-d", "registry.example.com/me/app:1", "--build-arg=BASE=localhost:5000/base", "--reproducible", "--verbosity", "debug"},
			},
			want: []Registry{
				{Host: "localhost:5000", Uses: []string{UseFrom}},
				{Host: "quay.io", Push: true, Uses: []string{UseDestination}},
				{Host: "registry.example.com", Push: true, Uses: []string{UseDestination}},
			},
		},
		{
			name:       "--target from the build",
			dockerfile: "FROM alpine AS base\nFROM quay.io/x/y AS later\n",
			build:      spec.Build{Target: "base", NoPush: true},
			want: []Registry{
				{Host: "index.docker.io", Uses: []string{UseFrom}},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := tt.build
			b.Context = t.TempDir()
			b.Dockerfile = filepath.Join(b.Context, "Dockerfile")
			if err := os.WriteFile(b.Dockerfile, []byte(tt.dockerfile), 0o644); err != nil {
				t.Fatal(err)
			}
			got, err := buildRegistries(&b)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("registries:\n got %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func TestRegistriesErrors(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	bad := filepath.Join(dir, "Dockerfile")
	if err := os.WriteFile(bad, []byte("FROM ${NOPE}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	good := filepath.Join(dir, "Dockerfile.good")
	if err := os.WriteFile(good, []byte("FROM alpine\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		build   spec.Build
		wantIs  error
		wantSub string
	}{
		{"missing Dockerfile", spec.Build{Context: dir, Dockerfile: filepath.Join(dir, "nope")}, ErrDockerfile, "nope"},
		{"empty FROM", spec.Build{Context: dir, Dockerfile: bad}, ErrDockerfile, "line 1"},
		{"bad mirror", spec.Build{Context: dir, Dockerfile: good, Registry: spec.RegistryOptions{Mirrors: []string{"bad host!"}}}, nil, "--registry-mirror"},
		{"bad cache repo", spec.Build{Context: dir, Dockerfile: good, ExtraArgs: []string{"--cache", "--cache-repo=UPPER/case"}}, nil, "cache repository"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := buildRegistries(&tt.build)
			if err == nil {
				t.Fatal("no error")
			}
			if tt.wantIs != nil && !errors.Is(err, tt.wantIs) {
				t.Errorf("error %v is not %v", err, tt.wantIs)
			}
			if !strings.Contains(err.Error(), tt.wantSub) {
				t.Errorf("error %q does not mention %q", err, tt.wantSub)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("error is not one line: %q", err)
			}
		})
	}
}

func TestRegistryKey(t *testing.T) {
	t.Parallel()
	tests := []struct{ ref, host, key string }{
		{"alpine", "index.docker.io", "https://index.docker.io/v1/"},
		{"docker.io/library/alpine", "index.docker.io", "https://index.docker.io/v1/"},
		{"index.docker.io/library/alpine", "index.docker.io", "https://index.docker.io/v1/"},
		{"registry-1.docker.io/library/alpine", "registry-1.docker.io", "registry-1.docker.io"},
		{"ghcr.io/o/r:1", "ghcr.io", "ghcr.io"},
		{"localhost:5000/x", "localhost:5000", "localhost:5000"},
	}
	for _, tt := range tests {
		r, err := RegistryOf(tt.ref, false, UseFrom)
		if err != nil {
			t.Fatal(err)
		}
		if r.Host != tt.host || r.Key() != tt.key {
			t.Errorf("RegistryOf(%q) = host %q key %q, want %q %q", tt.ref, r.Host, r.Key(), tt.host, tt.key)
		}
	}
}

// BenchmarkRegistries measures the work done before any container starts:
// parsing the Dockerfile and the executor's flags.
func BenchmarkRegistries(b *testing.B) {
	dir := b.TempDir()
	df := filepath.Join(dir, "Dockerfile")
	var sb strings.Builder
	sb.WriteString("ARG REG=ghcr.io\nARG TAG=1\n")
	for i := 0; i < 20; i++ {
		sb.WriteString("FROM ${REG}/org/base-" + strconv.Itoa(i) + ":${TAG} AS s" + strconv.Itoa(i) + "\nRUN echo\nCOPY --from=alpine /etc/os-release /x\n")
	}
	if err := os.WriteFile(df, []byte(sb.String()), 0o644); err != nil {
		b.Fatal(err)
	}
	build := &spec.Build{Context: dir, Dockerfile: df, Destinations: []string{"quay.io/me/app:1"}, ExtraArgs: []string{"--cache=true"}}
	for b.Loop() {
		if _, err := buildRegistries(build); err != nil {
			b.Fatal(err)
		}
	}
}

func TestArgRegistries(t *testing.T) {
	t.Parallel()
	f, err := spec.ParseExecutorArgs([]string{
		"--context=/workspace/my-build", "-d", "127.0.0.1:5000/app:1",
		"--registry-mirror=mirror.example.com", "--insecure-registry", "localhost:6000",
		"--cache=true", "--unknown-flag-kaniko-may-add",
	})
	if err != nil {
		t.Fatal(err)
	}
	regs, err := Registries(f, nil, "")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range regs {
		got = append(got, r.Host+" "+r.Access()+" "+strings.Join(r.Uses, ","))
	}
	want := []string{
		"127.0.0.1:5000 push destination,cache",
		"localhost:6000 pull insecure",
		"mirror.example.com pull mirror",
	}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("ArgRegistries = %q, want %q", got, want)
	}
}

// buildRegistries is what preparing b computes: the registries of the
// executor flags b renders and of its Dockerfile, parsed once.
func buildRegistries(b *spec.Build) ([]Registry, error) {
	f, err := spec.ParseExecutorArgs(b.Args(spec.Layout{ContextDir: spec.WorkspaceDir, Dockerfile: spec.WorkspaceDir + "/Dockerfile"}))
	if err != nil {
		return nil, err
	}
	df, err := dockerfile.Read(b.Dockerfile)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrDockerfile, err)
	}
	return Registries(f, df, b.GeneratedDestination)
}
