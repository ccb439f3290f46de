package kube

import (
	"errors"
	"slices"
	"testing"

	"github.com/kanikorun/kanikorun/internal/plan"
	"github.com/kanikorun/kanikorun/internal/spec"
)

func TestPodLayout(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, context, dockerfile, wp string
		want                          spec.Layout
		err                           error
	}{
		{name: "default path is the context's base name", context: "/home/dev/src/my-build", dockerfile: "/home/dev/src/my-build/Dockerfile",
			want: spec.Layout{ContextDir: "/workspace/my-build", Dockerfile: "/workspace/my-build/Dockerfile", DigestFile: spec.TerminationLog}},
		{name: "trailing slash on the context", context: "/home/dev/src/my-build/", dockerfile: "/home/dev/src/my-build/Dockerfile",
			want: spec.Layout{ContextDir: "/workspace/my-build", Dockerfile: "/workspace/my-build/Dockerfile", DigestFile: spec.TerminationLog}},
		{name: "nested workspace path and Dockerfile", context: "/src/app", dockerfile: "/src/app/build/Dockerfile.ci", wp: "teams/a/app",
			want: spec.Layout{ContextDir: "/workspace/teams/a/app", Dockerfile: "/workspace/teams/a/app/build/Dockerfile.ci", DigestFile: spec.TerminationLog}},
		{name: "claim root", context: "/src/app", dockerfile: "/src/app/Dockerfile", wp: ".",
			want: spec.Layout{ContextDir: "/workspace", Dockerfile: "/workspace/Dockerfile", DigestFile: spec.TerminationLog}},
		{name: "unclean path", context: "/src/app", dockerfile: "/src/app/Dockerfile", wp: "./a//b/",
			want: spec.Layout{ContextDir: "/workspace/a/b", Dockerfile: "/workspace/a/b/Dockerfile", DigestFile: spec.TerminationLog}},
		{name: "dockerfile outside", context: "/src/app", dockerfile: "/src/Dockerfile", err: ErrDockerfileOutsideContext},
		{name: "dockerfile in a sibling with a common prefix", context: "/src/app", dockerfile: "/src/app2/Dockerfile", err: ErrDockerfileOutsideContext},
		{name: "absolute workspace path", context: "/src/app", dockerfile: "/src/app/Dockerfile", wp: "/abs", err: ErrInvalidOptions},
		{name: "escaping workspace path", context: "/src/app", dockerfile: "/src/app/Dockerfile", wp: "a/../../b", err: ErrInvalidOptions},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			b := &spec.Build{Context: tc.context, Dockerfile: tc.dockerfile}
			got, err := PodLayout(b, tc.wp)
			if tc.err != nil {
				if !errors.Is(err, tc.err) {
					t.Fatalf("PodLayout error = %v, want %v", err, tc.err)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("PodLayout = %+v, %v; want %+v", got, err, tc.want)
			}
		})
	}
}

func TestMapPathAndHostPath(t *testing.T) {
	t.Parallel()
	b := &spec.Build{Context: "/home/dev/app", Dockerfile: "/home/dev/app/docker/Dockerfile"}
	pod, err := PodLayout(b, "ws/app")
	if err != nil {
		t.Fatal(err)
	}
	local := plan.LocalLayout(b, true)
	cases := []struct {
		in, local, host string
		ok              bool
	}{
		{"/workspace/ws/app", "/workspace", "/home/dev/app", true},
		{"/workspace/ws/app/docker/Dockerfile", "/workspace/docker/Dockerfile", "/home/dev/app/docker/Dockerfile", true},
		{"/workspace/ws/app/src/main.go", "/workspace/src/main.go", "/home/dev/app/src/main.go", true},
		{"/dev/termination-log", "/dev/termination-log", "", true},
		{"/workspace/ws/apple", "", "", false},
		{"/workspace", "", "", false},
		{"/etc/passwd", "", "", false},
	}
	for _, tc := range cases {
		got, ok := MapPath(tc.in, pod, local)
		if got != tc.local || ok != tc.ok {
			t.Errorf("MapPath(%q) = %q, %v; want %q, %v", tc.in, got, ok, tc.local, tc.ok)
		}
		host, ok := HostPath(b, pod, tc.in)
		if host != tc.host || ok != (tc.host != "") {
			t.Errorf("HostPath(%q) = %q, %v; want %q", tc.in, host, ok, tc.host)
		}
	}
}

func TestMapArgs(t *testing.T) {
	t.Parallel()
	b := &spec.Build{
		Context: "/home/dev/app", Dockerfile: "/home/dev/app/Dockerfile.prod",
		Destinations: []string{"registry.example.com/app:1"},
		BuildArgs:    []string{"CONTEXT=/workspace/app"},
		ExtraArgs:    []string{"--ignore-path=/workspace/app/tmp"},
	}
	pod, err := PodLayout(b, "app")
	if err != nil {
		t.Fatal(err)
	}
	local := plan.LocalLayout(b, false)
	got := MapArgs(b.Args(pod), pod, local)
	if want := b.Args(local); !slices.Equal(got, want) {
		t.Errorf("MapArgs:\n got %q\nwant %q", got, want)
	}
	// Values of other flags are data, not paths kanikorun placed: they stay.
	if !slices.Contains(got, "--build-arg=CONTEXT=/workspace/app") || !slices.Contains(got, "--ignore-path=/workspace/app/tmp") {
		t.Errorf("MapArgs rewrote a user value: %q", got)
	}
}
