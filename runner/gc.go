package runner

import (
	"context"
	"fmt"
	"io"
	"os"

	"github.com/kanikorun/kanikorun/internal/tmpdir"
)

// GCOptions say where kanikorun gc looks.
type GCOptions struct {
	// TempDir is the parent of the runs' private directories; empty means
	// os.TempDir(), where build makes them.
	TempDir string
}

// Validate checks the options.
func (o GCOptions) Validate() error { return nil }

// GCReport is what kanikorun gc removed and left.
type GCReport struct {
	// Containers are the removed containers: short ID and state.
	Containers []string
	// Volumes are the removed volumes' names.
	Volumes []string
	// TempDirs are the removed run directories.
	TempDirs []string
	// Partials are the removed partial tarballs (.kanikorun-*.tar.partial).
	Partials []string
	// Kept counts kanikorun's containers and volumes left alone: a live
	// run's, another machine's, or of no run kanikorun can tell.
	Kept int
	// Failed are the removals that failed, one line each.
	Failed []string
}

// WriteTo prints the report: one line per removed thing, then a summary.
func (g *GCReport) WriteTo(w io.Writer) (int64, error) {
	var n int64
	p := func(format string, a ...any) {
		m, _ := fmt.Fprintf(w, format+"\n", a...)
		n += int64(m)
	}
	for _, c := range g.Containers {
		p("removed container %s", c)
	}
	for _, v := range g.Volumes {
		p("removed volume %s", v)
	}
	for _, d := range g.TempDirs {
		p("removed temp dir %s", d)
	}
	for _, f := range g.Partials {
		p("removed partial tarball %s", f)
	}
	p("%d containers, %d volumes, %d temp dirs, %d partial tarballs removed; %d left alone (a live run's, another machine's, or of no run)",
		len(g.Containers), len(g.Volumes), len(g.TempDirs), len(g.Partials), g.Kept)
	return n, nil
}

// GC removes what killed runs left: their containers (also those created
// but never started, which the daemon's AutoRemove never removes), their
// volumes except the cache, their temp directories and the partial
// tarballs those recorded. Only what carries kanikorun's managed label is
// considered, and of that only what belongs to a run of this machine whose
// lock nobody holds: a live run's containers, and anything another tool
// made, are never touched.
func GC(ctx context.Context, o GCOptions) (*GCReport, error) {
	eng, err := Connect(ctx)
	if err != nil {
		return nil, err
	}
	defer eng.Close()
	return CollectGarbage(ctx, eng, o)
}

// CollectGarbage is GC on a given Engine.
func CollectGarbage(ctx context.Context, eng Engine, o GCOptions) (*GCReport, error) {
	g := &GCReport{}
	containers, err := eng.ListContainers(ctx, managedLabels)
	if err != nil {
		return nil, fmt.Errorf("listing kanikorun's containers: %w", oneLine(err))
	}
	for _, c := range containers {
		if c.Leaving {
			// The daemon is removing it: a run returns at its
			// container's exit, and AutoRemove follows.
			continue
		}
		if !deadRun(c.Labels) {
			g.Kept++
			continue
		}
		state := c.State
		if state == "created" {
			state = "created, never started"
		}
		if err := eng.RemoveContainer(ctx, c.ID); err != nil {
			g.Failed = append(g.Failed, fmt.Sprintf("removing container %s: %v", shortID(c.ID), oneLine(err)))
			continue
		}
		g.Containers = append(g.Containers, fmt.Sprintf("%s (%s)", shortID(c.ID), state))
	}
	volumes, err := eng.ListVolumes(ctx, managedLabels)
	if err != nil {
		return nil, fmt.Errorf("listing kanikorun's volumes: %w", oneLine(err))
	}
	for _, v := range volumes {
		if v.Name == CacheVolume || v.Name == CacheVolumeName() || v.Labels[CacheLabel] != "" || !deadRun(v.Labels) {
			g.Kept++
			continue
		}
		if err := eng.RemoveVolume(ctx, v.Name); err != nil {
			g.Failed = append(g.Failed, fmt.Sprintf("removing volume %s: %v", v.Name, oneLine(err)))
			continue
		}
		g.Volumes = append(g.Volumes, v.Name)
	}
	parent := o.TempDir
	if parent == "" {
		parent = os.TempDir()
	}
	swept := tmpdir.SweepAll(parent, "kanikorun-")
	g.TempDirs, g.Partials = swept.Dirs, swept.Leftovers
	return g, nil
}

// deadRun reports whether labels name a run of this machine that has
// ended. Without a run label (or from another machine) nothing can be
// told, and nothing is touched.
func deadRun(labels map[string]string) bool {
	run := labels[RunLabel]
	if run == "" || labels[HostLabel] != hostname() {
		return false
	}
	return !tmpdir.Alive(run)
}
