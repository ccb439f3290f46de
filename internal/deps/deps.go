package main
import (
 _ "github.com/docker/docker/client"
 _ "github.com/docker/docker/pkg/jsonmessage"
 _ "github.com/docker/docker/pkg/stdcopy"
 _ "github.com/docker/go-connections/nat"
 _ "github.com/urfave/cli/v2"
 _ "github.com/moby/term"
 _ "github.com/google/go-containerregistry/pkg/registry"
 _ "github.com/google/go-containerregistry/pkg/v1/remote"
 _ "github.com/docker/cli/cli/config"
 _ "github.com/moby/buildkit/frontend/dockerfile/parser"
 _ "github.com/moby/buildkit/frontend/dockerfile/shell"
 _ "github.com/moby/patternmatcher/ignorefile"
 _ "github.com/spf13/pflag"
 _ "github.com/creack/pty"
)
func main(){}
