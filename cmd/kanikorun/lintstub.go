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
func lintFlags() []cli.Flag { return nil }

func preflight(*cli.Context, *spec.Build, lintMode) error { return nil }
