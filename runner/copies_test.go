package runner

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/kanikorun/kanikorun/internal/plan"
	"github.com/kanikorun/kanikorun/internal/spec"
)

// tarEntries is a tar of the given entries: a name ending in / is a
// directory, "->x" a symbolic link to x, anything else a file.
func tarEntries(t *testing.T, entries ...[2]string) string {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range entries {
		h := &tar.Header{Name: e[0], Mode: 0o644, Typeflag: tar.TypeReg, Size: int64(len(e[1]))}
		switch {
		case strings.HasSuffix(e[0], "/"):
			h.Typeflag, h.Mode, h.Size = tar.TypeDir, 0o755, 0
		case strings.HasPrefix(e[1], "->"):
			h.Typeflag, h.Linkname, h.Size = tar.TypeSymlink, strings.TrimPrefix(e[1], "->"), 0
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if h.Typeflag == tar.TypeReg {
			_, _ = tw.Write([]byte(e[1]))
		}
	}
	_ = tw.Close()
	return buf.String()
}

// TestCopyInTree: a directory goes in as a mount shows it (files and
// directories with their host modes, links as links, owned by root),
// without the paths a deeper mount takes and without special files; a
// build's single file keeps the mode it is given.
func TestCopyInTree(t *testing.T) {
	t.Parallel()
	src := t.TempDir()
	for p, mode := range map[string]os.FileMode{"Dockerfile": 0o644, "secret": 0o600, "bin/run": 0o755} {
		p = filepath.Join(src, p)
		_ = os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte("content of "+filepath.Base(p)), mode); err != nil {
			t.Fatal(err)
		}
		_ = os.Chmod(p, mode)
	}
	_ = os.Mkdir(filepath.Join(src, "private"), 0o700)
	_ = os.WriteFile(filepath.Join(src, "private", "x"), []byte("x"), 0o644)
	_ = os.Mkdir(filepath.Join(src, "hidden"), 0o755)
	_ = os.WriteFile(filepath.Join(src, "hidden", "by-a-mount"), []byte("no"), 0o644)
	_ = os.Symlink("Dockerfile", filepath.Join(src, "link"))
	if err := syscall.Mkfifo(filepath.Join(src, "fifo"), 0o644); err != nil {
		t.Fatal(err)
	}
	// The mount's source itself may be a link, which the mount follows.
	via := filepath.Join(t.TempDir(), "claim")
	_ = os.Symlink(src, via)
	single := filepath.Join(t.TempDir(), "config.json")
	_ = os.WriteFile(single, []byte("{}"), 0o644)

	f := &fakeEngine{haveImage: true}
	r := &Runner{Engine: f, Stdout: io.Discard, Stderr: io.Discard}
	err := r.copyIn(context.Background(), "c", []plan.CopyIn{
		{Source: via, Target: "/workspace", Skip: []string{"/workspace/hidden"}},
		{Source: single, Target: spec.DockerConfigPath, Mode: 0o600},
	})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]struct {
		typ  byte
		mode int64
		data string
	}{
		"/workspace":            {tar.TypeDir, modeOf(t, src), ""},
		"/workspace/Dockerfile": {tar.TypeReg, 0o644, "content of Dockerfile"},
		"/workspace/secret":     {tar.TypeReg, 0o600, "content of secret"},
		"/workspace/bin":        {tar.TypeDir, 0o755, ""},
		"/workspace/bin/run":    {tar.TypeReg, 0o755, "content of run"},
		"/workspace/private":    {tar.TypeDir, 0o700, ""},
		"/workspace/private/x":  {tar.TypeReg, 0o644, "x"},
		"/workspace/link":       {tar.TypeSymlink, 0o777, ""},
		spec.DockerConfigPath:   {tar.TypeReg, 0o600, "{}"},
	}
	for p, w := range want {
		h, ok := f.fs.files[p]
		if !ok {
			t.Errorf("%s was not copied in", p)
			continue
		}
		if h.Typeflag != w.typ || h.Mode != w.mode || h.Uid != 0 || h.Gid != 0 || string(f.fs.data[p]) != w.data {
			t.Errorf("%s: type %c mode %o uid %d gid %d data %q; want type %c mode %o, root, %q", p, h.Typeflag, h.Mode, h.Uid, h.Gid, f.fs.data[p], w.typ, w.mode, w.data)
		}
	}
	if h := f.fs.files["/workspace/link"]; h != nil && h.Linkname != "Dockerfile" {
		t.Errorf("the link points at %q", h.Linkname)
	}
	for p := range f.fs.files {
		if _, ok := want[p]; !ok {
			t.Errorf("%s was copied in, which a mount would not show there", p)
		}
	}
	if f.fs.copies != 1 {
		t.Errorf("%d uploads, want one tar", f.fs.copies)
	}
}

