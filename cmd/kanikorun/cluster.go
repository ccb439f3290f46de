package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/kanikorun/kanikorun/internal/cluster"
	"github.com/kanikorun/kanikorun/internal/errs"
	"github.com/kanikorun/kanikorun/internal/kube"
	"github.com/kanikorun/kanikorun/internal/lint"
	"github.com/kanikorun/kanikorun/internal/prepare"
)

// connFlags say which cluster: the kubeconfig as kubectl reads it.
// -n/--namespace comes with them except where the Job flags have it.
func connFlags(withNamespace bool) []cli.Flag {
	flags := []cli.Flag{
		&cli.StringFlag{Name: "kubeconfig", Usage: "kubeconfig `FILE` (default $KUBECONFIG, else ~/.kube/config)"},
		&cli.StringFlag{Name: "kube-context", Usage: "kubeconfig `CONTEXT` (default: the current one)"},
	}
	if withNamespace {
		flags = append(flags, &cli.StringFlag{Name: "namespace", Aliases: []string{"n"}, Usage: "`NAMESPACE` (default: the context's)"})
	}
	return flags
}

func bindConn(c *cli.Context) cluster.Conn {
	return cluster.Conn{Kubeconfig: c.String("kubeconfig"), Context: c.String("kube-context"), Namespace: c.String("namespace")}
}

// uploadFlags are the Job flags that came with the cluster backend.
func uploadFlags() []cli.Flag {
	return []cli.Flag{
		&cli.BoolFlag{Name: "upload", Usage: "also print the ConfigMap carrying the context as a gzip tar (.dockerignore applied), read by the executor with --context=tar://; no claim needed"},
		&cli.StringFlag{Name: "overrides", Usage: "strategic-merge patch `JSON|@FILE` applied to the Job (node selectors, tolerations, imagePullSecrets, hostNetwork...)"},
	}
}

// bindUpload reads uploadFlags into the Job's options.
func bindUpload(c *cli.Context, o *kube.JobOptions) error {
	if c.Bool("upload") {
		o.Delivery = kube.DeliverConfigMap
	}
	v := c.String("overrides")
	if file, ok := strings.CutPrefix(v, "@"); ok {
		data, err := os.ReadFile(file)
		if err != nil {
			return usageErr("reading --overrides %q: %w", file, unwrapPath(err))
		}
		o.Overrides = data
	} else if v != "" {
		o.Overrides = []byte(v)
	}
	return nil
}

// submitOwnFlags are the local build flags submit gives a meaning of its
// own instead of refusing them as job does.
var submitOwnFlags = map[string]bool{"timeout": true}

func submitCommand(extra []string) *cli.Command {
	job := jobCommand(extra)
	// job's flags, but for the hidden local --timeout: submit's bounds
	// the wait, as wait --timeout does.
	flags := make([]cli.Flag, 0, len(job.Flags)+5)
	for _, f := range job.Flags {
		if !submitOwnFlags[f.Names()[0]] {
			flags = append(flags, f)
		}
	}
	flags = append(flags, connFlags(false)...)
	flags = append(flags,
		&cli.BoolFlag{Name: "wait", Usage: "follow the build to its end: stream its logs, exit with its result, print the digest last"},
		&cli.DurationFlag{Name: "timeout", Usage: "with --wait: stop following after `DURATION` with exit 2 and why it is not done (the Job goes on; bound it with --active-deadline)"})
	return &cli.Command{
		Name:      "submit",
		Usage:     "create the build's Job in the cluster (uploading the context) and print its name; --wait follows it",
		ArgsUsage: "[CONTEXT] [-- EXECUTOR-FLAGS...]",
		Flags:     flags,
		Action: func(c *cli.Context) error {
			if err := refuseLocalOnlyExcept(c, submitOwnFlags); err != nil {
				return err
			}
			if err := refuseUnsupported(c); err != nil {
				return err
			}
			if c.String(flagFile) == prepare.StdinDockerfile {
				return usageErr("-f - reads the Dockerfile from stdin, but submit sends the context and its Dockerfile from the files; put the Dockerfile in the context and pass -f PATH")
			}
			if c.IsSet("timeout") && !c.Bool("wait") {
				return usageErr("--timeout bounds submit --wait; give --wait too, or bound the Job itself with --active-deadline")
			}
			o := cluster.SubmitOptions{
				Build:   kube.BuildOptions{Prepare: bindPrepare(c, extra, lint.Job), Job: bindJob(c), Format: kube.FormatYAML},
				Conn:    bindConn(c),
				Wait:    c.Bool("wait"),
				Timeout: c.Duration("timeout"),
			}
			o.Build.Prepare.Build.RemoteContextOK = true
			if !c.IsSet("workspace-claim") {
				o.Build.Job.WorkspaceClaim = ""
			}
			if err := bindUpload(c, &o.Build.Job); err != nil {
				return err
			}
			if err := o.Validate(); err != nil {
				return err
			}
			seen := newWatcher(c.App.ErrWriter)
			sub, err := cluster.Submit(c.Context, o, seen)
			if sub != nil {
				fmt.Fprintln(c.App.Writer, sub.Name)
			}
			if sub != nil && sub.Outcome != nil {
				return printOutcomeCluster(sub.Outcome, err, seen, c.App.Writer, c.App.ErrWriter)
			}
			return err
		},
	}
}

// printOutcomeCluster reports a followed build as build does: the status
// on stderr, the digest as the last line of stdout, a hint after a
// failure.
func printOutcomeCluster(out *cluster.Outcome, err error, seen *watcher, stdout, stderr io.Writer) error {
	fmt.Fprintf(stderr, "kanikorun: %s\n", out)
	if out.Digest != "" && err == nil {
		fmt.Fprintln(stdout, out.Digest)
	}
	if err != nil {
		printHint(seen, stderr)
	}
	return err
}

