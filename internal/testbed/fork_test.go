package testbed

import (
	"context"
	"slices"
	"testing"
)

// The fork-mode image is the upstream stand-in with StandInFlavorEnv=fork
// added: same layers, entrypoint and working directory, and built once.
func TestStandInFork(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	up, err := StandIn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	fork, err := StandInFork(ctx)
	if err != nil {
		t.Fatal(err)
	}
	again, err := StandInFork(ctx)
	if err != nil || again != fork {
		t.Errorf("second StandInFork = %v, %v; want the same image", again, err)
	}
	upCfg, err := up.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	forkCfg, err := fork.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	if want := append(slices.Clone(ExecutorEnv), StandInFlavorEnv+"=fork"); !slices.Equal(forkCfg.Config.Env, want) {
		t.Errorf("fork env = %q, want %q", forkCfg.Config.Env, want)
	}
	if slices.Contains(upCfg.Config.Env, StandInFlavorEnv+"=fork") {
		t.Errorf("upstream env %q has the fork mode", upCfg.Config.Env)
	}
	if !slices.Equal(forkCfg.Config.Entrypoint, upCfg.Config.Entrypoint) || forkCfg.Config.WorkingDir != upCfg.Config.WorkingDir {
		t.Errorf("fork config %+v differs from upstream %+v beyond the environment", forkCfg.Config, upCfg.Config)
	}
	upLayers, _ := up.Layers()
	forkLayers, _ := fork.Layers()
	if len(upLayers) != 1 || len(forkLayers) != 1 {
		t.Fatalf("layers: upstream %d, fork %d", len(upLayers), len(forkLayers))
	}
	a, _ := upLayers[0].Digest()
	b, _ := forkLayers[0].Digest()
	if a != b {
		t.Errorf("fork layer %s, upstream %s: want the same binary", b, a)
	}
}
