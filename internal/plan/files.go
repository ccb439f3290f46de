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

// ExecutorPaths returns where in the container the executor reads its
// build context and Dockerfile, as kaniko resolves its flags: --context
// (default /workspace, relative to the working directory) when it is a
// local directory, and --dockerfile (default Dockerfile) relative to that
// context. Either is "" when it is not a local path (a tar://, git:// or
// bucket context).
func ExecutorPaths(f spec.ExecutorFlags, workDir string) (ctxDir, dockerfile string) {
	cwd := workDir
	if cwd == "" {
		cwd = spec.WorkspaceDir
	}
	ctxDir = spec.WorkspaceDir
	if v := f.Context; v != "" {
		ctxDir = ""
		if dir, isDir := strings.CutPrefix(v, "dir://"); isDir || !strings.Contains(v, "://") {
			if !path.IsAbs(dir) {
				dir = path.Join(cwd, dir)
			}
			ctxDir = path.Clean(dir)
		}
	}
	df := f.Dockerfile
	if df == "" {
		df = "Dockerfile"
	}
	switch {
	case path.IsAbs(df):
		dockerfile = path.Clean(df)
	case ctxDir != "":
		dockerfile = path.Join(ctxDir, df)
	}
	return ctxDir, dockerfile
}

// ExecutorFiles resolves the context and Dockerfile the executor flags
// name (ExecutorPaths) to host paths through the container's mounts.
func (c Container) ExecutorFiles(f spec.ExecutorFlags) Files {
	ctxDir, df := ExecutorPaths(f, c.WorkingDir)
	out := Files{DockerfileInContainer: df}
	if ctxDir != "" {
		out.Context, _ = c.HostPath(ctxDir)
	}
	if df != "" {
		out.Dockerfile, _ = c.HostPath(df)
	}
	return out
}

// HostPath maps a container path to its host path through the bind mounts
// (the deepest mount holding it wins).
func (c Container) HostPath(p string) (string, bool) {
	m, ok := c.mountOf(path.Clean(p))
	if !ok {
		return "", false
	}
	return path.Join(m.Source, strings.TrimPrefix(path.Clean(p), path.Clean(m.Target))), true
}
