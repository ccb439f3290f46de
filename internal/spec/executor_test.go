package spec

import (
	"errors"
	"slices"
	"testing"
)

func TestParseExecutorArgs(t *testing.T) {
	t.Parallel()
	f, err := ParseExecutorArgs([]string{
		"--context=dir:///a", "-c", "/b", "-c=/c", "-c/d", "--context", "/e",
		"-d", "r/one", "--destination=r/two", "-dr/three",
		"--build-arg=A=1", "--build-arg", "B=2",
		"--cache", "--cache-repo", "oci:/cache/layers", "--no-push",
		"--log-format", "--destination=not-a-destination", // a value, not a flag
		"--secret", "id=a,src=/run/a", "--secret=id=b,env=B",
		"--customPlatform=linux/arm64", "--tarPath=/t.tar",
		"--unknown-fork-flag", "--target=x,y",
		"--", "--destination=after",
	})
	if err != nil {
		t.Fatal(err)
	}
	if f.Context != "/e" {
		t.Errorf("Context = %q, want the last one", f.Context)
	}
	if want := []string{"r/one", "r/two", "r/three"}; !slices.Equal(f.Destinations, want) {
		t.Errorf("Destinations = %q, want %q", f.Destinations, want)
	}
	if want := []string{"A=1", "B=2"}; !slices.Equal(f.BuildArgs, want) {
		t.Errorf("BuildArgs = %q", f.BuildArgs)
	}
	if !f.Cache || f.CacheRepo != "oci:/cache/layers" || !f.NoPush {
		t.Errorf("cache/no-push = %v %q %v", f.Cache, f.CacheRepo, f.NoPush)
	}
	if want := []string{"a", "b"}; !slices.Equal(f.SecretIDs(), want) {
		t.Errorf("SecretIDs = %q", f.SecretIDs())
	}
	if f.CustomPlatform != "linux/arm64" || f.TarPath != "/t.tar" {
		t.Errorf("deprecated spellings: %q %q", f.CustomPlatform, f.TarPath)
	}
	if f.Target != "x,y" {
		t.Errorf("Target = %q", f.Target)
	}
	if f.SkipUnusedStages != nil {
		t.Errorf("SkipUnusedStages = %v, want absent", *f.SkipUnusedStages)
	}
}

func TestParseExecutorArgsBool(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		argv []string
		want string // "true", "false", "absent" or "error"
	}{
		{nil, "absent"},
		{[]string{"--skip-unused-stages"}, "true"},
		{[]string{"--skip-unused-stages=false"}, "false"},
		{[]string{"--skip-unused-stages=0", "--skip-unused-stages=T"}, "true"},
		{[]string{"--skip-unused-stages", "false"}, "true"}, // a bool flag takes no next argument
		{[]string{"--skip-unused-stages=maybe"}, "error"},
		{[]string{"--skip-unused-stagesx"}, "absent"},
		{[]string{"--", "--skip-unused-stages"}, "absent"},
	} {
		got := "absent"
		f, err := ParseExecutorArgs(tc.argv)
		switch {
		case err != nil:
			got = "error"
			if !errors.Is(err, ErrExecutorArgs) {
				t.Errorf("%q: error %v does not wrap ErrExecutorArgs", tc.argv, err)
			}
		case f.SkipUnusedStages != nil:
			got = map[bool]string{true: "true", false: "false"}[*f.SkipUnusedStages]
		}
		if got != tc.want {
			t.Errorf("ParseExecutorArgs(%q).SkipUnusedStages = %s, want %s", tc.argv, got, tc.want)
		}
	}
}

func TestLocalContext(t *testing.T) {
	t.Parallel()
	for ctx, want := range map[string]bool{
		"": true, "dir:///workspace/": true, "/workspace": true, "sub": true,
		"tar://stdin": false, "git://github.com/a/b": false, "s3://b/c.tar.gz": false, "https://x/c.tar.gz": false,
	} {
		if got := (ExecutorFlags{Context: ctx}).LocalContext(); got != want {
			t.Errorf("LocalContext(%q) = %v, want %v", ctx, got, want)
		}
	}
}
