// Package prepare is the one preparation step of every command that runs
// or renders a build (build, job, replay, creds, lint): it turns options
// into a Prepared build, reading the Dockerfile once (package dockerfile)
// and the executor's argument list once (spec.ParseExecutorArgs), and
// derives from them everything the preflight, the credentials and the
// network choice need.
package prepare

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/kanikorun/kanikorun/creds"
	"github.com/kanikorun/kanikorun/internal/dockerfile"
	"github.com/kanikorun/kanikorun/internal/errs"
	"github.com/kanikorun/kanikorun/internal/lint"
	"github.com/kanikorun/kanikorun/internal/spec"
)

// Options say what to prepare.
type Options struct {
	// Build are the build description's raw inputs.
	Build spec.Options
	// Preflight is the preflight policy.
	Preflight lint.Policy
	// Mode is where the build runs (lint.Local or lint.Job); it decides how
	// bad writes under the read-only context are.
	Mode lint.Mode
	// DockerConfig is the docker config directory credentials come from
	// (--docker-config); empty means $DOCKER_CONFIG, else ~/.docker.
	DockerConfig string
}

// Validate checks the options before anything runs.
func (o Options) Validate() error {
	if err := o.Build.Validate(); err != nil {
		return err
	}
	if err := creds.CheckConfigDir(o.DockerConfig); err != nil {
		return errs.Mark(err, spec.ErrUsage)
	}
	if err := o.secretsValidate(); err != nil {
		return err
	}
	return o.lintValidate()
}

// secretsValidate refuses --secret for an executor that cannot mount
// secrets: upstream kaniko parses RUN --mount=type=secret and runs the step
// without it, so the build would go on with the secret silently missing.
// --no-lint does not lift this; --executor-flavor fork does, for a fork
// under a name kanikorun does not know.
func (o Options) secretsValidate() error {
	if len(o.Build.Secrets) == 0 {
		return nil
	}
	e, err := lint.ResolveExecutor(o.Build.ExecutorImage, o.Preflight.Flavor)
	if err != nil || e.Flavor == lint.Fork {
		return errs.Mark(err, spec.ErrUsage)
	}
	repo, _, _ := strings.Cut(lint.ForkImage, ":")
	msg := fmt.Sprintf("--secret needs the fork executor (%s): upstream kaniko v1.24.0 cannot mount secrets; pass --executor-image %s or drop --secret", repo, lint.ForkImage)
	if e.Notice != "" {
		msg += fmt.Sprintf(" (if %s is the fork, pass --executor-flavor fork)", e.Image)
	}
	return errs.Mark(errors.New(msg), spec.ErrUsage)
}

func (o Options) lintValidate() error {
	if o.Preflight.Skip {
		return nil
	}
	lo := o.Preflight.Apply(lint.Options{ExecutorImage: o.Build.ExecutorImage, Mode: o.Mode})
	return errs.Mark(lo.Validate(), spec.ErrUsage)
}

// Prepared is a build ready for a backend.
type Prepared struct {
	// Build is the build description; nil for a replayed manifest, whose
	// executor arguments are given as they are.
	Build *spec.Build
	// Flags are the executor's arguments, read once.
	Flags spec.ExecutorFlags
	// Dockerfile is the Dockerfile, parsed once; nil when it is out of
	// reach (a replayed manifest's Dockerfile in a volume kanikorun does
	// not have).
	Dockerfile *dockerfile.File
	// Lint are the options the preflight ran with.
	Lint lint.Options
	// Report is the preflight's report; nil without a Dockerfile.
	Report *lint.Report
	// Registries are every registry the build touches (destinations,
	// cache, mirrors, insecure registries, the images the Dockerfile
	// pulls), sorted by host.
	Registries []creds.Registry
	// RegistriesUnknown says the registries could not all be worked out:
	// the executor flags name one kanikorun cannot read (a manifest's
	// placeholder such as <repo>:<tag>), or a FROM does not expand to an
	// image. The network then stays as asked, and Credentials returns the
	// reason (after the preflight has had its say about the Dockerfile).
	RegistriesUnknown bool
	registriesErr     error
	// Policy is the preflight policy the build was prepared with.
	Policy lint.Policy
	// DockerConfig is Options.DockerConfig.
	DockerConfig string
}

// Prepare reads the Dockerfile and the executor flags once and runs the
// preflight over them. Errors wrap spec.ErrUsage when the user must change
// the command line.
func Prepare(o Options) (*Prepared, error) {
	b, err := o.Build.Build()
	if err != nil {
		return nil, err
	}
	if err := o.secretsValidate(); err != nil {
		return nil, err
	}
	if err := o.lintValidate(); err != nil {
		return nil, err
	}
	// Each flavour reads its own base-image cache layout.
	if e, err := lint.ResolveExecutor(b.ExecutorImage, o.Preflight.Flavor); err == nil {
		b.Cache.Flavor = string(e.Flavor)
	}
	f, err := spec.ParseExecutorArgs(b.Args(spec.Layout{ContextDir: spec.WorkspaceDir, Dockerfile: b.ContainerDockerfile(spec.WorkspaceDir)}))
	if err != nil {
		return nil, errs.Mark(err, spec.ErrUsage)
	}
	display := o.Build.Dockerfile
	switch {
	case o.Build.DockerfileFromStdin:
		display = "stdin"
	case display == "":
		display = "Dockerfile"
	}
	return prepared(preparedInput{
		build: b, flags: f, dockerfile: b.Dockerfile, display: display, context: b.Context,
		image: b.ExecutorImage, generated: b.GeneratedDestination,
		policy: o.Preflight, mode: o.Mode, dockerConfig: o.DockerConfig,
	})
}