func modeOf(t *testing.T, p string) int64 {
	t.Helper()
	st, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	return int64(st.Mode().Perm())
}

// TestCopyInErrorNamesThePathOnly: a source that cannot be read fails the
// copy with its path, never with content.
func TestCopyInErrorNamesThePathOnly(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	_ = os.WriteFile(filepath.Join(dir, "ok"), []byte("s3cr3t-value"), 0o600)
	f := &fakeEngine{haveImage: true}
	r := &Runner{Engine: f, Stdout: io.Discard, Stderr: io.Discard}
	err := r.copyIn(context.Background(), "c", []plan.CopyIn{{Source: dir, Target: "/a"}, {Source: filepath.Join(dir, "missing"), Target: "/b"}})
	if err == nil || !strings.Contains(err.Error(), filepath.Join(dir, "missing")) || strings.Contains(err.Error(), "s3cr3t") {
		t.Errorf("copyIn of a missing source: %v", err)
	}
}

// TestCopyOutCreates: an output comes back to a host path that need not
// exist yet, a file or a directory tree; a missing optional one is no
// error; a symbolic link on the way is refused, so nothing lands outside
// the mount's directory.
func TestCopyOutCreates(t *testing.T) {
	t.Parallel()
	f := &fakeEngine{haveImage: true}
	_ = f.CopyTo(context.Background(), "c", "/", strings.NewReader(tarEntries(t,
		[2]string{"out/", ""}, [2]string{"out/image.tar", "TAR"},
		[2]string{"out/layout/", ""}, [2]string{"out/layout/index.json", "{}"},
		[2]string{"out/layout/blobs/", ""}, [2]string{"out/layout/blobs/sha256/", ""}, [2]string{"out/layout/blobs/sha256/ab", "blob"},
		[2]string{"out/layout/evil", "->/etc/passwd"},
	)))
	r := &Runner{Engine: f, Stdout: io.Discard, Stderr: io.Discard}
	host := t.TempDir()
	outs := []plan.CopyOut{
		{Source: "/out/image.tar", Target: filepath.Join(host, "sub", "image.tar"), Within: host, Create: true, Optional: true},
		{Source: "/out/layout", Target: filepath.Join(host, "layout"), Within: host, Create: true, Optional: true},
		{Source: "/out/never-written", Target: filepath.Join(host, "never"), Within: host, Create: true, Optional: true},
	}
	for _, o := range outs {
		if err := r.copyOut(context.Background(), "c", o); err != nil {
			t.Fatalf("copy out %s: %v", o.Source, err)
		}
	}
	for p, want := range map[string]string{"sub/image.tar": "TAR", "layout/index.json": "{}", "layout/blobs/sha256/ab": "blob"} {
		if got, err := os.ReadFile(filepath.Join(host, p)); err != nil || string(got) != want {
			t.Errorf("%s: %q, %v; want %q", p, got, err, want)
		}
	}
	for _, p := range []string{"never", "layout/evil"} {
		if _, err := os.Lstat(filepath.Join(host, p)); err == nil {
			t.Errorf("%s exists on the host", p)
		}
	}
	// Not optional: a missing output is an error.
	if err := r.copyOut(context.Background(), "c", plan.CopyOut{Source: "/out/never", Target: filepath.Join(host, "n"), Within: host, Create: true}); err == nil {
		t.Errorf("a missing required output copied out")
	}

	// A link in the host directory is not followed.
	elsewhere := t.TempDir()
	_ = os.Symlink(elsewhere, filepath.Join(host, "link"))
	err := r.copyOut(context.Background(), "c", plan.CopyOut{Source: "/out/image.tar", Target: filepath.Join(host, "link", "image.tar"), Within: host, Create: true})
	if err == nil || !strings.Contains(err.Error(), "symbolic link") {
		t.Errorf("copy out through a link: %v", err)
	}
	_ = os.Symlink(filepath.Join(elsewhere, "f"), filepath.Join(host, "file-link"))
	err = r.copyOut(context.Background(), "c", plan.CopyOut{Source: "/out/image.tar", Target: filepath.Join(host, "file-link"), Within: host, Create: true})
	if err == nil || !strings.Contains(err.Error(), "symbolic link") {
		t.Errorf("copy out onto a link: %v", err)
	}
	if entries, _ := os.ReadDir(elsewhere); len(entries) != 0 {
		t.Errorf("a copy out wrote through a link: %v", entries)
	}
}

