package main

import (
	"path/filepath"

	"github.com/urfave/cli/v2"

	"github.com/kanikorun/kanikorun/internal/spec"
)

// Flag names shared by every command that describes a build.
const (
	flagFile          = "file"
	flagDestination   = "destination"
	flagBuildArg      = "build-arg"
	flagTarget        = "target"
	flagLabel         = "label"
	flagNoPush        = "no-push"
	flagTar           = "tar"
	flagLoad          = "load"
	flagDigestFile    = "digest-file"
	flagExecutorImage = "executor-image"
	flagInsecureReg   = "insecure-registry"
	flagMirror        = "registry-mirror"
	flagSkipTLS       = "skip-tls-verify"
	flagDockerConfig  = "docker-config"
)

// describeFlags are the flags that make up a build description: the same
// for build, creds, job and lint, so a command line moves between them.
func describeFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: flagFile, Aliases: []string{"f"}, Usage: "Dockerfile `PATH` (default CONTEXT/Dockerfile); may lie outside the context"},
		&cli.StringSliceFlag{Name: flagDestination, Aliases: []string{"t", "d"}, Usage: "image `REF` to push to (repeatable)"},
		&cli.StringSliceFlag{Name: flagBuildArg, Usage: "build argument `KEY=VALUE`, or KEY to take it from the environment (repeatable)"},
		&cli.StringFlag{Name: flagTarget, Usage: "build the `STAGE` and stop"},
		&cli.StringSliceFlag{Name: flagLabel, Usage: "image label `KEY=VALUE` (repeatable)"},
		&cli.BoolFlag{Name: flagNoPush, Usage: "build without pushing"},
		&cli.StringFlag{Name: flagExecutorImage, Value: spec.DefaultExecutorImage, EnvVars: []string{"KANIKORUN_EXECUTOR_IMAGE"}, Usage: "kaniko executor `IMAGE` to run"},
		&cli.StringSliceFlag{Name: flagInsecureReg, Usage: "registry `HOST[:PORT]` reached over plain HTTP (repeatable)"},
		&cli.StringSliceFlag{Name: flagMirror, Usage: "pull-through `MIRROR` for docker.io (repeatable)"},
		&cli.BoolFlag{Name: flagSkipTLS, Usage: "skip TLS verification when pushing"},
		&cli.StringFlag{Name: flagDockerConfig, Usage: "docker config `DIR` holding config.json (default $DOCKER_CONFIG, else ~/.docker)"},
	}
}

// outputFlags are the local-only outputs of build.
func outputFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: flagTar, Usage: "write the image tarball (docker load format) to `PATH` on the host"},
		&cli.BoolFlag{Name: flagLoad, Usage: "load the image into the local Docker daemon"},
		&cli.StringFlag{Name: flagDigestFile, Usage: "write the image digest to `PATH` on the host"},
	}
}

// describe turns the flags and the CONTEXT argument into a validated build
// description.
func describe(c *cli.Context) (*spec.Build, error) {
	if c.NArg() > 1 {
		return nil, usageErr("too many arguments %q: give one CONTEXT directory (executor flags go after --)", c.Args().Slice())
	}
	ctxDir := c.Args().First()
	if ctxDir == "" {
		ctxDir = "."
	}
	ctxAbs, err := filepath.Abs(ctxDir)
	if err != nil {
		return nil, usageErr("resolving context %q: %v", ctxDir, err)
	}
	df := c.String(flagFile)
	if df == "" {
		df = filepath.Join(ctxAbs, "Dockerfile")
	} else if df, err = filepath.Abs(df); err != nil {
		return nil, usageErr("resolving -f %q: %v", c.String(flagFile), err)
	}
	b := &spec.Build{
		Context:       ctxAbs,
		Dockerfile:    df,
		Destinations:  c.StringSlice(flagDestination),
		BuildArgs:     spec.ResolveBuildArgs(c.StringSlice(flagBuildArg), lookupEnv),
		Target:        c.String(flagTarget),
		Labels:        c.StringSlice(flagLabel),
		NoPush:        c.Bool(flagNoPush),
		ExecutorImage: chosenExecutorImage(c),
		Registry: spec.RegistryOptions{
			Insecure:      c.StringSlice(flagInsecureReg),
			Mirrors:       c.StringSlice(flagMirror),
			SkipTLSVerify: c.Bool(flagSkipTLS),
		},
		ExtraArgs: extraArgs(c.Context),
	}
	if c.Command != nil && hasFlag(c.Command, flagTar) {
		if p := c.String(flagTar); p != "" {
			if b.Outputs.TarPath, err = filepath.Abs(p); err != nil {
				return nil, usageErr("resolving --tar %q: %v", p, err)
			}
		}
		if p := c.String(flagDigestFile); p != "" {
			if b.Outputs.DigestFile, err = filepath.Abs(p); err != nil {
				return nil, usageErr("resolving --digest-file %q: %v", p, err)
			}
		}
		b.Outputs.Load = c.Bool(flagLoad)
	}
	if err := b.Validate(); err != nil {
		return nil, &exitError{code: exitUsage, err: err}
	}
	if len(b.Destinations) == 0 && (b.Outputs.TarPath != "" || b.Outputs.Load) {
		b.GeneratedDestination = spec.GenerateLocalName(b.Context, "latest")
	}
	return b, nil
}

// chosenExecutorImage is --executor-image, else KANIKORUN_EXECUTOR_IMAGE, else
// the pinned default; a variable that is set but empty counts as unset.
func chosenExecutorImage(c *cli.Context) string {
	if img := c.String(flagExecutorImage); img != "" {
		return img
	}
	return spec.DefaultExecutorImage
}

func hasFlag(cmd *cli.Command, name string) bool {
	for _, f := range cmd.Flags {
		for _, n := range f.Names() {
			if n == name {
				return true
			}
		}
	}
	return false
}
