package main

import (
	"io"

	"github.com/moby/term"
	"github.com/urfave/cli/v2"

	"github.com/kanikorun/kanikorun/internal/lint"
	"github.com/kanikorun/kanikorun/internal/prepare"
	"github.com/kanikorun/kanikorun/internal/spec"
	"github.com/kanikorun/kanikorun/runner"
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
	flagNoCache       = "no-cache"
	flagCacheFrom     = "cache-from"
	flagCacheTo       = "cache-to"
	flagSecret        = "secret"
	flagPull          = "pull"
	flagExecutorPull  = "executor-pull"
	flagPlatform      = "platform"
	flagIIDFile       = "iidfile"
	flagMetadataFile  = "metadata-file"
	flagProgress      = "progress"
	flagQuiet         = "quiet"
)

// describeFlags are the flags that make up a build description: the same
// for build, creds, job and lint, so a command line moves between them.
func describeFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: flagFile, Aliases: []string{"f"}, Usage: "Dockerfile `PATH` (default CONTEXT/Dockerfile); may lie outside the context"},
		&cli.StringSliceFlag{Name: flagDestination, Aliases: []string{"t", "d"}, Usage: "image `REF` to push to (repeatable)"},
		&cli.StringSliceFlag{Name: flagBuildArg, Usage: "build argument `KEY=VALUE`, or KEY to take it from the environment (repeatable)"},
		&cli.StringFlag{Name: flagTarget, Usage: "build the `STAGE` and stop"},
		&cli.StringFlag{Name: flagPlatform, Usage: "build for `PLATFORM` os/arch[/variant] (the executor's --custom-platform); one only"},
		&cli.StringSliceFlag{Name: flagLabel, Usage: "image label `KEY=VALUE` (repeatable)"},
		&cli.BoolFlag{Name: flagNoPush, Usage: "build without pushing"},
		&cli.StringFlag{Name: flagExecutorImage, Value: spec.DefaultExecutorImage, EnvVars: []string{"KANIKORUN_EXECUTOR_IMAGE"}, Usage: "kaniko executor `IMAGE` to run"},
		&cli.StringSliceFlag{Name: flagInsecureReg, Usage: "registry `HOST[:PORT]` reached over plain HTTP (repeatable)"},
		&cli.StringSliceFlag{Name: flagMirror, Usage: "pull-through `MIRROR` for docker.io (repeatable)"},
		&cli.BoolFlag{Name: flagSkipTLS, Usage: "skip TLS verification when pushing"},
		&cli.StringFlag{Name: flagDockerConfig, Usage: "docker config `DIR` holding config.json (default $DOCKER_CONFIG, else ~/.docker)"},
		&cli.BoolFlag{Name: flagNoCache, Usage: "build without the layer and base-image cache"},
		&cli.StringSliceFlag{Name: flagCacheFrom, Usage: "read the layer cache from `type=registry,ref=REPO` instead of the local cache volume"},
		&cli.StringSliceFlag{Name: flagCacheTo, Usage: "read and write the layer cache in `type=registry,ref=REPO` instead of the local cache volume"},
		&cli.StringSliceFlag{Name: flagSecret, Usage: "secret for RUN --mount=type=secret, as docker build: `id=ID,src=FILE` or id=ID,env=VAR (repeatable; needs the fork executor)"},
		// docker build's --pull: the executor pulls base images on every
		// build anyway, so it is accepted and changes nothing.
		&cli.BoolFlag{Name: flagPull, Usage: "always pull base images (what the executor does anyway; the executor image itself: --executor-pull)"},
	}
}

// outputFlags are the local-only outputs of build.
func outputFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: flagTar, Usage: "write the image tarball (docker load format) to `PATH` on the host"},
		&cli.BoolFlag{Name: flagLoad, Usage: "load the image into the local Docker daemon"},
		&cli.StringFlag{Name: flagDigestFile, Usage: "write the image digest to `PATH` on the host"},
		&cli.StringFlag{Name: flagIIDFile, Usage: "write the image ID (the config digest) to `PATH` on the host"},
		&cli.StringFlag{Name: flagMetadataFile, Usage: "write the build result as JSON (buildx's keys) to `PATH` on the host"},
	}
}