// TestReplayCopyPlanRun runs a MountsToCopies plan on the fake engine:
// nothing is bind-mounted, the claim is copied in before the start, the
// digest and the output come back after it, the container is removed.
func TestReplayCopyPlanRun(t *testing.T) {
	t.Parallel()
	claim, out, tmp := t.TempDir(), t.TempDir(), t.TempDir()
	_ = os.WriteFile(filepath.Join(claim, "Dockerfile"), []byte("FROM scratch\n"), 0o644)
	digest := filepath.Join(tmp, "termination-log")
	_ = os.WriteFile(digest, nil, 0o644)
	c := plan.Container{
		Image: "exec:1", Network: "none",
		Args:       []string{"--context=dir:///workspace", "--digest-file=/dev/termination-log", "--tar-path=/out/image.tar"},
		Mounts:     []plan.Mount{{Source: claim, Target: "/workspace", ReadOnly: true}, {Source: out, Target: "/out"}},
		DigestFile: digest,
	}
	flags, err := spec.ParseExecutorArgs(c.Args)
	if err != nil {
		t.Fatal(err)
	}
	pc := plan.MountsToCopies(c, plan.ExecutorOutputs(flags, ""))
	f := &fakeEngine{haveImage: true}
	// What the executor writes, as CopyFrom will find it.
	f.onStart = func() {
		_ = f.CopyTo(context.Background(), "c", "/", strings.NewReader(tarEntries(t,
			[2]string{"kaniko/kanikorun-digest", "sha256:abc"}, [2]string{"out/image.tar", "TAR"})))
	}
	r := &Runner{Engine: f, Stdout: io.Discard, Stderr: io.Discard, Pull: PullNever}
	res, err := r.Run(context.Background(), pc)
	if err != nil {
		t.Fatal(err)
	}
	if res.Digest != "sha256:abc" {
		t.Errorf("digest %q", res.Digest)
	}
	if got, _ := os.ReadFile(filepath.Join(out, "image.tar")); string(got) != "TAR" {
		t.Errorf("the tarball came back as %q", got)
	}
	if len(f.created.AllMounts()) != 0 || !f.created.KeepAfterExit {
		t.Errorf("created with mounts %v, keep %v", f.created.AllMounts(), f.created.KeepAfterExit)
	}
	if _, ok := f.fs.files["/workspace/Dockerfile"]; !ok {
		t.Errorf("the claim was not copied in: %v", f.fs.files)
	}
	if calls := f.callList(); calls != "create,copy-to,run,copy-to,remove" {
		t.Errorf("calls %s", calls)
	}
}

