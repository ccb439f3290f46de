package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/tarball"

	"github.com/kanikorun/kanikorun/internal/testbed"
	"github.com/kanikorun/kanikorun/internal/testfs"
)

func TestMain(m *testing.M) {
	// In-process runs must never touch the host's real mount points, and
	// count as contained unless a test says otherwise.
	mountPoints = func() []string { return nil }
	contained = func() bool { return true }
	os.Exit(m.Run())
}

type result struct {
	code           int
	stdout, stderr string
}

func runStandIn(t *testing.T, args ...string) result {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), args, &stdout, &stderr)
	return result{code: code, stdout: stdout.String(), stderr: stderr.String()}
}

// writeContext makes a build context from path -> content.
func writeContext(t *testing.T, files map[string]string) string {
	t.Helper()
	return testfs.WriteTree(t, t.TempDir(), files)
}

func TestHelpMatchesKaniko(t *testing.T) {
	t.Parallel()
	want, err := os.ReadFile("testdata/executor-help-v1.24.0.txt")
	if err != nil {
		t.Fatal(err)
	}
	for _, arg := range []string{"--help", "-h", "help"} {
		r := runStandIn(t, arg)
		if r.code != 0 {
			t.Errorf("%s: exit %d, want 0", arg, r.code)
		}
		if r.stdout != string(want) {
			t.Errorf("%s: help differs from kaniko v1.24.0's:\n%s", arg, r.stdout)
		}
	}
}

func TestArgvIsFirstLine(t *testing.T) {
	t.Parallel()
	args := []string{"--context=dir:///nowhere/", "--destination", "a b", `--label=x="y"`, "--bogus"}
	r := runStandIn(t, args...)
	first, _, _ := strings.Cut(r.stderr, "\n")
	if !strings.HasPrefix(first, "INFO[0000] "+testbed.ArgvMarker) {
		t.Fatalf("first stderr line %q is not the argv line", first)
	}
	got, err := testbed.ParseArgv(r.stderr)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(got, "\x00") != strings.Join(args, "\x00") {
		t.Errorf("ParseArgv = %q, want %q", got, args)
	}
}

func TestFlags(t *testing.T) {
	t.Parallel()
	ctxDir := writeContext(t, map[string]string{"Dockerfile": "FROM scratch\n", "sub/Other": "FROM scratch\n"})
	out := t.TempDir()
	tests := []struct {
		name     string
		args     []string
		wantCode int
		wantErr  string // substring of stderr; "" expects success
	}{
		{"unknown flag", []string{"--foo"}, 1, "Error: unknown flag: --foo\nUsage:"},
		{"unknown flag with value", []string{"--no-push", "--cache-from=x"}, 1, "Error: unknown flag: --cache-from"},
		{"unknown shorthand", []string{"-x"}, 1, "Error: unknown shorthand flag: 'x' in -x"},
		{"positional argument", []string{"--no-push", "-c", ctxDir, "."}, 1, "Error: unknown command \".\" for \"executor\""},
		{"missing destination", []string{"-c", ctxDir}, 1, "Error: you must provide --destination, or use --no-push"},
		{"bad bool", []string{"--no-push=maybe"}, 1, `invalid argument "maybe" for "--no-push" flag`},
		{"bad compression", []string{"--no-push", "--compression=lz4"}, 1, `must be either "gzip" or "zstd"`},
		{"bad duration", []string{"--no-push", "--cache-ttl=soon"}, 1, `invalid argument "soon" for "--cache-ttl" flag`},
		{"bad log format", []string{"--no-push", "--log-format=xml"}, 1, `not a valid log format: "xml"`},
		{"registry-certificate needs key=value", []string{"--no-push", "--registry-certificate=x"}, 1, "expect key=value"},
		{"missing value", []string{"--no-push", "--context"}, 1, "flag needs an argument: --context"},
		{"context missing", []string{"--no-push", "--context=dir:///does/not/exist/"}, 1, "error resolving source context"},
		{"unsupported context", []string{"--no-push", "--context=git://github.com/x/y"}, 1, "is not supported"},
		{"unknown context prefix", []string{"--no-push", "--context=ftp://x"}, 1, "unknown build context prefix"},
		{"dockerfile missing", []string{"--no-push", "-c", ctxDir, "-f", "Nope"}, 1, "please provide a valid path to a Dockerfile"},
		{"digest name file needs destination", []string{"--no-push", "-c", ctxDir, "--image-name-with-digest-file=" + filepath.Join(out, "n")}, 1, "you must provide --destination if setting ImageNameDigestFile"},
		{"tar path needs destination", []string{"--no-push", "-c", ctxDir, "--tar-path=" + filepath.Join(out, "t.tar")}, 1, "you must provide --destination if setting --tar-path"},
		{"cache with no-push needs repo", []string{"--no-push", "-c", ctxDir, "--cache=true"}, 1, "specify cache repo with --cache-repo"},
		{"bad destination", []string{"-c", ctxDir, "-d", "UPPER/Case:1", "--no-push"}, 1, "getting tag for destination"},
		{"ignored flags accepted", []string{"--no-push", "-c", ctxDir, "--cache=true", "--cache-repo=oci:/cache/layers", "--cache-dir=/cache/base",
			"--snapshot-mode=redo", "--compression=zstd", "--compression-level=3", "-v", "debug", "--log-format=text", "--log-timestamp",
			"--single-snapshot", "--use-new-run", "--cleanup", "--reproducible", "--ignore-path=/x", "--push-retry=2",
			"--registry-mirror=mirror.example", "--registry-map=a=b;c=d", "--skip-tls-verify", "--insecure-pull", "--git=branch=main"}, 0, ""},
		{"shorthands", []string{"--no-push", "-c", ctxDir, "-f", "sub/Other", "-d", "example.com/a:1", "-v", "info"}, 0, ""},
		{"absolute dockerfile", []string{"--no-push", "--context=dir://" + ctxDir + "/", "--dockerfile=" + filepath.Join(ctxDir, "sub", "Other")}, 0, ""},
		{"deprecated tarPath alias", []string{"--no-push", "-c", ctxDir, "-d", "example.com/a:1", "--tarPath=" + filepath.Join(out, "dep.tar")}, 0, ""},
		{"deprecated camelCase warns", []string{"--no-push", "-c", ctxDir, "--snapshotMode=time", "--customPlatform=linux/amd64"}, 0, "WARN[0000] Flag --snapshotMode is deprecated"},
		{"hidden whitelist flag", []string{"--no-push", "-c", ctxDir, "--whitelist-var-run=false"}, 0, "Flag --whitelist-var-run has been deprecated"},
		{"version", []string{"version"}, 0, ""},
		{"context sub-path with dir://", []string{"--no-push", "--context=dir://" + ctxDir, "--context-sub-path=sub", "-f", "Other"}, 0, ""},
		{"context sub-path ignored for a plain path", []string{"--no-push", "--context=" + ctxDir, "--context-sub-path=sub", "-f", "Other"}, 1, "please provide a valid path to a Dockerfile"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := runStandIn(t, tc.args...)
			if r.code != tc.wantCode {
				t.Fatalf("exit %d, want %d\nstderr:\n%s", r.code, tc.wantCode, r.stderr)
			}
			if tc.wantErr != "" && !strings.Contains(r.stderr, tc.wantErr) {
				t.Errorf("stderr lacks %q:\n%s", tc.wantErr, r.stderr)
			}
		})
	}
}

