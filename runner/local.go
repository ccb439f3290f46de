package runner

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/kanikorun/kanikorun/creds"
	"github.com/kanikorun/kanikorun/internal/errs"
	"github.com/kanikorun/kanikorun/internal/kube"
	"github.com/kanikorun/kanikorun/internal/lint"
	"github.com/kanikorun/kanikorun/internal/plan"
	prep "github.com/kanikorun/kanikorun/internal/prepare"
	"github.com/kanikorun/kanikorun/internal/spec"
	"github.com/kanikorun/kanikorun/internal/tmpdir"
)

// Options are how a build runs on the local daemon, whatever it builds.
type Options struct {
	// Pull says when to pull the executor image (--executor-pull); empty means
	// PullMissing.
	Pull PullPolicy
	// Network is the container's network mode (--network); empty means
	// bridge.
	Network string
	// NetworkSet says the user chose Network, which then overrides
	// kanikorun's own choice (host for loopback registries, none for a
	// build that needs no network).
	NetworkSet bool
	// Timeout bounds the executor's run (--timeout); zero means no limit.
	Timeout time.Duration
	// DryRun prints the equivalent docker run line instead of running.
	DryRun bool
	// ContextMode is how the context reaches the executor
	// (--context-mode): ContextAuto (empty), ContextBind or ContextStream.
	ContextMode string
	// Progress is --progress: ProgressAuto (empty), ProgressPlain,
	// ProgressTTY or ProgressQuiet. The colour it asks for is the build
	// description's (spec.Options.Color); here ProgressQuiet means Quiet.
	Progress string
	// Quiet (-q) keeps stdout for the result alone: the executor's
	// output and the pull progress go to stderr instead.
	Quiet bool
	// RetryDelay is the first back-off of a retried build (--retry-delay);
	// zero means DefaultRetryDelay. How often comes from the build
	// description (spec.Build.Retries), which also renders the executor's
	// own retry flags.
	RetryDelay time.Duration
}

// Context modes.
const (
	// ContextAuto binds for a local daemon and streams for a remote one.
	ContextAuto = "auto"
	// ContextBind bind-mounts the context and files read-only.
	ContextBind = "bind"
	// ContextStream sends the context on the executor's stdin.
	ContextStream = "stream"
)

// stream decides the context mode for the daemon at ep, and says so when
// it streams.
func (o Options) stream(ep Endpoint, s Streams) bool {
	return o.decide(ep, s, modeWords{
		forced: "sending the context on the executor's stdin",
		remote: "the context goes on the executor's stdin (--context-mode bind to mount it)",
	})
}

// replayStream is stream for a replay, whose context is in the pod's
// volumes: stream mode copies them in, and the outputs out. A forced bind
// mode on a remote daemon gets a warning, since it needs the mapped paths
// on the daemon's machine.
func (o Options) replayStream(ep Endpoint, s Streams) bool {
	return o.decide(ep, s, modeWords{
		forced:     "copying the pod's volumes into the executor container, and its outputs out, instead of mounting them",
		remote:     "the pod's volumes are copied into the executor container, and its outputs out (--context-mode bind to mount them)",
		bindRemote: "warning: the daemon at %s is remote: with --context-mode bind replay bind-mounts --claim, --secret and --volume paths, which must exist on the daemon's machine",
	})
}

// modeWords are what decide says: with a forced stream mode, with a remote
// daemon in auto mode, and (a format taking the endpoint; empty for
// nothing) with a forced bind mode on a remote daemon.
type modeWords struct{ forced, remote, bindRemote string }

func (o Options) decide(ep Endpoint, s Streams, w modeWords) bool {
	switch o.ContextMode {
	case ContextStream:
		s.notice("context mode stream (--context-mode): %s", w.forced)
	case ContextBind:
		if ep.Remote() && w.bindRemote != "" {
			s.notice(w.bindRemote, ep)
		}
	default:
		if ep.Remote() {
			s.notice("context mode stream: the daemon at %s is remote, so %s", ep, w.remote)
		}
	}
	return o.streamsTo(ep)
}

// streamsTo says whether the context goes on the executor's stdin for
// the daemon at ep: forced by --context-mode, else for a remote daemon.
func (o Options) streamsTo(ep Endpoint) bool {
	switch o.ContextMode {
	case ContextStream:
		return true
	case ContextBind:
		return false
	}
	return ep.Remote()
}

// The --progress modes, named as docker build names them.
const (
	ProgressAuto  = "auto"
	ProgressPlain = "plain"
	ProgressTTY   = "tty"
	ProgressQuiet = "quiet"
)