// TestReplayStreamSaysTheMode: replay decides its mode as build does (auto
// streams for a remote daemon only) and says it in one line of the same
// shape; a forced bind mode on a remote daemon gets a warning, which build
// does not print. Build's own lines are unchanged.
func TestReplayStreamSaysTheMode(t *testing.T) {
	t.Parallel()
	remote, local := Endpoint{Host: "tcp://127.0.0.1:2375"}, Endpoint{Host: "unix:///var/run/docker.sock"}
	for _, tc := range []struct {
		mode   string
		ep     Endpoint
		stream bool
		says   string
	}{
		{"", local, false, ""},
		{ContextAuto, local, false, ""},
		{ContextAuto, remote, true, "kanikorun: context mode stream: the daemon at tcp://127.0.0.1:2375 is remote, so the pod's volumes are copied into the executor container, and its outputs out (--context-mode bind to mount them)\n"},
		{ContextStream, local, true, "kanikorun: context mode stream (--context-mode): copying the pod's volumes into the executor container, and its outputs out, instead of mounting them\n"},
		{ContextBind, local, false, ""},
		{ContextBind, remote, false, "kanikorun: warning: the daemon at tcp://127.0.0.1:2375 is remote: with --context-mode bind replay bind-mounts --claim, --secret and --volume paths, which must exist on the daemon's machine\n"},
	} {
		var b strings.Builder
		if got := (Options{ContextMode: tc.mode}).replayStream(tc.ep, Streams{Stderr: &b}); got != tc.stream || b.String() != tc.says {
			t.Errorf("mode %q on %s: stream %v, said %q; want %v, %q", tc.mode, tc.ep, got, b.String(), tc.stream, tc.says)
		}
	}
	var b strings.Builder
	if !(Options{}).stream(remote, Streams{Stderr: &b}) || b.String() != "kanikorun: context mode stream: the daemon at tcp://127.0.0.1:2375 is remote, so the context goes on the executor's stdin (--context-mode bind to mount it)\n" {
		t.Errorf("build says %q", b.String())
	}
	b.Reset()
	if (Options{ContextMode: ContextBind}).stream(remote, Streams{Stderr: &b}) || b.String() != "" {
		t.Errorf("build's bind mode on a remote daemon says %q", b.String())
	}
}

// stopEarly is an engine whose upload reads a little of the tar and
// gives up, as a daemon that fails mid-copy does.
type stopEarly struct {
	*fakeEngine
	read int64
}

func (s *stopEarly) CopyTo(_ context.Context, _, _ string, r io.Reader) error {
	n, _ := io.CopyN(io.Discard, r, 1<<20)
	s.read = n
	return errors.New("the daemon stopped reading")
}

// TestCopyInStreams: the tar is written as the engine reads it, never
// gathered in memory first: a 2 GiB (sparse) file costs the copy what the
// engine reads of it, and an engine that stops reading stops the writer,
// whose broken pipe does not hide the engine's error.
func TestCopyInStreams(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	big, err := os.Create(filepath.Join(dir, "big"))
	if err != nil {
		t.Fatal(err)
	}
	if err := big.Truncate(2 << 30); err != nil {
		t.Fatal(err)
	}
	big.Close()
	e := &stopEarly{fakeEngine: &fakeEngine{haveImage: true}}
	r := &Runner{Engine: e, Stdout: io.Discard, Stderr: io.Discard}
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	start := time.Now()
	err = r.copyIn(context.Background(), "c", []plan.CopyIn{{Source: dir, Target: "/workspace"}})
	took := time.Since(start)
	runtime.ReadMemStats(&after)
	if err == nil || !strings.Contains(err.Error(), "the daemon stopped reading") {
		t.Errorf("copyIn: %v, want the engine's error", err)
	}
	if e.read != 1<<20 {
		t.Errorf("the engine read %d bytes, want 1 MiB", e.read)
	}
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 64<<20 {
		t.Errorf("copyIn allocated %d MiB for a copy the engine read 1 MiB of", alloc>>20)
	}
	if took > 10*time.Second {
		t.Errorf("copyIn took %s: it read more than the engine wanted", took)
	}
}
