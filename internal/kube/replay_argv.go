package kube

import (
	"fmt"
	"path"
	"path/filepath"
	"strings"

	"github.com/kanikorun/kanikorun/internal/plan"
	"github.com/kanikorun/kanikorun/internal/spec"
)

// Executor flags replay reads to decide what must be read-only and what
// the digest file is.
const (
	flagContext    = "context"
	flagDockerfile = "dockerfile"
	flagDigestFile = "digest-file"
)

// lockedPaths lists the container paths that must never be writable: the
// workspace, the build context, the Dockerfile and the docker config.
func lockedPaths(argv []string, workDir string) []string {
	locked := []string{spec.WorkspaceDir, dockerConfigDir}
	cwd := workDir
	if cwd == "" {
		cwd = spec.WorkspaceDir
	}
	ctx := spec.WorkspaceDir
	if v, ok := spec.LastFlag(argv, flagContext, 'c'); ok {
		ctx = ""
		dir, isDir := strings.CutPrefix(v, "dir://")
		if isDir || !strings.Contains(v, "://") {
			ctx = dir
			if !path.IsAbs(ctx) {
				ctx = path.Join(cwd, ctx)
			}
			locked = append(locked, path.Clean(ctx))
		}
	}
	if v, ok := spec.LastFlag(argv, flagDockerfile, 'f'); ok {
		switch {
		case path.IsAbs(v):
			locked = append(locked, path.Clean(v))
		case ctx != "":
			locked = append(locked, path.Join(ctx, v))
		}
	}
	return locked
}

// isLocked reports a mount target that holds, or lies inside, a locked path.
func isLocked(target string, locked []string) bool {
	for _, l := range locked {
		if _, ok := under(target, l); ok {
			return true
		}
		if _, ok := under(l, target); ok {
			return true
		}
	}
	return false
}

func writesDigestToTerminationLog(argv []string) bool {
	for _, v := range spec.FlagValues(argv, flagDigestFile, 0) {
		if path.Clean(v) == spec.TerminationLog {
			return true
		}
	}
	return false
}

// outputWarnings names executor outputs that point into a read-only mount:
// the manifest may have written them next to the context, which replay
// does not allow.
func outputWarnings(argv []string, mounts []plan.Mount, workDir string) []string {
	cwd := workDir
	if cwd == "" {
		cwd = spec.WorkspaceDir
	}
	var warns []string
	for _, f := range []string{"tar-path", "oci-layout-path", flagDigestFile, "image-name-with-digest-file", "image-name-tag-with-digest-file", "cache-dir", "cache-repo"} {
		for _, v := range spec.FlagValues(argv, f, 0) {
			p := v
			if f == "cache-repo" {
				var ok bool
				if p, ok = strings.CutPrefix(v, "oci:"); !ok {
					continue
				}
			}
			if !path.IsAbs(p) {
				p = path.Join(cwd, p)
			}
			for _, m := range mounts {
				if _, in := under(m.Target, p); in && m.ReadOnly {
					warns = append(warns, fmt.Sprintf("--%s=%s writes into the read-only mount at %s (replay never makes the context writable); the write will fail", f, v, m.Target))
				}
			}
		}
	}
	return warns
}

// podPaths returns where in the container the executor reads its build
// context and Dockerfile from argv, as kaniko resolves them: --context
// (default /workspace, relative to the working directory) when it is a
// local directory, and --dockerfile (default Dockerfile) relative to that
// context. Either is "" when it is not a local path (a tar://, git:// or
// bucket context).
func podPaths(argv []string, workDir string) (ctxDir, dockerfile string) {
	cwd := workDir
	if cwd == "" {
		cwd = spec.WorkspaceDir
	}
	ctxDir = spec.WorkspaceDir
	if v, ok := spec.LastFlag(argv, flagContext, 'c'); ok {
		ctxDir = ""
		if dir, isDir := strings.CutPrefix(v, "dir://"); isDir || !strings.Contains(v, "://") {
			if !path.IsAbs(dir) {
				dir = path.Join(cwd, dir)
			}
			ctxDir = path.Clean(dir)
		}
	}
	df, ok := spec.LastFlag(argv, flagDockerfile, 'f')
	if !ok {
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

// hostPathIn maps a container path to its host path through the plan's
// bind mounts; the deepest mount holding it wins.
func hostPathIn(mounts []plan.Mount, p string) (string, bool) {
	best, out := -1, ""
	for _, m := range mounts {
		rel, ok := under(m.Target, p)
		if !ok || len(m.Target) <= best {
			continue
		}
		best, out = len(m.Target), filepath.Join(m.Source, filepath.FromSlash(rel))
	}
	return out, best >= 0
}