func waitCommand() *cli.Command {
	return &cli.Command{
		Name:      "wait",
		Usage:     "wait for a submitted build to end; exit 0 Complete, 1 Failed, 2 not finished (--timeout)",
		ArgsUsage: "NAME",
		Flags: append(connFlags(true),
			&cli.DurationFlag{Name: "timeout", Usage: "give up after `DURATION` with exit 2 and why it is not done"}),
		OnUsageError: func(c *cli.Context, err error, sub bool) error {
			return errs.Mark(onUsageError(c, err, sub), errStatusInput)
		},
		Action: func(c *cli.Context) error {
			name, err := oneName(c)
			if err != nil {
				return err
			}
			cl, err := cluster.Connect(bindConn(c))
			if err != nil {
				return errs.Mark(err, errStatusInput)
			}
			out, err := cl.Wait(c.Context, name, c.Duration("timeout"), c.App.ErrWriter)
			if out == nil {
				return errs.Mark(err, errStatusInput)
			}
			return printStatus(c, out)
		},
	}
}

// printStatus prints a live Job's status and returns the exit code of
// `status FILE`: 0 Complete, 1 Failed, 2 not finished.
func printStatus(c *cli.Context, out *cluster.Outcome) error {
	fmt.Fprintln(c.App.Writer, out)
	if out.Digest != "" {
		fmt.Fprintln(c.App.Writer, out.Digest)
	}
	if out.Status.ExitCode != 0 {
		return statusExit(out.Status.ExitCode)
	}
	return nil
}

// statusLive is `status NAME`.
func statusLive(c *cli.Context, name string) error {
	cl, err := cluster.Connect(bindConn(c))
	if err != nil {
		return errs.Mark(err, errStatusInput)
	}
	out, err := cl.Status(c.Context, name)
	if err != nil {
		return errs.Mark(err, errStatusInput)
	}
	return printStatus(c, out)
}

func oneName(c *cli.Context) (string, error) {
	if c.NArg() != 1 {
		return "", errs.Mark(usageErr("give one Job NAME (see kanikorun list)"), errStatusInput)
	}
	return c.Args().First(), nil
}

func logsCommand() *cli.Command {
	return &cli.Command{
		Name:      "logs",
		Usage:     "print the executor's logs of a submitted build",
		ArgsUsage: "NAME",
		Flags: append(connFlags(true),
			&cli.BoolFlag{Name: "follow", Aliases: []string{"f"}, Usage: "stream the latest attempt until it ends"},
			&cli.BoolFlag{Name: "all-attempts", Usage: "every attempt, in order, not only the latest"}),
		Action: func(c *cli.Context) error {
			if c.NArg() != 1 {
				return usageErr("give one Job NAME (see kanikorun list)")
			}
			cl, err := cluster.Connect(bindConn(c))
			if err != nil {
				return err
			}
			return cl.Logs(c.Context, c.Args().First(), cluster.LogsOptions{Follow: c.Bool("follow"), AllAttempts: c.Bool("all-attempts")}, c.App.Writer)
		},
	}
}

func listCommand() *cli.Command {
	return &cli.Command{
		Name:  "list",
		Usage: "list the builds kanikorun submitted in the namespace: the queue at a glance",
		Flags: append(connFlags(true),
			&cli.StringFlag{Name: "output", Aliases: []string{"o"}, Value: "table", Usage: "`FORMAT`: table or json"}),
		Action: func(c *cli.Context) error {
			format := c.String("output")
			if format != "table" && format != "json" {
				return usageErr("invalid --output %q: use table or json", format)
			}
			cl, err := cluster.Connect(bindConn(c))
			if err != nil {
				return err
			}
			entries, err := cl.List(c.Context)
			if err != nil {
				return err
			}
			if format == "json" {
				if entries == nil {
					entries = []cluster.Entry{}
				}
				enc := json.NewEncoder(c.App.Writer)
				enc.SetIndent("", "  ")
				return enc.Encode(entries)
			}
			tw := tabwriter.NewWriter(c.App.Writer, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "NAME\tSTATE\tATTEMPTS\tAGE\tDURATION\tDESTINATION\tDIGEST")
			for _, e := range entries {
				state := string(e.State)
				if e.Reason != "" {
					state += " " + e.Reason
				}
				dur := "-"
				if e.Duration > 0 || e.State == kube.StateComplete {
					dur = e.Duration.String()
				}
				fmt.Fprintf(tw, "%s\t%s\t%d/%d\t%s\t%s\t%s\t%s\n", e.Name, state, e.Attempts, e.MaxAttempts, e.Age.Round(time.Second), dur, dash(e.Destination), dash(e.Digest))
			}
			return tw.Flush()
		},
	}
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func cancelCommand() *cli.Command {
	return &cli.Command{
		Name:      "cancel",
		Usage:     "delete a submitted build; its pods, Secret and context ConfigMap go with it",
		ArgsUsage: "NAME",
		Flags:     connFlags(true),
		Action: func(c *cli.Context) error {
			if c.NArg() != 1 {
				return usageErr("give one Job NAME (see kanikorun list)")
			}
			cl, err := cluster.Connect(bindConn(c))
			if err != nil {
				return err
			}
			if err := cl.Cancel(c.Context, c.Args().First()); err != nil {
				return err
			}
			fmt.Fprintf(c.App.ErrWriter, "kanikorun: cancelled %s; its pods, Secret and ConfigMaps are being deleted with it\n", c.Args().First())
			return nil
		},
	}
}
