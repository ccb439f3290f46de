package runner

import (
	"os"

	"github.com/kanikorun/kanikorun/internal/plan"
	"github.com/kanikorun/kanikorun/internal/spec"
)

// Labels that tie a container (or volume) to the run that made it, so
// that kanikorun gc can tell a killed run's leftovers from a live run's.
const (
	// RunLabel holds the run's locked temp directory (internal/tmpdir):
	// the run is alive while that directory's lock is held.
	RunLabel = "io.kanikorun.run"
	// HostLabel holds the host name of the machine the run was on: a
	// run directory is only meaningful there (a remote daemon serves
	// several machines).
	HostLabel = "io.kanikorun.host"
)

// CacheVolume is the layer cache's named volume by default, which gc
// never removes (nor any volume with CacheLabel).
const CacheVolume = DefaultCacheVolume

// withRunLabels returns labels plus the run's own, leaving labels as it
// was.
func withRunLabels(labels map[string]string, runDir string) map[string]string {
	out := map[string]string{RunLabel: runDir, HostLabel: hostname()}
	for k, v := range labels {
		out[k] = v
	}
	return out
}

// labelRun labels a container kept after its exit, and its anonymous
// volumes (stream mode's unpacked context, replay's copied directories),
// with the run whose temporary directory is runDir: they go with the
// container, and gc knows a killed run's by these.
func labelRun(c *plan.Container, runDir string) {
	c.Labels = withRunLabels(c.Labels, runDir)
	for i, v := range c.Volumes {
		if v.Name == "" {
			c.Volumes[i].Labels = withManagedLabel(withRunLabels(nil, runDir))
		}
	}
}

func hostname() string {
	h, err := os.Hostname()
	if err != nil || h == "" {
		return "localhost"
	}
	return h
}

// managedLabels select what kanikorun made.
var managedLabels = map[string]string{spec.ManagedLabel: "true"}
