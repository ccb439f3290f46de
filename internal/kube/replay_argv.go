package kube

import (
	"fmt"
	"path"
	"strings"

	"github.com/kanikorun/kanikorun/internal/plan"
	"github.com/kanikorun/kanikorun/internal/spec"
)

// lockedPaths lists the container paths that must never be writable: the
// workspace, the build context, the Dockerfile and the docker config.
func lockedPaths(f spec.ExecutorFlags, workDir string) []string {
	locked := []string{spec.WorkspaceDir, dockerConfigDir}
	ctx, df := plan.ExecutorPaths(f, workDir)
	if f.Context != "" && ctx != "" {
		locked = append(locked, ctx)
	}
	if f.Dockerfile != "" && df != "" {
		locked = append(locked, df)
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

func writesDigestToTerminationLog(f spec.ExecutorFlags) bool {
	return f.DigestFile != "" && path.Clean(f.DigestFile) == spec.TerminationLog
}

// outputWarnings names executor outputs that point into a read-only mount:
// the manifest may have written them next to the context, which replay
// does not allow.
func outputWarnings(flags spec.ExecutorFlags, mounts []plan.Mount, workDir string) []string {
	cwd := workDir
	if cwd == "" {
		cwd = spec.WorkspaceDir
	}
	var warns []string
	for _, o := range []struct{ f, v string }{
		{"tar-path", flags.TarPath}, {"oci-layout-path", flags.OCILayoutPath}, {"digest-file", flags.DigestFile},
		{"image-name-with-digest-file", flags.ImageNameWithDigestFile}, {"image-name-tag-with-digest-file", flags.ImageNameTagWithDigestFile},
		{"cache-dir", flags.CacheDir}, {"cache-repo", flags.CacheRepo},
	} {
		f, v := o.f, o.v
		if v == "" {
			continue
		}
		{
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
					warns = append(warns, fmt.Sprintf("--%s=%s writes into the read-only mount at %s (replay never makes the context writable); the write will fail, or in stream mode stay in the container's copy", f, v, m.Target))
				}
			}
		}
	}
	return warns
}