func TestDeprecatedTarPathWrites(t *testing.T) {
	t.Parallel()
	ctxDir := writeContext(t, map[string]string{"Dockerfile": "FROM scratch\nCOPY a /a\n", "a": "x"})
	tarPath := filepath.Join(t.TempDir(), "out.tar")
	r := runStandIn(t, "--no-push", "-c", ctxDir, "-d", "example.com/a:1", "--tarPath", tarPath)
	if r.code != 0 {
		t.Fatalf("exit %d:\n%s", r.code, r.stderr)
	}
	if _, err := tarball.ImageFromPath(tarPath, nil); err != nil {
		t.Errorf("--tarPath wrote no image: %v", err)
	}
}

// Not parallel: it swaps the container check that every other test uses.
func TestRefusesOutsideContainer(t *testing.T) {
	ctxDir := writeContext(t, map[string]string{"Dockerfile": "FROM scratch\n"})
	saved := contained
	contained = func() bool { return false }
	defer func() { contained = saved }()

	r := runStandIn(t, "--no-push", "-c", ctxDir)
	if r.code != 1 || !strings.Contains(r.stderr, "kaniko should only be run inside of a container, run with the --force flag") {
		t.Errorf("without --force: exit %d, stderr:\n%s", r.code, r.stderr)
	}
	r = runStandIn(t, "--no-push", "-c", ctxDir, "--force")
	if r.code != 0 || !strings.Contains(r.stderr, "WARN[0000] Kaniko is being run outside of a container") {
		t.Errorf("with --force: exit %d, stderr:\n%s", r.code, r.stderr)
	}
}

// build runs the stand-in on a context and returns the image it wrote as
// a tarball, or nil when the build failed.
func build(t *testing.T, files map[string]string, extra ...string) (v1.Image, result) {
	t.Helper()
	ctxDir := writeContext(t, files)
	tarPath := filepath.Join(t.TempDir(), "image.tar")
	args := append([]string{"--context=dir://" + ctxDir + "/", "--destination=example.com/test/app:1", "--no-push", "--tar-path=" + tarPath}, extra...)
	r := runStandIn(t, args...)
	if r.code != 0 {
		return nil, r
	}
	img, err := tarball.ImageFromPath(tarPath, nil)
	if err != nil {
		t.Fatalf("reading the tarball: %v", err)
	}
	return img, r
}
