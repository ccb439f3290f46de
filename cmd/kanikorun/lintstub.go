package main

import (
	"github.com/urfave/cli/v2"

	"github.com/kanikorun/kanikorun/internal/spec"
)

type lintMode int

const (
	modeLocal lintMode = iota
	modeJob
)

// lintFlags are placeholders until the linter lands.
func lintFlags() []cli.Flag {
	return []cli.Flag{&cli.BoolFlag{Name: "no-lint", Usage: "skip the preflight checks"}}
}

func preflight(*cli.Context, *spec.Build, lintMode) error { return nil }