// bindBuild reads the build description's flags, the CONTEXT argument and
// the executor arguments after --.
func bindBuild(c *cli.Context, extra []string) spec.Options {
	o := spec.Options{
		Args:               c.Args().Slice(),
		Dockerfile:         c.String(flagFile),
		Destinations:       c.StringSlice(flagDestination),
		BuildArgs:          c.StringSlice(flagBuildArg),
		Target:             c.String(flagTarget),
		Labels:             c.StringSlice(flagLabel),
		NoPush:             c.Bool(flagNoPush),
		Platform:           c.String(flagPlatform),
		ExecutorImage:      c.String(flagExecutorImage),
		InsecureRegistries: c.StringSlice(flagInsecureReg),
		Mirrors:            c.StringSlice(flagMirror),
		SkipTLSVerify:      c.Bool(flagSkipTLS),
		ExecutorArgs:       extra,
		Secrets:            c.StringSlice(flagSecret),
		LookupEnv:          lookupEnv,
		NoCache:            c.Bool(flagNoCache),
		CacheFrom:          c.StringSlice(flagCacheFrom),
		CacheTo:            c.StringSlice(flagCacheTo),
	}
	if c.Command != nil && hasFlag(c.Command, flagRetries) {
		o.Retries = c.Int(flagRetries)
	}
	if c.Command != nil && hasFlag(c.Command, flagTar) {
		o.TarPath = c.String(flagTar)
		o.DigestFile = c.String(flagDigestFile)
		o.Load = c.Bool(flagLoad)
		o.IIDFile = c.String(flagIIDFile)
		o.MetadataFile = c.String(flagMetadataFile)
	}
	if c.Command != nil && hasFlag(c.Command, flagProgress) {
		p := c.String(flagProgress)
		o.Color = p == runner.ProgressTTY || p == runner.ProgressAuto && isTerminal(c.App.ErrWriter)
	}
	return o
}

// bindPrepare reads everything the preparation step needs.
func bindPrepare(c *cli.Context, extra []string, mode lint.Mode) prepare.Options {
	return prepare.Options{
		Build:        bindBuild(c, extra),
		Preflight:    bindPolicy(c),
		Mode:         mode,
		DockerConfig: c.String(flagDockerConfig),
	}
}

// runFlags are the flags of commands that run the executor locally (build,
// replay).
func runFlags() []cli.Flag {
	return append([]cli.Flag{
		&cli.StringFlag{Name: flagExecutorPull, Value: string(runner.PullMissing), Usage: "when the daemon pulls the executor image: `missing`, always or never"},
		&cli.StringFlag{Name: "network", Value: "bridge", Usage: "container `NETWORK` mode (kanikorun picks host for loopback registries, none when nothing needs the network)"},
		&cli.DurationFlag{Name: "timeout", Usage: "stop the build after `DURATION` (e.g. 30m); 0 means no limit"},
		&cli.BoolFlag{Name: "dry-run", Usage: "print the equivalent docker run line and exit"},
		&cli.BoolFlag{Name: flagQuiet, Aliases: []string{"q"}, Usage: "print only the result on stdout (the digest, the loaded image ID, or the docker run line); the executor's output goes to stderr"},
		&cli.StringFlag{Name: flagProgress, Value: runner.ProgressAuto, Usage: "executor log `MODE`: auto (colour on a terminal), plain, tty (colour) or quiet (as -q)"},
	}, retryFlags()...)
}

// bindRun reads the local-run flags.
func bindRun(c *cli.Context) runner.Options {
	return runner.Options{
		Pull:       runner.PullPolicy(c.String(flagExecutorPull)),
		Network:    c.String("network"),
		NetworkSet: c.IsSet("network"),
		Timeout:    c.Duration("timeout"),
		DryRun:     c.Bool("dry-run"),
		// build and replay; "" (auto) elsewhere.
		ContextMode: c.String("context-mode"),
		Progress:    c.String(flagProgress),
		Quiet:       c.Bool(flagQuiet),
		RetryDelay:  c.Duration(flagRetryDelay),
	}
}

// isTerminal reports whether w is a terminal.
func isTerminal(w io.Writer) bool {
	_, ok := term.GetFdInfo(w)
	return ok
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