func (o Options) quiet() bool { return o.Quiet || o.Progress == ProgressQuiet }

// streams are where the run writes: with Quiet, stdout is the caller's
// for the result alone.
func (o Options) streams(s Streams) Streams {
	if o.quiet() {
		s.Stdout = s.Stderr
	}
	return s
}

// Validate checks the options; errors wrap spec.ErrUsage.
func (o Options) Validate() error {
	if _, err := ParsePullPolicy(string(o.Pull)); err != nil {
		return errs.Mark(err, spec.ErrUsage)
	}
	switch o.ContextMode {
	case "", ContextAuto, ContextBind, ContextStream:
	default:
		return errs.Mark(fmt.Errorf("invalid --context-mode %q: use auto, bind or stream", o.ContextMode), spec.ErrUsage)
	}
	switch o.Progress {
	case "", ProgressAuto, ProgressPlain, ProgressTTY, ProgressQuiet:
	default:
		return errs.Mark(fmt.Errorf("invalid --progress %q: use auto, plain, tty or quiet", o.Progress), spec.ErrUsage)
	}
	if o.Timeout < 0 {
		return errs.Mark(fmt.Errorf("invalid --timeout %s: give a positive duration such as 30m", o.Timeout), spec.ErrUsage)
	}
	if o.RetryDelay < 0 {
		return errs.Mark(fmt.Errorf("invalid --retry-delay %s: give a positive duration such as 2s", o.RetryDelay), spec.ErrUsage)
	}
	return nil
}

func (o Options) network() string {
	if o.Network == "" {
		return "bridge"
	}
	return o.Network
}

// Streams are where a local run writes: the executor's stdout and pull
// progress to Stdout, its stderr and kanikorun's notices to Stderr.
type Streams struct {
	Stdout, Stderr io.Writer
}

func (s Streams) notice(format string, a ...any) {
	fmt.Fprintf(s.Stderr, "kanikorun: "+format+"\n", a...)
}

// ExitError is an executor that exited non-zero: the build failed, and
// kanikorun exits with the same code.
type ExitError struct {
	// Code is the executor's exit code.
	Code int
}

func (e *ExitError) Error() string { return fmt.Sprintf("the executor exited with code %d", e.Code) }

// BuildOptions are one local build: what to build and how to run it.
type BuildOptions struct {
	// Prepare says what to build.
	Prepare prep.Options
	// Run says how.
	Run Options
}

// Validate checks both halves.
func (o BuildOptions) Validate() error {
	if err := o.Run.Validate(); err != nil {
		return err
	}
	return o.Prepare.Validate()
}

// Outcome is what a local build or replay leaves for the caller to print.
type Outcome struct {
	// Result is the executor's result.
	Result
	// Loaded are the image names the daemon reported for --load.
	Loaded []string
	// ImageID is the ID the daemon gave the loaded image (--load).
	ImageID string
	// DryRun is the equivalent docker run line, when asked for one.
	DryRun string
}

// BuildLocal prepares the build, shows the preflight, resolves the
// credentials on this machine, picks the network and runs the executor
// on the local daemon (or, for a dry run, renders the docker run line).
// An executor that fails returns its Outcome and an *ExitError.
func BuildLocal(ctx context.Context, o BuildOptions, s Streams) (*Outcome, error) {
	s = o.Run.streams(s)
	p, err := prep.Prepare(o.Prepare)
	if err != nil {
		return nil, err
	}
	b := p.Build
	if b.MovesKanikoDir() {
		// Bind mode always mounts the credentials at
		// /kaniko/.docker/config.json, which a --kaniko-dir would have the
		// executor move away: refused before anything else is said (the
		// mode is said below, once the daemon answers).
		ep, err := ResolveEndpoint()
		if err != nil {
			return nil, err
		}
		if !o.Run.streamsTo(ep) {
			return nil, b.KanikoDirError("with the bind mounts of a local build")
		}
	}
	if err := p.Preflight(s.Stderr); err != nil {
		return nil, err
	}
	eng, ep, err := reach(ctx, o.Run.DryRun)
	if err != nil {
		return nil, err
	}
	if eng != nil {
		defer eng.Close()
	}
	if b.EffectiveNoPush() && !b.NoPush {
		s.notice("no --destination given: building with --no-push")
	}
	cr, err := p.Credentials(ctx, s.Stderr)
	if o.Run.DryRun && cr != nil {
		cr.WriteSummary(s.Stderr)
	}
	if err != nil {
		return nil, err
	}
	cfg, err := cr.ConfigJSON()
	if err != nil {
		return nil, err
	}
	network := chooseNetwork(NeedsOf(p), o.Run, s)
	stream := o.Run.stream(ep, s)
	if o.Run.DryRun {
		return &Outcome{DryRun: dryRun(b, network, stream)}, nil
	}
	r := newRunner(ctx, eng, o.Run, s, b.ExecutorImage, p.DockerConfig)
	r.Retry = RetryPolicy{Retries: b.Retries, Delay: o.Run.RetryDelay}
	res, err := r.Build(ctx, Local{Build: b, DockerConfig: cfg, Network: network, Cache: localCache(p), Stream: stream})
	if err != nil {
		return nil, err
	}
	out := &Outcome{Result: res.Result, Loaded: res.Loaded, ImageID: res.ImageID}
	for _, n := range res.Loaded {
		s.notice("loaded image %s", n)
	}
	if b.Outputs.TarPath != "" && res.ExitCode == 0 {
		s.notice("wrote %s", b.Outputs.TarPath)
	}
	return out, exited(res.ExitCode)
}

