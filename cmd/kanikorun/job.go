package main

import (
	"fmt"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/kanikorun/kanikorun/creds"
	"github.com/kanikorun/kanikorun/internal/kube"
)

func jobCommand() *cli.Command {
	flags := append(describeFlags(), outputFlags()...)
	flags = append(flags,
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
	flags = append(flags, lintFlags()...)
	// A build's command line works here unchanged; the local-run flags
	// mean nothing for a Job and are ignored.
	flags = append(flags, runFlags()...)
	return &cli.Command{
		Name:      "job",
		Usage:     "print the Kubernetes Job that runs the same build in a cluster",
		ArgsUsage: "[CONTEXT] [-- EXECUTOR-FLAGS...]",
		Flags:     flags,
		Action:    jobAction,
	}
}

func jobAction(c *cli.Context) error {
	stdout, stderr := c.App.Writer, c.App.ErrWriter
	b, err := describe(c)
	if err != nil {
		return err
	}
	format := c.String("output")
	if format != kube.FormatYAML && format != kube.FormatJSON {
		return usageErr("invalid --output %q: use yaml or json", format)
	}
	limit := c.Int("backoff-limit")
	if limit < 0 || limit > 1<<30 {
		return usageErr("invalid --backoff-limit %d: give 0 or more", limit)
	}
	backoff := int32(limit)
	o := kube.JobOptions{
		Name:              c.String("name"),
		GenerateName:      c.String("generate-name"),
		Namespace:         c.String("namespace"),
		WorkspaceClaim:    c.String("workspace-claim"),
		WorkspacePath:     c.String("workspace-path"),
		CredentialsSecret: c.String("credentials-secret"),
		CredentialsClaim:  c.String("credentials-claim"),
		WithSecret:        c.Bool("with-secret"),
		BackoffLimit:      &backoff,
		ActiveDeadline:    c.Duration("active-deadline"),
		CPU:               c.String("cpu"),
		Memory:            c.String("memory"),
		ServiceAccount:    c.String("service-account"),
	}
	if c.IsSet("ttl-after-finished") {
		ttl := c.Duration("ttl-after-finished")
		o.TTLAfterFinished = &ttl
	}
	if err := o.Validate(); err != nil {
		return &exitError{code: exitUsage, err: err}
	}
	if err := preflight(c, b, modeJob); err != nil {
		return err
	}
	for _, a := range c.StringSlice(flagBuildArg) {
		if !strings.Contains(a, "=") {
			if _, ok := lookupEnv(a); ok {
				fmt.Fprintf(stderr, "kanikorun: warning: build arg %s is taken from your environment and written into the Job's arguments; if it is a secret, pass it another way\n", a)
			}
		}
	}
	var secret []byte
	credsFound := false
	if o.WithSecret {
		cr, _, err := resolveCreds(c.Context, c, b, stderr)
		if err != nil {
			return err
		}
		if secret, err = cr.DockerConfigJSONSecret(); err != nil {
			return err
		}
		for _, src := range cr.Sources {
			switch {
			case src.Kind == creds.None && src.Push:
				fmt.Fprintf(stderr, "kanikorun: warning: no credentials for %s on this machine: the Secret holds none for it; log in with docker login %s\n", src.Registry, src.Registry)
			case src.Kind == creds.Inline || src.Kind == creds.Helper || src.Kind == creds.InExecutor:
				credsFound = true
			}
		}
	}
	r, err := kube.Render(b, o, secret)
	if err != nil {
		return &exitError{code: exitUsage, err: err}
	}
	for _, w := range r.Warnings {
		fmt.Fprintf(stderr, "kanikorun: warning: %s\n", w)
	}
	if o.WithSecret && credsFound {
		fmt.Fprintln(stderr, "kanikorun: warning: the output contains registry credentials (a Secret); do not commit or share it")
	}
	return kube.Encode(stdout, r.Objects(), format)
}
