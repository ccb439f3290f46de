package main

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/kanikorun/kanikorun/internal/plan"
)

func TestSplitExtra(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in         []string
		own, extra []string
	}{
		{[]string{"k", "build", "."}, []string{"k", "build", "."}, nil},
		{[]string{"k", "build", ".", "--", "--cache=true", "--"}, []string{"k", "build", "."}, []string{"--cache=true", "--"}},
		{[]string{"k", "build", "--", "x"}, []string{"k", "build"}, []string{"x"}},
	}
	for _, tt := range tests {
		own, extra := splitExtra(tt.in)
		if !reflect.DeepEqual(own, tt.own) || !reflect.DeepEqual(extra, tt.extra) {
			t.Errorf("splitExtra(%q) = %q, %q; want %q, %q", tt.in, own, extra, tt.own, tt.extra)
		}
	}
}

func TestPermute(t *testing.T) {
	t.Parallel()
	app := newApp(io.Discard, io.Discard)
	tests := []struct {
		in, want string
	}{
		{"k build . -t a:1", "k build --destination a:1 ."},
		{"k build -t a:1 .", "k build --destination a:1 ."},
		{"k build ctx --no-push -f ctx/D --label a=b", "k build --no-push --file ctx/D --label a=b ctx"},
		{"k build ctx --file=D", "k build --file=D ctx"},
		{"k build -t a:1 --destination b:2 -d=c:3", "k build --destination a:1 --destination b:2 --destination=c:3"},
		{"k --help", "k --help"},
		{"k unknown . -x", "k unknown . -x"},
	}
	for _, tt := range tests {
		got := strings.Join(permute(app, strings.Fields(tt.in)), " ")
		if got != tt.want {
			t.Errorf("permute(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestPickNetwork(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	offlineDF := filepath.Join(dir, "offline.Dockerfile")
	onlineDF := filepath.Join(dir, "online.Dockerfile")
	if err := os.WriteFile(offlineDF, []byte("FROM scratch\nCOPY a /a\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(onlineDF, []byte("FROM scratch\nRUN true\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		needs     networkNeeds
		requested string
		explicit  bool
		want      string
		notice    string
	}{
		{networkNeeds{registries: []string{"ghcr.io"}, dockerfile: offlineDF, localContext: true}, "bridge", false, "bridge", ""},
		{networkNeeds{registries: []string{"ghcr.io", "127.0.0.1:5000"}}, "bridge", false, "host", "using host networking: 127.0.0.1:5000 is on loopback"},
		{networkNeeds{registries: []string{"localhost:5000"}}, "bridge", false, "host", "localhost:5000"},
		{networkNeeds{registries: []string{"localhost:5000"}}, "bridge", true, "bridge", "warning"},
		{networkNeeds{registries: []string{"localhost:5000"}}, "host", true, "host", ""},
		{networkNeeds{dockerfile: offlineDF, localContext: true}, "bridge", false, "none", "using no network"},
		{networkNeeds{dockerfile: offlineDF, localContext: true}, "bridge", true, "bridge", ""},
		{networkNeeds{dockerfile: offlineDF, localContext: false}, "bridge", false, "bridge", ""},
		{networkNeeds{dockerfile: onlineDF, localContext: true}, "bridge", false, "bridge", ""},
		{networkNeeds{localContext: true}, "bridge", false, "bridge", ""},
	}
	for _, tt := range tests {
		var errOut bytes.Buffer
		got := pickNetwork(tt.needs, tt.requested, tt.explicit, &errOut)
		if got != tt.want {
			t.Errorf("pickNetwork(%+v, %s, %v) = %s, want %s", tt.needs, tt.requested, tt.explicit, got, tt.want)
		}
		if tt.notice == "" && errOut.Len() > 0 || !strings.Contains(errOut.String(), tt.notice) {
			t.Errorf("notice = %q, want %q", errOut.String(), tt.notice)
		}
		if strings.Count(errOut.String(), "\n") > 1 {
			t.Errorf("notice is more than one line: %q", errOut.String())
		}
	}
}

func TestLocalContextAndFlagValue(t *testing.T) {
	t.Parallel()
	for argv, want := range map[string]bool{
		"--dockerfile=D":                           true,
		"--context=dir:///workspace/ --no-push":    true,
		"-c /workspace/my-build":                   true,
		"--context git://github.com/a/b.git":       false,
		"--context=s3://bucket/ctx.tgz":            false,
		"--context=dir:///a --context=https://x/y": false,
	} {
		if got := localContext(strings.Fields(argv)); got != want {
			t.Errorf("localContext(%q) = %v, want %v", argv, got, want)
		}
	}
	mounts := []plan.Mount{{Source: "/h/ws", Target: "/workspace"}, {Source: "/h/b", Target: "/workspace/b"}}
	for p, want := range map[string]string{"/workspace/a/D": "/h/ws/a/D", "/workspace/b/D": "/h/b/D", "/etc/x": ""} {
		if got, _ := hostPath(mounts, p); got != want {
			t.Errorf("hostPath(%q) = %q, want %q", p, got, want)
		}
	}
}

func TestExecutorFiles(t *testing.T) {
	t.Parallel()
	mounts := []plan.Mount{{Source: "/h/ws", Target: "/workspace"}}
	tests := []struct {
		argv             string
		context, df, pod string
	}{
		{"--context=/workspace/my-build --dockerfile=/workspace/my-build/Dockerfile", "/h/ws/my-build", "/h/ws/my-build/Dockerfile", "/workspace/my-build/Dockerfile"},
		{"--context=dir:///workspace/ --dockerfile=sub/D", "/h/ws", "/h/ws/sub/D", "/workspace/sub/D"},
		{"-d x", "/h/ws", "/h/ws/Dockerfile", "/workspace/Dockerfile"},
		{"--context=git://github.com/a/b", "", "", ""},
		{"--context=/elsewhere --dockerfile=D", "", "", "/elsewhere/D"},
	}
	for _, tt := range tests {
		f := executorFiles(strings.Fields(tt.argv), mounts)
		if f.context != tt.context || f.dockerfile != tt.df || f.dockerfileInPod != tt.pod {
			t.Errorf("executorFiles(%q) = %+v, want context %q dockerfile %q in pod %q", tt.argv, f, tt.context, tt.df, tt.pod)
		}
	}
	if got := executorSecrets(strings.Fields("--secret id=npm,src=/x --secret=id=gh,env=T --target x")); strings.Join(got, ",") != "npm,gh" {
		t.Errorf("executorSecrets = %q", got)
	}
}
