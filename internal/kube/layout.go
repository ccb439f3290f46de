package kube

import (
	"fmt"
	"path"
	"path/filepath"
	"strings"

	"github.com/kanikorun/kanikorun/internal/spec"
)

// PodLayout is where a Job's pod finds the build's files: the workspace
// claim at /workspace, the context at /workspace/<workspacePath>, the
// Dockerfile at the same place relative to the context as on the host, and
// the digest written to the termination log, where the kubelet turns it
// into the container's termination message.
//
// workspacePath "" means the base name of b.Context. A Dockerfile outside
// the context cannot reach the pod: the error says to move it.
func PodLayout(b *spec.Build, workspacePath string) (spec.Layout, error) {
	wp, err := cleanWorkspacePath(workspacePath)
	if err != nil {
		return spec.Layout{}, err
	}
	if wp == "" {
		wp = filepath.Base(filepath.Clean(b.Context))
		if wp == "." || wp == string(filepath.Separator) || wp == ".." {
			return spec.Layout{}, invalid("cannot name the context %q inside the claim; pass --workspace-path", b.Context)
		}
		if _, err := cleanWorkspacePath(wp); err != nil {
			return spec.Layout{}, err
		}
	}
	rel, ok := b.DockerfileInContext()
	if !ok {
		return spec.Layout{}, fmt.Errorf("%w: %q is not under %q and a Job sees only the workspace claim; move the Dockerfile into the context or copy it to the claim and pass it with -f", ErrDockerfileOutsideContext, b.Dockerfile, b.Context)
	}
	ctx := path.Join(spec.WorkspaceDir, wp)
	return spec.Layout{
		ContextDir: ctx,
		Dockerfile: path.Join(ctx, rel),
		DigestFile: spec.TerminationLog,
	}, nil
}

// MapPath rewrites a path inside one executor container layout (say the
// pod's) to the path of the same file in another (say the local run's):
// the context directory, the Dockerfile, the tarball and the digest file
// map onto each other, anything under the context keeps its place relative
// to it. It reports false for paths the layouts do not share.
func MapPath(p string, from, to spec.Layout) (string, bool) {
	switch {
	case p == "":
		return "", false
	case p == from.Dockerfile:
		return to.Dockerfile, to.Dockerfile != ""
	case p == from.DigestFile:
		return to.DigestFile, to.DigestFile != ""
	case p == from.TarPath:
		return to.TarPath, to.TarPath != ""
	}
	if rel, ok := under(from.ContextDir, p); ok {
		return path.Join(to.ContextDir, rel), true
	}
	return "", false
}

// MapArgs rewrites the path-valued executor flags that spec.Build.Args
// emits (--context, --dockerfile, --tar-path, --digest-file) from one
// layout to another, leaving every other argument alone. Parity checks use
// it to compare a Job's arguments with the local run's.
func MapArgs(args []string, from, to spec.Layout) []string {
	out := make([]string, len(args))
	for i, a := range args {
		out[i] = a
		flag, val, ok := strings.Cut(a, "=")
		if !ok {
			continue
		}
		switch flag {
		case "--context":
			if dir, isDir := strings.CutPrefix(val, "dir://"); isDir {
				if m, ok := MapPath(strings.TrimSuffix(dir, "/"), from, to); ok {
					out[i] = flag + "=dir://" + strings.TrimSuffix(m, "/") + "/"
				}
			}
		case "--dockerfile", "--tar-path", "--digest-file":
			if m, ok := MapPath(val, from, to); ok {
				out[i] = flag + "=" + m
			}
		}
	}
	return out
}

// HostPath maps a path inside the pod (a layout from PodLayout for b) back
// to the host file it came from: the context and everything under it.
func HostPath(b *spec.Build, pod spec.Layout, p string) (string, bool) {
	if p == pod.Dockerfile {
		return b.Dockerfile, true
	}
	if rel, ok := under(pod.ContextDir, p); ok {
		return filepath.Join(b.Context, filepath.FromSlash(rel)), true
	}
	return "", false
}

// under reports p's path relative to dir when p is dir or inside it.
func under(dir, p string) (string, bool) {
	if dir == "" || p == "" {
		return "", false
	}
	dir, p = path.Clean(dir), path.Clean(p)
	if p == dir {
		return ".", true
	}
	prefix := dir + "/"
	if dir == "/" {
		prefix = "/"
	}
	if rel, ok := strings.CutPrefix(p, prefix); ok {
		return rel, true
	}
	return "", false
}