// ExecutorOptions describe a build given as the executor's own argument
// list (a replayed manifest's container) rather than as kanikorun flags.
type ExecutorOptions struct {
	// Args are the executor's arguments.
	Args []string
	// Image is the executor image.
	Image string
	// Dockerfile and Context are the host paths the executor's Dockerfile
	// and context are mounted from; empty when not on this machine.
	Dockerfile, Context string
	// DisplayName names the Dockerfile in findings (its path in the
	// container).
	DisplayName string
	// Preflight is the preflight policy.
	Preflight lint.Policy
	// Mode is where the build runs.
	Mode lint.Mode
	// DockerConfig is the docker config directory for credentials.
	DockerConfig string
	// KanikoDirEnv is the KANIKO_DIR the container's environment gives
	// the executor, if any.
	KanikoDirEnv string
}

// PrepareExecutor prepares a build from an executor argument list.
func PrepareExecutor(o ExecutorOptions) (*Prepared, error) {
	f, err := spec.ParseExecutorArgs(o.Args)
	if err != nil {
		return nil, errs.Mark(err, spec.ErrUsage)
	}
	return prepared(preparedInput{
		flags: f, dockerfile: o.Dockerfile, display: o.DisplayName, context: o.Context, image: o.Image,
		policy: o.Preflight, mode: o.Mode, dockerConfig: o.DockerConfig, kanikoDirEnv: o.KanikoDirEnv,
	})
}

type preparedInput struct {
	build                               *spec.Build
	flags                               spec.ExecutorFlags
	dockerfile, display, context, image string
	generated                           string
	policy                              lint.Policy
	mode                                lint.Mode
	dockerConfig                        string
	kanikoDirEnv                        string
}

func prepared(in preparedInput) (*Prepared, error) {
	p := &Prepared{Build: in.build, Flags: in.flags, Policy: in.policy, DockerConfig: in.dockerConfig}
	p.Lint = in.policy.Apply(lint.Options{
		Dockerfile:       in.dockerfile,
		DisplayName:      in.display,
		Context:          in.context,
		BuildArgs:        spec.ResolveBuildArgs(in.flags.BuildArgs, func(string) (string, bool) { return "", false }),
		Target:           in.flags.Target,
		ExecutorImage:    in.image,
		Mode:             in.mode,
		Secrets:          in.flags.SecretIDs(),
		SkipUnusedStages: in.flags.SkipUnusedStages,
		CustomPlatform:   in.flags.CustomPlatform,
		KanikoDir:        in.flags.KanikoDir,
		KanikoDirEnv:     in.kanikoDirEnv,
	})
	if in.dockerfile != "" {
		df, err := dockerfile.Read(in.dockerfile)
		if err != nil {
			return nil, errs.Mark(err, spec.ErrUsage)
		}
		p.Dockerfile = df
		if !in.policy.Skip {
			if p.Report, err = lint.LintFile(df, p.Lint); err != nil {
				return nil, errs.Mark(err, spec.ErrUsage)
			}
		}
	}
	regs, err := creds.Registries(in.flags, p.Dockerfile, in.generated)
	if err != nil {
		p.RegistriesUnknown = true
		// A manifest is replayed as it is, placeholders and all: the
		// executor will say what is wrong with them.
		if in.build != nil {
			p.registriesErr = errs.Mark(err, spec.ErrUsage)
		}
	}
	p.Registries = regs
	return p, nil
}

// Preflight shows the findings that matter for a build on w and returns
// an error wrapping lint.ErrPreflight when they stop it.
func (p *Prepared) Preflight(w io.Writer) error {
	return p.Policy.Check(p.Report, p.Lint, w)
}

// Credentials resolves, on this machine, the credentials of every registry
// the build touches. Warnings go to w as single lines. A Resolved comes
// back even with an error, for its summary.
func (p *Prepared) Credentials(ctx context.Context, w io.Writer) (*creds.Resolved, error) {
	if p.registriesErr != nil {
		return nil, p.registriesErr
	}
	res, err := creds.Resolve(ctx, p.DockerConfig, p.Registries, p.Lint.ExecutorImage)
	if res != nil {
		for _, warn := range res.Warnings {
			fmt.Fprintf(w, "kanikorun: warning: %s\n", warn)
		}
	}
	return res, err
}

// RegistryHosts lists the hosts of the registries the build touches.
func (p *Prepared) RegistryHosts() []string {
	hosts := make([]string, 0, len(p.Registries))
	for _, r := range p.Registries {
		hosts = append(hosts, r.Host)
	}
	return hosts
}

// LoopbackRegistries lists the registries the build touches that live on
// this machine's loopback interface: the local executor reaches them only
// with host networking, and a pod not at all. It is the one list both the
// network choice and the Job's warning use.
func (p *Prepared) LoopbackRegistries() []string {
	var out []string
	for _, h := range p.RegistryHosts() {
		if spec.IsLoopback(h) {
			out = append(out, h)
		}
	}
	return out
}

// DockerfileNeedsNetwork reports whether building the Dockerfile may reach
// the network by itself (a pull, a RUN, a download); true when it is out
// of reach.
func (p *Prepared) DockerfileNeedsNetwork() bool {
	return p.Dockerfile == nil || lint.NeedsNetwork(p.Dockerfile)
}
