package runner

import (
	"fmt"
	"strings"

	prep "github.com/kanikorun/kanikorun/internal/prepare"
	"github.com/kanikorun/kanikorun/internal/spec"
)

// NetworkNeeds is what decides the executor container's network.
type NetworkNeeds struct {
	// Registries are the hosts of every registry the build touches.
	Registries []string
	// LocalContext is true when the executor reads the context from a
	// directory (not git://, s3://, https://, ...).
	LocalContext bool
	// Offline is true when building the Dockerfile reaches nothing by
	// itself: no pull, no RUN, no download.
	Offline bool
}

// NeedsOf is what a prepared build needs of the network.
func NeedsOf(p *prep.Prepared) NetworkNeeds {
	return NetworkNeeds{
		Registries:   p.RegistryHosts(),
		LocalContext: p.Flags.LocalContext() && !p.RegistriesUnknown,
		Offline:      !p.DockerfileNeedsNetwork(),
	}
}

// ChooseNetwork picks the container's network and, when it departs from
// the default, the one line that says why:
//   - the user's --network wins (with a warning when a loopback registry
//     is then unreachable);
//   - a registry on this machine's loopback needs host networking: a
//     bridged container cannot see it;
//   - a build that pulls, pushes, runs and downloads nothing gets no
//     network at all: safer, and no bridge and veth to set up;
//   - otherwise the requested default (bridge), as in a pod.
func ChooseNetwork(n NetworkNeeds, requested string, explicit bool) (network, notice string) {
	var loop []string
	for _, r := range n.Registries {
		if spec.IsLoopback(r) {
			loop = append(loop, r)
		}
	}
	switch {
	case explicit:
		if len(loop) > 0 && requested != "host" {
			return requested, fmt.Sprintf("warning: %s is on loopback and unreachable from --network %s", strings.Join(loop, ", "), requested)
		}
		return requested, ""
	case len(loop) > 0:
		return "host", fmt.Sprintf("using host networking: %s is on loopback", strings.Join(loop, ", "))
	case len(n.Registries) == 0 && n.LocalContext && n.Offline:
		return "none", "using no network: the build pulls, pushes and runs nothing (pass --network to choose)"
	}
	return requested, ""
}
