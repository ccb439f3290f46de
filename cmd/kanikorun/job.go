package main

import (
	"github.com/urfave/cli/v2"

	"github.com/kanikorun/kanikorun/internal/kube"
	"github.com/kanikorun/kanikorun/internal/lint"
	"github.com/kanikorun/kanikorun/internal/prepare"
)

func jobCommand(extra []string) *cli.Command {
	flags := append(describeFlags(),
		&cli.StringFlag{Name: "output", Aliases: []string{"o"}, Value: kube.FormatYAML, Usage: "output `FORMAT`: yaml or json"},
		&cli.StringFlag{Name: "name", Usage: "Job `NAME` (default build-image)"},
		&cli.StringFlag{Name: "generate-name", Usage: "let the API server name the Job from `PREFIX`"},
		&cli.StringFlag{Name: "namespace", Aliases: []string{"n"}, Usage: "`NAMESPACE` of the Job and Secret"},
		&cli.StringFlag{Name: "workspace-claim", Value: kube.DefaultWorkspaceClaim, Usage: "PersistentVolumeClaim `NAME` holding the context"},
		&cli.StringFlag{Name: "workspace-path", Usage: "the context's `DIR` inside the claim (default: the context directory's name)"},
		&cli.StringFlag{Name: "credentials-secret", Usage: "kubernetes.io/dockerconfigjson Secret `NAME` to mount as the executor's config.json"},
		&cli.StringFlag{Name: "credentials-claim", Usage: "PersistentVolumeClaim `NAME` holding config.json (mounted with subPath)"},
		&cli.BoolFlag{Name: "with-secret", Usage: "also emit the credentials Secret, filled from this machine's credentials (the output then holds secrets)"},
		&cli.IntFlag{Name: "backoff-limit", Value: int(kube.DefaultBackoffLimit), Usage: "retries of a failed build `N`"},
		&cli.DurationFlag{Name: "active-deadline", Usage: "bound the whole Job to `DURATION`"},
		&cli.DurationFlag{Name: "ttl-after-finished", Usage: "delete the finished Job after `DURATION`"},
		&cli.StringFlag{Name: "cpu", Usage: "CPU request and limit, a Kubernetes `QUANTITY` (e.g. 1, 500m)"},
		&cli.StringFlag{Name: "memory", Usage: "memory request and limit, a Kubernetes `QUANTITY` (e.g. 2Gi)"},
		&cli.StringFlag{Name: "service-account", Usage: "run the pod as service account `NAME`"},
	)
	flags = append(flags, uploadFlags()...)
	flags = append(flags, lintFlags()...)
	// The local build's own flags are known but hidden, so job --help
	// lists what applies to a Job, and giving one is refused with what to
	// do instead (kube.LocalOnly), not silently ignored.
	flags = append(flags, hide(append(outputFlags(), runFlags()...))...)
	flags = append(flags, unsupportedFlagDefs("output")...)
	return &cli.Command{
		Name:      "job",
		Usage:     "print the Kubernetes Job that runs the same build in a cluster",
		ArgsUsage: "[CONTEXT] [-- EXECUTOR-FLAGS...]",
		Flags:     flags,
		Action:    jobAction(extra),
	}
}

// bindJob reads the Job's own flags.
func bindJob(c *cli.Context) kube.JobOptions {
	o := kube.JobOptions{
		Name:              c.String("name"),
		GenerateName:      c.String("generate-name"),
		Namespace:         c.String("namespace"),
		WorkspaceClaim:    c.String("workspace-claim"),
		WorkspacePath:     c.String("workspace-path"),
		CredentialsSecret: c.String("credentials-secret"),
		CredentialsClaim:  c.String("credentials-claim"),
		WithSecret:        c.Bool("with-secret"),
		ActiveDeadline:    c.Duration("active-deadline"),
		CPU:               c.String("cpu"),
		Memory:            c.String("memory"),
		ServiceAccount:    c.String("service-account"),
	}
	backoff := int32(c.Int("backoff-limit"))
	if limit := c.Int("backoff-limit"); limit < 0 || limit > 1<<30 {
		backoff = -1 // JobOptions.Validate says what is wrong
	}
	o.BackoffLimit = &backoff
	if c.IsSet("ttl-after-finished") {
		ttl := c.Duration("ttl-after-finished")
		o.TTLAfterFinished = &ttl
	}
	return o
}

func jobAction(extra []string) cli.ActionFunc {
	return func(c *cli.Context) error {
		if err := refuseLocalOnly(c); err != nil {
			return err
		}
		if err := refuseUnsupported(c); err != nil {
			return err
		}
		if c.String(flagFile) == prepare.StdinDockerfile {
			return usageErr("-f - reads the Dockerfile from stdin, but a Job's executor reads it from the workspace claim; put the Dockerfile in the context and pass -f PATH")
		}
		o := kube.BuildOptions{Prepare: bindPrepare(c, extra, lint.Job), Job: bindJob(c), Format: c.String("output")}
		o.Prepare.Build.RemoteContextOK = true
		if err := bindUpload(c, &o.Job); err != nil {
			return err
		}
		if err := o.Validate(); err != nil {
			return err
		}
		r, err := kube.RenderBuild(c.Context, o, c.App.ErrWriter)
		if err != nil {
			return err
		}
		defer r.Context.Close()
		return kube.Encode(c.App.Writer, r.Objects(), o.Format)
	}
}

// refuseLocalOnly refuses the first local build flag given to job.
func refuseLocalOnly(c *cli.Context) error {
	return refuseLocalOnlyExcept(c, nil)
}

// refuseLocalOnlyExcept is refuseLocalOnly but for the flags in own, which
// the command defines with a meaning of its own (submit's --timeout).
func refuseLocalOnlyExcept(c *cli.Context, own map[string]bool) error {
	for _, name := range kube.LocalOnlyFlags() {
		if !own[name] && hasFlag(c.Command, name) && c.IsSet(name) {
			return kube.LocalOnly(name)
		}
	}
	return nil
}

// hide marks flags hidden from --help.
func hide(flags []cli.Flag) []cli.Flag {
	for _, f := range flags {
		switch f := f.(type) {
		case *cli.StringFlag:
			f.Hidden = true
		case *cli.BoolFlag:
			f.Hidden = true
		case *cli.DurationFlag:
			f.Hidden = true
		case *cli.StringSliceFlag:
			f.Hidden = true
		}
	}
	return flags
}