// reach connects to the daemon, right after the preflight, so that a
// daemon out of reach is said before any of the build's notices; a dry
// run, which starts nothing, only resolves where the daemon is (local or
// remote decides the context mode) and needs none running.
func reach(ctx context.Context, dryRun bool) (Engine, Endpoint, error) {
	if dryRun {
		ep, err := ResolveEndpoint()
		return nil, ep, err
	}
	eng, err := Connect(ctx)
	if err != nil {
		return nil, Endpoint{}, err
	}
	return eng, eng.Endpoint(), nil
}

// localCache is the local cache of a prepared build.
func localCache(p *prep.Prepared) *LocalCache {
	c := &LocalCache{Volume: CacheVolumeName(), Insecure: p.Flags.InsecureRegistries}
	if p.Dockerfile != nil {
		// The Dockerfile parsed, or the preflight would have stopped us;
		// an image it cannot name is one the executor will report.
		c.Images, _ = creds.BaseImages(p.Flags, p.Dockerfile)
	}
	return c
}

func exited(code int) error {
	if code != 0 {
		return &ExitError{Code: code}
	}
	return nil
}

func chooseNetwork(n NetworkNeeds, o Options, s Streams) string {
	network, notice := ChooseNetwork(n, o.network(), o.NetworkSet)
	if notice != "" {
		s.notice("%s", notice)
	}
	return network
}

// newRunner makes the runner for one executor image.
func newRunner(ctx context.Context, eng Engine, o Options, s Streams, image, dockerConfig string) *Runner {
	pull := o.Pull
	if pull == "" {
		pull = PullMissing
	}
	return &Runner{
		Engine: eng, Stdout: s.Stdout, Stderr: s.Stderr, Pull: pull, Timeout: o.Timeout,
		RegistryAuth: executorAuth(ctx, dockerConfig, image, s.Stderr),
	}
}

// executorAuth returns the Engine API credentials for pulling the executor
// image. They are resolved apart from the build's, so the executor's
// registry does not end up in the build's config.json, and only when the
// daemon actually pulls: no credential helper runs for an image that is
// already there.
func executorAuth(ctx context.Context, dockerConfig, image string, stderr io.Writer) func(string) string {
	reg, err := creds.RegistryOf(image, false, "executor image")
	if err != nil {
		return nil
	}
	return func(string) string {
		res, err := creds.Resolve(ctx, dockerConfig, []creds.Registry{reg}, "")
		if err != nil && !errors.Is(err, creds.ErrPushCredentials) {
			fmt.Fprintf(stderr, "kanikorun: warning: pulling the executor anonymously: %v\n", err)
			return ""
		}
		return res.AuthFor(reg.Host)
	}
}

// ReplayOptions are one replay of a Job or Pod manifest on the local daemon.
type ReplayOptions struct {
	// Manifest is the manifest's content (YAML or JSON).
	Manifest []byte
	// Replay maps the pod's volumes to host paths.
	Replay kube.ReplayOptions
	// Preflight is the preflight policy.
	Preflight lint.Policy
	// Run says how to run the container.
	Run Options
	// DigestFile receives the digest on the host; empty for none.
	DigestFile string
	// DockerConfig is the docker config directory for pulling the
	// executor image.
	DockerConfig string
}

// Validate checks the options; errors wrap spec.ErrUsage.
func (o ReplayOptions) Validate() error {
	if err := o.Run.Validate(); err != nil {
		return err
	}
	if o.DigestFile != "" {
		if err := spec.CheckOutput("--digest-file", o.DigestFile); err != nil {
			return errs.Mark(err, spec.ErrUsage)
		}
	}
	return errs.Mark(creds.CheckConfigDir(o.DockerConfig), spec.ErrUsage)
}

