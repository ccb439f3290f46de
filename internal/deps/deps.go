// Package main pins modules that packages under construction use, so that
// parallel work does not race on go.mod. Removed once every module is
// imported by real code.
package main

import (
	_ "github.com/creack/pty"
	_ "github.com/docker/cli/cli/config"
	_ "github.com/docker/docker-credential-helpers/client"
	_ "github.com/docker/docker/client"
	_ "github.com/docker/docker/pkg/jsonmessage"
	_ "github.com/docker/docker/pkg/stdcopy"
	_ "github.com/docker/go-connections/nat"
	_ "github.com/google/go-containerregistry/pkg/registry"
	_ "github.com/google/go-containerregistry/pkg/v1/remote"
	_ "github.com/moby/buildkit/frontend/dockerfile/instructions"
	_ "github.com/moby/buildkit/frontend/dockerfile/parser"
	_ "github.com/moby/buildkit/frontend/dockerfile/shell"
	_ "github.com/moby/patternmatcher/ignorefile"
	_ "github.com/moby/term"
	_ "github.com/spf13/pflag"
	_ "github.com/urfave/cli/v2"
	_ "k8s.io/api/batch/v1"
	_ "k8s.io/api/core/v1"
	_ "k8s.io/apimachinery/pkg/runtime/serializer/json"
	_ "sigs.k8s.io/yaml"
)

func main() {}
