package main

import (
	"github.com/urfave/cli/v2"

	"github.com/kanikorun/kanikorun/internal/errs"
	"github.com/kanikorun/kanikorun/internal/kube"
	"github.com/kanikorun/kanikorun/runner"
)

func replayCommand() *cli.Command {
	return &cli.Command{
		Name:      "replay",
		Usage:     "run the kaniko container of a Job or Pod manifest on the local daemon: same image, arguments and mount targets",
		ArgsUsage: "MANIFEST.yaml|-",
		Flags: append([]cli.Flag{
			&cli.StringSliceFlag{Name: "claim", Usage: "map PersistentVolumeClaim `NAME=HOSTDIR` (repeatable)"},
			&cli.StringSliceFlag{Name: "secret", Usage: "map Secret `NAME=HOSTFILE`: a config.json or the Secret's YAML (repeatable)"},
			&cli.StringSliceFlag{Name: "volume", Usage: "map any pod volume `NAME=HOSTPATH` (repeatable)"},
			&cli.StringFlag{Name: "container", Usage: "the executor container's `NAME` when the pod has several"},
			&cli.StringFlag{Name: flagDigestFile, Usage: "write the image digest to `PATH` on the host"},
			&cli.StringFlag{Name: flagDockerConfig, Usage: "docker config `DIR` for pulling the executor image"},
			contextModeFlag("how the mapped volumes reach the executor: `auto` (stream for a tcp:// or ssh:// daemon, else bind), bind (bind mounts) or stream (copied into the container before it starts, its outputs copied out after it exits)"),
		}, append(runFlags(), lintFlags()...)...),
		Action: replayAction,
	}
}

func replayAction(c *cli.Context) error {
	if c.NArg() != 1 {
		return usageErr("give one MANIFEST file (or - for stdin)")
	}
	o := runner.ReplayOptions{
		Replay:       kube.ReplayOptions{Container: c.String("container")},
		Preflight:    bindPolicy(c),
		Run:          bindRun(c),
		DigestFile:   c.String(flagDigestFile),
		DockerConfig: c.String(flagDockerConfig),
	}
	var err error
	for flag, dst := range map[string]*map[string]string{"claim": &o.Replay.Claims, "secret": &o.Replay.Secrets, "volume": &o.Replay.Volumes} {
		if *dst, err = kube.ParseMappings(flag, c.StringSlice(flag)); err != nil {
			return errs.Mark(err, errUsage)
		}
	}
	if err := o.Validate(); err != nil {
		return err
	}
	if o.Manifest, err = readInput(c.Args().First(), c.App.Reader); err != nil {
		return err
	}
	seen := newWatcher(c.App.ErrWriter)
	out, err := runner.ReplayLocal(c.Context, o, runner.Streams{Stdout: c.App.Writer, Stderr: seen})
	return printOutcome(out, err, seen, c.App.Writer, c.App.ErrWriter)
}