// ReplayLocal runs the executor container of a manifest on the local
// daemon: same image, arguments and mount targets, with the pod's volumes
// mapped to host paths.
func ReplayLocal(ctx context.Context, o ReplayOptions, s Streams) (*Outcome, error) {
	s = o.Run.streams(s)
	o.Replay.DryRun = o.Run.DryRun
	m, err := kube.ReadManifest(o.Manifest)
	if err != nil {
		return nil, errs.Mark(err, spec.ErrUsage)
	}
	for _, ig := range m.Ignored {
		s.notice("ignoring %s", ig)
	}
	rep, err := m.Plan(o.Replay)
	if err != nil {
		return nil, errs.Mark(err, spec.ErrUsage)
	}
	defer rep.Cleanup()
	shown := rep.ShowNotes(s.notice, 0, 0)
	pc := rep.Container
	argv := pc.ExecutorArgs()
	flags, err := spec.ParseExecutorArgs(argv)
	if err != nil {
		return nil, errs.Mark(err, spec.ErrUsage)
	}
	files := pc.ExecutorFiles(flags)
	eo := prep.ExecutorOptions{Args: argv, Image: pc.Image, Context: files.Context, DisplayName: files.DockerfileInContainer, Preflight: o.Preflight, Mode: lint.Local, DockerConfig: o.DockerConfig}
	for _, e := range pc.Env {
		if v, ok := strings.CutPrefix(e, "KANIKO_DIR="); ok {
			eo.KanikoDirEnv = v
		}
	}
	// In a dry run, files replay would write (a Dockerfile in a ConfigMap,
	// say) exist only as placeholders; there is nothing to check yet.
	if files.Dockerfile != "" && !strings.HasPrefix(files.Dockerfile, kube.DryRunDir) {
		eo.Dockerfile = files.Dockerfile
	}
	p, err := prep.PrepareExecutor(eo)
	if err != nil {
		return nil, err
	}
	// A Secret's config.json that defers to credential helpers is resolved
	// here, for the registries the preparation found, as build resolves
	// the user's.
	err = rep.ResolveCredentials(ctx, p.Registries, pc.Image)
	rep.ShowNotes(s.notice, shown[0], shown[1])
	if err != nil {
		return nil, errs.Mark(err, spec.ErrUsage)
	}
	if err := p.Preflight(s.Stderr); err != nil {
		return nil, err
	}
	eng, ep, err := reach(ctx, o.Run.DryRun)
	if err != nil {
		return nil, err
	}
	if eng != nil {
		defer eng.Close()
	}
	if pc.Network == "" {
		pc.Network = chooseNetwork(NeedsOf(p), o.Run, s)
	}
	if o.Run.replayStream(ep, s) {
		// The daemon cannot see this machine's files: the mounts become
		// copies, the outputs come back by copy, and the arguments stay
		// the manifest's but for a digest written to the termination log.
		pc = plan.MountsToCopies(pc, plan.ExecutorOutputs(flags, pc.WorkingDir))
		if pc.DigestFrom != "" {
			s.notice("the executor writes its digest to %s instead of %s (a tmpfs in the container, which no copy reaches); every other argument is the manifest's", spec.StreamDigestFile, spec.TerminationLog)
		}
		if o.Run.DryRun {
			return &Outcome{DryRun: pc.CopyPlan() + pc.DockerRun()}, nil
		}
		// Kept after its exit, the container and its volumes carry this
		// run's labels, so that gc removes them should the run be killed.
		run, err := tmpdir.New("", "kanikorun-")
		if err != nil {
			return nil, err
		}
		defer run.Remove()
		labelRun(&pc, run.Path)
	}
	if o.Run.DryRun {
		return &Outcome{DryRun: pc.DockerRun()}, nil
	}
	r := newRunner(ctx, eng, o.Run, s, pc.Image, o.DockerConfig)
	res, err := r.runMasked(ctx, pc, rep.SecretValues())
	if err != nil {
		return nil, err
	}
	if o.DigestFile != "" && res.Digest != "" && res.ExitCode == 0 {
		if err := WriteOutput(o.DigestFile, []byte(res.Digest+"\n")); err != nil {
			return nil, fmt.Errorf("writing --digest-file %q: %w", o.DigestFile, err)
		}
	}
	return &Outcome{Result: res}, exited(res.ExitCode)
}
