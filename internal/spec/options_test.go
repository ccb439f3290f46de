package spec

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestPlatform(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte("FROM scratch\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		platform, say string
	}{
		{"linux/arm64", ""},
		{"linux/arm/v7", ""},
		{"linux/amd64,linux/arm64", "multi-platform builds are not supported yet"},
		{"arm64", "os/arch[/variant]"},
		{"linux//v7", "os/arch[/variant]"},
		{"linux/arm/v7/x", "os/arch[/variant]"},
	} {
		t.Run(tt.platform, func(t *testing.T) {
			t.Parallel()
			b, err := Options{Args: []string{dir}, Platform: tt.platform}.Build()
			if tt.say != "" {
				if !errors.Is(err, ErrUsage) || !strings.Contains(err.Error(), tt.say) || strings.Contains(err.Error(), "\n") {
					t.Fatalf("err = %v, want one ErrUsage line saying %q", err, tt.say)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if args := b.Args(Layout{ContextDir: WorkspaceDir, Dockerfile: "/workspace/Dockerfile"}); !slices.Contains(args, "--custom-platform="+tt.platform) {
				t.Errorf("args = %q", args)
			}
		})
	}
}

// TestArgsLogFormat: kaniko's default is colour; Args asks for it only
// when the layout says a terminal shows it, and extra flags after -- still
// win (they come last, and the last value counts).
func TestArgsLogFormat(t *testing.T) {
	t.Parallel()
	b := &Build{Color: true, ExtraArgs: []string{"--log-format=json"}}
	for _, tt := range []struct {
		color bool
		want  string
	}{{false, "--log-format=text"}, {true, "--log-format=color"}} {
		args := b.Args(Layout{ContextDir: WorkspaceDir, Color: tt.color})
		if !slices.Contains(args, tt.want) {
			t.Errorf("color %v: args = %q, want %s", tt.color, args, tt.want)
		}
		if args[len(args)-1] != "--log-format=json" {
			t.Errorf("extra args are not last: %q", args)
		}
	}
}

func TestImageIDNeedsAnImage(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte("FROM scratch\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	iid := filepath.Join(dir, "iid")
	if _, err := (Options{Args: []string{dir}, NoPush: true, IIDFile: iid}).Build(); !errors.Is(err, ErrUsage) || !strings.Contains(err.Error(), "--load") {
		t.Errorf("no push, no tarball: err = %v", err)
	}
	for _, o := range []Options{
		{Args: []string{dir}, Destinations: []string{"r.example/a:1"}, IIDFile: iid},
		{Args: []string{dir}, Load: true, MetadataFile: iid},
		{Args: []string{dir}, NoPush: true, TarPath: filepath.Join(dir, "i.tar"), IIDFile: iid},
	} {
		if _, err := o.Build(); err != nil {
			t.Errorf("%+v: %v", o, err)
		}
	}
}

// A --kaniko-dir after -- is read with the build: it moves /kaniko's files
// (MovesKanikoDir), but not the directory the executor unpacks a streamed
// context into, which kaniko takes from the KANIKO_DIR variable alone.
func TestKanikoDirFlag(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte("FROM scratch\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for args, moves := range map[string]bool{"": false, "--kaniko-dir=/k": true, "--kaniko-dir=/kaniko": false, "--kaniko-dir=/kaniko/": true} {
		o := Options{Args: []string{dir}, NoPush: true}
		if args != "" {
			o.ExecutorArgs = []string{args}
		}
		b, err := o.Build()
		if err != nil {
			t.Fatal(err)
		}
		if got := b.MovesKanikoDir(); got != moves {
			t.Errorf("%q: MovesKanikoDir() = %v, want %v", args, got, moves)
		}
		if got := b.BuildContextDir(); got != "/kaniko/buildcontext" {
			t.Errorf("%q: BuildContextDir() = %s, want /kaniko/buildcontext", args, got)
		}
	}
}
