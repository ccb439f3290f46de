package runner

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/kanikorun/kanikorun/internal/spec"
	"github.com/kanikorun/kanikorun/internal/tmpdir"
)

// The fake engine lists nothing by default; gcEngine lists what it holds.
func (f *fakeEngine) ListContainers(context.Context, map[string]string) ([]ContainerInfo, error) {
	return nil, nil
}

func (f *fakeEngine) ListVolumes(context.Context, map[string]string) ([]VolumeInfo, error) {
	return nil, nil
}

func (f *fakeEngine) RemoveVolume(context.Context, string) error { return nil }

func (f *fakeEngine) Info(context.Context) (DaemonDetails, error) {
	return DaemonDetails{Version: "20.10.0", APIVersion: "1.41", OSType: "linux", StorageDriver: "overlay2", RootDir: "/var/lib/docker"}, nil
}

func (f *fakeEngine) ImagePresent(context.Context, string) (bool, error) { return f.haveImage, nil }

type gcEngine struct {
	fakeEngine
	containers     []ContainerInfo
	volumes        []VolumeInfo
	removedVolumes []string
}

func (g *gcEngine) ListContainers(_ context.Context, labels map[string]string) ([]ContainerInfo, error) {
	var out []ContainerInfo
	for _, c := range g.containers {
		if hasLabels(c.Labels, labels) {
			out = append(out, c)
		}
	}
	return out, nil
}

func (g *gcEngine) ListVolumes(_ context.Context, labels map[string]string) ([]VolumeInfo, error) {
	var out []VolumeInfo
	for _, v := range g.volumes {
		if hasLabels(v.Labels, labels) {
			out = append(out, v)
		}
	}
	return out, nil
}

func (g *gcEngine) RemoveVolume(_ context.Context, name string) error {
	g.removedVolumes = append(g.removedVolumes, name)
	return nil
}

func hasLabels(have, want map[string]string) bool {
	for k, v := range want {
		if got, ok := have[k]; !ok || v != "" && got != v {
			return false
		}
	}
	return true
}

func TestCollectGarbage(t *testing.T) {
	t.Parallel()
	parent := t.TempDir()
	live, err := tmpdir.New(parent, "kanikorun-")
	if err != nil {
		t.Fatal(err)
	}
	defer live.Remove()
	dead := filepath.Join(parent, "kanikorun-dead")
	if err := os.Mkdir(dead, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dead, ".kanikorun.lock"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	gone := filepath.Join(parent, "kanikorun-gone")
	ours := func(run string) map[string]string {
		return map[string]string{spec.ManagedLabel: "true", RunLabel: run, HostLabel: hostname()}
	}
	other := ours(gone)
	other[HostLabel] = "another-machine"
	eng := &gcEngine{
		containers: []ContainerInfo{
			{ID: "deadcreated0000", State: "created", Labels: ours(dead)},
			{ID: "goneexited00000", State: "exited", Labels: ours(gone)},
			{ID: "liverunning0000", State: "running", Labels: ours(live.Path)},
			{ID: "otherhost000000", State: "created", Labels: other},
			{ID: "norunlabel00000", State: "created", Labels: map[string]string{spec.ManagedLabel: "true"}},
			{ID: "anothertool0000", State: "created", Labels: map[string]string{RunLabel: gone, HostLabel: hostname()}},
		},
		volumes: []VolumeInfo{
			{Name: CacheVolume, Labels: ours(gone)},
			{Name: "kanikorun-ctx-1", Labels: ours(gone)},
			{Name: "kanikorun-ctx-2", Labels: ours(live.Path)},
			{Name: "someone-elses", Labels: map[string]string{}},
		},
	}
	g, err := CollectGarbage(context.Background(), eng, GCOptions{TempDir: parent})
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"deadcreated0", "goneexited00"}; !slices.Equal(eng.removed, []string{"deadcreated0000", "goneexited00000"}) {
		t.Errorf("removed containers %v, want %v only", eng.removed, want)
	}
	if !slices.Equal(eng.removedVolumes, []string{"kanikorun-ctx-1"}) {
		t.Errorf("removed volumes %v, want kanikorun-ctx-1 only", eng.removedVolumes)
	}
	if !slices.Equal(g.TempDirs, []string{dead}) {
		t.Errorf("removed temp dirs %v, want %s", g.TempDirs, dead)
	}
	if g.Kept != 5 {
		t.Errorf("kept %d, want 5 (live, other host, no run label; cache and live volume)", g.Kept)
	}
	var out strings.Builder
	_, _ = g.WriteTo(&out)
	if !strings.Contains(out.String(), "removed container deadcreated0 (created, never started)") ||
		!strings.Contains(out.String(), "2 containers, 1 volumes, 1 temp dirs, 0 partial tarballs removed; 5 left alone") {
		t.Errorf("report:\n%s", out.String())
	}
	if _, err := os.Stat(live.Path); err != nil {
		t.Errorf("the live run's directory went: %v", err)
	}
}
