package main

import (
	"github.com/urfave/cli/v2"

	"github.com/kanikorun/kanikorun/runner"
)

// Flag names of the retry flags.
const (
	flagRetries    = "retries"
	flagRetryDelay = "retry-delay"
)

// retryFlags say how often a transiently failed build runs again. They
// are run flags: build uses them, and job renders the executor's own
// retry flags from --retries as build does (the Job's pod retries stay
// --backoff-limit).
func retryFlags() []cli.Flag {
	return []cli.Flag{
		&cli.IntFlag{Name: flagRetries, Usage: "run the build again up to `N` times after a transient registry, network or daemon failure (also passes --push-retry=N --image-download-retry=N to the executor)"},
		&cli.DurationFlag{Name: flagRetryDelay, Value: runner.DefaultRetryDelay, Usage: "wait `DURATION` before the first retry, doubling each time (capped at 1m, with jitter)"},
	}
}
