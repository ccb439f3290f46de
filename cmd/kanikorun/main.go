// Command kanikorun builds container images from Dockerfiles with the kaniko
// executor, run as an ordinary container through the Docker Engine API, and
// renders the equivalent Kubernetes Job.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	// SIGHUP too: a closed terminal must not leave a build container and
	// its credentials file behind.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	code := run(ctx, os.Args, os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
