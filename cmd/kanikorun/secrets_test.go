package main

import (
	"context"
	"sync"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/kanikorun/kanikorun/internal/testbed"
)

// The fork-mode stand-in (testbed.StandInForkImage), loaded once per test
// process when a test or script first asks for it.
var (
	forkStandInOnce sync.Once
	forkStandInRef  string
	forkStandInErr  error
)

func forkStandIn() (string, error) {
	forkStandInOnce.Do(func() {
		ctx := context.Background()
		cli, err := testbed.Docker(ctx)
		if err != nil {
			forkStandInErr = err
			return
		}
		defer cli.Close()
		forkStandInRef, forkStandInErr = testbed.StandInForkImage(ctx, cli)
	})
	return forkStandInRef, forkStandInErr
}

// cmdForkExecutor: forkexecutor sets $FORK to the fork-mode stand-in
// executor, which kanikorun needs --executor-flavor fork to know as the
// fork. Use it after [!docker] skip.
func cmdForkExecutor(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 0 {
		ts.Fatalf("usage: forkexecutor")
	}
	ref, err := forkStandIn()
	ts.Check(err)
	ts.Setenv("FORK", ref)
}
