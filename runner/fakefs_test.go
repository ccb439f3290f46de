package runner

import (
	"archive/tar"
	"bytes"
	"context"
	"fmt"
	"io"
	"path"
	"sort"
	"strings"
	"testing"
	"time"
)

// fakeFS is what the fake engine's containers hold: what CopyTo put
// there, by absolute path, and the volumes made.
type fakeFS struct {
	files   map[string]*tar.Header
	data    map[string][]byte
	volumes map[string]map[string]string
	inUse   map[string]bool
	copies  int
}

func (f *fakeEngine) EnsureVolume(_ context.Context, name string, labels map[string]string) error {
	f.record("volume")
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fs.volumes == nil {
		f.fs.volumes = map[string]map[string]string{}
	}
	if _, ok := f.fs.volumes[name]; !ok {
		f.fs.volumes[name] = labels
	}
	return nil
}

func (f *fakeEngine) ListVolumes(_ context.Context, labels map[string]string) ([]VolumeInfo, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []VolumeInfo
	for n, l := range f.fs.volumes {
		if hasLabels(l, labels) {
			out = append(out, VolumeInfo{Name: n, Labels: l})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

func (f *fakeEngine) RemoveVolume(_ context.Context, name string) error {
	f.record("rm-volume " + name)
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fs.inUse[name] {
		return fmt.Errorf("%w: volume %s is in use", ErrVolumeInUse, name)
	}
	delete(f.fs.volumes, name)
	f.removedVolumes = append(f.removedVolumes, name)
	return nil
}

func (f *fakeEngine) StatPath(_ context.Context, _, p string) (PathInfo, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	h, ok := f.fs.files[path.Clean(p)]
	if !ok {
		return PathInfo{}, fmt.Errorf("%w: %s", ErrPathNotFound, p)
	}
	return PathInfo{Size: h.Size, ModTime: h.ModTime, IsDir: h.Typeflag == tar.TypeDir, LinkTarget: h.Linkname}, nil
}

func (f *fakeEngine) CopyTo(_ context.Context, _, dir string, r io.Reader) error {
	f.record("copy-to")
	tr := tar.NewReader(r)
	f.mu.Lock()
	defer f.mu.Unlock()
	f.fs.copies++
	if f.fs.files == nil {
		f.fs.files, f.fs.data = map[string]*tar.Header{}, map[string][]byte{}
	}
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		b, err := io.ReadAll(tr)
		if err != nil {
			return err
		}
		p := path.Join(dir, h.Name)
		f.fs.files[p], f.fs.data[p] = h, b
	}
}

func (f *fakeEngine) CopyFrom(_ context.Context, _, p string) (io.ReadCloser, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	p = path.Clean(p)
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	var names []string
	for n := range f.fs.files {
		if n == p || strings.HasPrefix(n, p+"/") {
			names = append(names, n)
		}
	}
	if len(names) == 0 && p != "/old" {
		// The fake has one file system; prune's volume mounts are empty.
		return nil, fmt.Errorf("%w: %s", ErrPathNotFound, p)
	}
	sort.Strings(names)
	for _, n := range names {
		h := *f.fs.files[n]
		h.Name = path.Join(path.Base(p), strings.TrimPrefix(n, p))
		if err := tw.WriteHeader(&h); err != nil {
			return nil, err
		}
		_, _ = tw.Write(f.fs.data[n])
	}
	_ = tw.Close()
	return io.NopCloser(&buf), nil
}

var _ = time.Now

func (f *fakeEngine) RunContainerStdin(ctx context.Context, id string, stdin io.Reader, stdout, stderr io.Writer) (int, error) {
	b, err := io.ReadAll(stdin)
	if err != nil {
		return 0, err
	}
	f.mu.Lock()
	f.stdin = b
	f.mu.Unlock()
	return f.RunContainer(ctx, id, stdout, stderr)
}

func (f *fakeEngine) Endpoint() Endpoint { return Endpoint{Host: "unix:///var/run/docker.sock"} }

// tarOf is a tar holding one file.
func tarOf(t *testing.T, name, content string) string {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	_ = tw.WriteHeader(&tar.Header{Name: name, Typeflag: tar.TypeReg, Mode: 0o644, Size: int64(len(content))})
	_, _ = tw.Write([]byte(content))
	_ = tw.Close()
	return buf.String()
}

func (f *fakeEngine) ListContainers(_ context.Context, labels map[string]string) ([]ContainerInfo, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []ContainerInfo
	for _, c := range f.containers {
		if hasLabels(c.Labels, labels) {
			out = append(out, c)
		}
	}
	return out, nil
}

// hasLabels says have carries every label of want (any value when empty),
// as the daemon's label filter does.
func hasLabels(have, want map[string]string) bool {
	for k, v := range want {
		if got, ok := have[k]; !ok || v != "" && got != v {
			return false
		}
	}
	return true
}
