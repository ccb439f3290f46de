package plan

import (
	"path"
	"strings"

	"github.com/kanikorun/kanikorun/internal/spec"
)

// ExecutorArgs returns the executor's argument list: a replaced
// entrypoint's own arguments (a manifest's command after the binary),
// then Args.
func (c Container) ExecutorArgs() []string {
	if len(c.Entrypoint) > 1 {
		return append(append([]string(nil), c.Entrypoint[1:]...), c.Args...)
	}
	return c.Args
}

// Files are where the executor's context and Dockerfile live on the host,
// through the container's bind mounts.
type Files struct {
	// Context and Dockerfile are host paths; empty when not a local file.
	Context, Dockerfile string
	// DockerfileInContainer is the path the executor reads.
	DockerfileInContainer string
}

// ExecutorFiles resolves the context and Dockerfile the executor flags
// name, with kaniko's defaults (context /workspace/, Dockerfile
// "Dockerfile" relative to it), to host paths.
func (c Container) ExecutorFiles(f spec.ExecutorFlags) Files {
	var out Files
	if !f.LocalContext() {
		return out
	}
	ctxDir := f.Context
	if ctxDir == "" {
		ctxDir = spec.WorkspaceDir + "/"
	}
	ctxDir = strings.TrimPrefix(ctxDir, "dir://")
	out.Context, _ = c.HostPath(path.Clean(ctxDir))
	df := f.Dockerfile
	if df == "" {
		df = "Dockerfile"
	}
	if !strings.HasPrefix(df, "/") {
		df = path.Join(ctxDir, df)
	}
	out.DockerfileInContainer = df
	out.Dockerfile, _ = c.HostPath(df)
	return out
}

// HostPath maps a container path to its host path through the bind mounts
// (the deepest mount holding it wins).
func (c Container) HostPath(p string) (string, bool) {
	best := -1
	var out string
	for _, m := range c.Mounts {
		t := strings.TrimSuffix(m.Target, "/")
		if p != t && !strings.HasPrefix(p, t+"/") {
			continue
		}
		if len(t) > best {
			best = len(t)
			out = path.Join(m.Source, strings.TrimPrefix(p, t))
		}
	}
	return out, best >= 0
}
