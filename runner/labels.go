package runner

import (
	"os"

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

// CacheVolume is the layer cache's named volume, which gc never removes.
const CacheVolume = "kanikorun-cache"

// withRunLabels returns labels plus the run's own, leaving labels as it
// was.
func withRunLabels(labels map[string]string, runDir string) map[string]string {
	out := map[string]string{RunLabel: runDir, HostLabel: hostname()}
	for k, v := range labels {
		out[k] = v
	}
	return out
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
