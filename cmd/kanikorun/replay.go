package main

import (
	"fmt"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/kanikorun/kanikorun/creds"
	"github.com/kanikorun/kanikorun/internal/kube"
	"github.com/kanikorun/kanikorun/internal/lint"
	"github.com/kanikorun/kanikorun/internal/spec"
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
		}, append(runFlags(), lintFlags()...)...),
		Action: replayAction,
	}
}

func replayAction(c *cli.Context) error {
	stdout, stderr := c.App.Writer, c.App.ErrWriter
	if c.NArg() != 1 {
		return usageErr("give one MANIFEST file (or - for stdin)")
	}
	settings, err := parseRunFlags(c)
	if err != nil {
		return err
	}
	if err := creds.CheckConfigDir(c.String(flagDockerConfig)); err != nil {
		return err
	}
	if p := c.String(flagDigestFile); p != "" {
		if err := runner.CheckOutput("--digest-file", p); err != nil {
			return &exitError{code: exitUsage, err: err}
		}
	}
	o := kube.ReplayOptions{Container: c.String("container"), DryRun: c.Bool("dry-run")}
	for flag, dst := range map[string]*map[string]string{"claim": &o.Claims, "secret": &o.Secrets, "volume": &o.Volumes} {
		if *dst, err = kube.ParseMappings(flag, c.StringSlice(flag)); err != nil {
			return &exitError{code: exitUsage, err: err}
		}
	}
	data, err := readInput(c.Args().First(), c.App.Reader)
	if err != nil {
		return err
	}
	m, err := kube.ReadManifest(data)
	if err != nil {
		return &exitError{code: exitUsage, err: err}
	}
	for _, ig := range m.Ignored {
		fmt.Fprintf(stderr, "kanikorun: ignoring %s\n", ig)
	}
	rep, err := m.PlanContext(c.Context, o)
	if err != nil {
		return &exitError{code: exitUsage, err: err}
	}
	defer rep.Cleanup()
	for _, w := range rep.Warnings {
		fmt.Fprintf(stderr, "kanikorun: warning: %s\n", w)
	}
	for _, n := range rep.Notes {
		fmt.Fprintf(stderr, "kanikorun: %s\n", n)
	}
	pc := rep.Container
	argv := pc.Args
	if len(pc.Entrypoint) > 1 {
		argv = append(append([]string(nil), pc.Entrypoint[1:]...), pc.Args...)
	}
	files := executorFiles(argv, pc.Mounts)
	// In a dry run, files replay would write (a Dockerfile in a ConfigMap,
	// say) exist only as placeholders; there is nothing to check yet.
	if files.dockerfile != "" && !strings.HasPrefix(files.dockerfile, kube.DryRunDir) {
		o := lintOptionsFor(c, lint.Options{
			Dockerfile:    files.dockerfile,
			DisplayName:   files.dockerfileInPod,
			Context:       files.context,
			BuildArgs:     spec.FlagValues(argv, "build-arg", 0),
			Target:        lastFlagOrEmpty(argv, "target"),
			ExecutorImage: pc.Image,
			Mode:          lint.Local,
		}, argv)
		if err := runPreflight(c, o); err != nil {
			return err
		}
	}
	if pc.Network == "" {
		regs, err := creds.ArgRegistries(argv)
		needs := networkNeeds{registries: registryHosts(regs), localContext: files.context != "", dockerfile: files.dockerfile}
		if err != nil {
			needs.localContext = false // unreadable arguments: keep the network
		}
		pc.Network = pickNetwork(needs, c.String("network"), c.IsSet("network"), stderr)
	}

	eng, err := runner.Connect(c.Context)
	if err != nil {
		return err
	}
	defer eng.Close()
	if c.Bool("dry-run") {
		fmt.Fprintln(stdout, pc.DockerRun())
		return nil
	}
	r, seen := newRunner(c, eng, settings, pc.Image)
	res, err := r.Run(c.Context, pc)
	if err != nil {
		return runFailed(err, stderr)
	}
	if p := c.String(flagDigestFile); p != "" && res.Digest != "" && res.ExitCode == 0 {
		if err := runner.WriteOutput(p, []byte(res.Digest+"\n")); err != nil {
			return fmt.Errorf("writing --digest-file %q: %w", p, err)
		}
	}
	return finished(res, seen, stdout, stderr)
}

func lastFlagOrEmpty(argv []string, long string) string {
	v, _ := spec.LastFlag(argv, long, 0)
	return v
}
