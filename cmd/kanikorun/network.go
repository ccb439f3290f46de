package main

import (
	"fmt"
	"io"
	"path"
	"strings"

	"github.com/kanikorun/kanikorun/internal/lint"
	"github.com/kanikorun/kanikorun/internal/plan"
	"github.com/kanikorun/kanikorun/internal/spec"
)

// networkNeeds is what decides the executor container's network.
type networkNeeds struct {
	// registries are the hosts of every registry the build touches.
	registries []string
	// dockerfile is the Dockerfile's host path; empty when unknown.
	dockerfile string
	// localContext is true when the executor reads the context from a
	// directory (not git://, s3://, https://, ...).
	localContext bool
}

// pickNetwork chooses the container's network, saying why in one line on
// stderr when it departs from the default:
//   - the user's --network wins (with a warning when a loopback registry
//     is then unreachable);
//   - a registry on this machine's loopback needs host networking: a
//     bridged container cannot see it;
//   - a build that pulls, pushes, runs and downloads nothing gets no
//     network at all: safer, and faster (no bridge and veth to set up);
//   - otherwise the default (bridge), as in a pod.
func pickNetwork(n networkNeeds, requested string, explicit bool, stderr io.Writer) string {
	var loop []string
	for _, r := range n.registries {
		if spec.IsLoopback(r) {
			loop = append(loop, r)
		}
	}
	switch {
	case explicit:
		if len(loop) > 0 && requested != "host" {
			fmt.Fprintf(stderr, "kanikorun: warning: %s is on loopback and unreachable from --network %s\n", strings.Join(loop, ", "), requested)
		}
		return requested
	case len(loop) > 0:
		fmt.Fprintf(stderr, "kanikorun: using host networking: %s is on loopback\n", strings.Join(loop, ", "))
		return "host"
	case len(n.registries) == 0 && n.localContext && n.dockerfile != "" && !lint.NeedsNetwork(n.dockerfile):
		fmt.Fprintln(stderr, "kanikorun: using no network: the build pulls, pushes and runs nothing (pass --network to choose)")
		return "none"
	}
	return requested
}

// localContext reports whether executor arguments read the context from a
// directory in the container.
func localContext(argv []string) bool {
	c, ok := spec.LastFlag(argv, "context", 'c')
	return !ok || strings.HasPrefix(c, "dir://") || strings.HasPrefix(c, "/") || !strings.Contains(c, "://")
}

// podFiles are where an executor argument list's context and Dockerfile
// live on the host, through the container's bind mounts.
type podFiles struct {
	context, dockerfile string // host paths; empty when not a local file
	dockerfileInPod     string // the path the executor reads
}

// executorFiles resolves the context and Dockerfile an executor argument
// list names, with kaniko's defaults (context /workspace/, Dockerfile
// "Dockerfile" relative to it).
func executorFiles(argv []string, mounts []plan.Mount) podFiles {
	var f podFiles
	ctxDir, ok := spec.LastFlag(argv, "context", 'c')
	if !ok {
		ctxDir = spec.WorkspaceDir + "/"
	}
	if !localContext(argv) {
		return f
	}
	ctxDir = strings.TrimPrefix(ctxDir, "dir://")
	f.context, _ = hostPath(mounts, path.Clean(ctxDir))
	df, ok := spec.LastFlag(argv, "dockerfile", 'f')
	if !ok {
		df = "Dockerfile"
	}
	if !strings.HasPrefix(df, "/") {
		df = path.Join(ctxDir, df)
	}
	f.dockerfileInPod = df
	f.dockerfile, _ = hostPath(mounts, df)
	return f
}

// hostPath maps a container path to its host path through the plan's bind
// mounts (the deepest mount holding it wins).
func hostPath(mounts []plan.Mount, p string) (string, bool) {
	best := -1
	var out string
	for _, m := range mounts {
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
