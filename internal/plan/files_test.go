package plan

import (
	"strings"
	"testing"

	"github.com/kanikorun/kanikorun/internal/spec"
)

func TestHostPath(t *testing.T) {
	t.Parallel()
	c := Container{Mounts: []Mount{{Source: "/h/ws", Target: "/workspace"}, {Source: "/h/b", Target: "/workspace/b"}}}
	for p, want := range map[string]string{"/workspace/a/D": "/h/ws/a/D", "/workspace/b/D": "/h/b/D", "/etc/x": ""} {
		if got, _ := c.HostPath(p); got != want {
			t.Errorf("HostPath(%q) = %q, want %q", p, got, want)
		}
	}
}

func TestExecutorFiles(t *testing.T) {
	t.Parallel()
	c := Container{Mounts: []Mount{{Source: "/h/ws", Target: "/workspace"}}}
	tests := []struct {
		argv             string
		context, df, pod string
	}{
		{"--context=/workspace/my-build --dockerfile=/workspace/my-build/Dockerfile", "/h/ws/my-build", "/h/ws/my-build/Dockerfile", "/workspace/my-build/Dockerfile"},
		{"--context=dir:///workspace/ --dockerfile=sub/D", "/h/ws", "/h/ws/sub/D", "/workspace/sub/D"},
		{"-d x", "/h/ws", "/h/ws/Dockerfile", "/workspace/Dockerfile"},
		{"--context=git://github.com/a/b", "", "", ""},
		{"--context=sub", "/h/ws/sub", "/h/ws/sub/Dockerfile", "/workspace/sub/Dockerfile"},
		{"--context=/elsewhere --dockerfile=D", "", "", "/elsewhere/D"},
		{"--context=git://x --dockerfile=/workspace/D", "", "/h/ws/D", "/workspace/D"},
		{"--context=dir:///a --context=https://x/y", "", "", ""},
	}
	for _, tt := range tests {
		flags, err := spec.ParseExecutorArgs(strings.Fields(tt.argv))
		if err != nil {
			t.Fatal(err)
		}
		f := c.ExecutorFiles(flags)
		if f.Context != tt.context || f.Dockerfile != tt.df || f.DockerfileInContainer != tt.pod {
			t.Errorf("ExecutorFiles(%q) = %+v, want context %q dockerfile %q in container %q", tt.argv, f, tt.context, tt.df, tt.pod)
		}
	}
}

func TestExecutorArgs(t *testing.T) {
	t.Parallel()
	c := Container{Entrypoint: []string{"/kaniko/executor", "--context=/w"}, Args: []string{"-d", "x"}}
	if got := strings.Join(c.ExecutorArgs(), " "); got != "--context=/w -d x" {
		t.Errorf("ExecutorArgs = %q", got)
	}
}

func TestExecutorPaths(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		argv        []string
		workDir     string
		ctx, docker string
	}{
		{nil, "", "/workspace", "/workspace/Dockerfile"},
		{[]string{"--context=dir:///workspace/app", "--dockerfile=Dockerfile"}, "", "/workspace/app", "/workspace/app/Dockerfile"},
		{[]string{"-c", "sub", "-f", "/df/Dockerfile"}, "/w", "/w/sub", "/df/Dockerfile"},
		{[]string{"--context=tar://stdin"}, "", "", ""},
		{[]string{"--context=git://github.com/a/b", "--dockerfile=/x/D"}, "", "", "/x/D"},
	} {
		f, err := spec.ParseExecutorArgs(tc.argv)
		if err != nil {
			t.Fatal(err)
		}
		ctx, df := ExecutorPaths(f, tc.workDir)
		if ctx != tc.ctx || df != tc.docker {
			t.Errorf("ExecutorPaths(%q, %q) = %q, %q; want %q, %q", tc.argv, tc.workDir, ctx, df, tc.ctx, tc.docker)
		}
	}
}
