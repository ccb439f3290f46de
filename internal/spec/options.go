package spec

import (
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"

	"github.com/kanikorun/kanikorun/internal/errs"
)

// ErrOutput means a requested output path on the host cannot be written.
var ErrOutput = errors.New("output path not writable")

// ErrUsage marks a description that cannot be built as given: the user
// must change the command line.
var ErrUsage = errors.New("invalid build description")

// Options are the raw inputs of a build description, as a user types them
// on any command that builds or renders one (build, creds, job, lint,
// submit). Options.Build turns them into a Build.
type Options struct {
	// Args are the positional arguments: at most one CONTEXT directory;
	// none means the current directory.
	Args []string
	// Dockerfile is -f as given; empty means CONTEXT/Dockerfile. It may lie
	// outside the context.
	Dockerfile string
	// DockerfileFromStdin says Dockerfile is a temporary copy of what -f -
	// read from stdin (prepare.Options.ReadStdinDockerfile).
	DockerfileFromStdin bool
	// Destinations are the --destination (-t) references.
	Destinations []string
	// BuildArgs are --build-arg values: KEY=VALUE, or KEY to take the value
	// from the environment.
	BuildArgs []string
	// Target is --target: the stage to build.
	Target string
	// Labels are --label KEY=VALUE pairs.
	Labels []string
	// NoPush is --no-push.
	NoPush bool
	// Platform is --platform: one os/arch[/variant] to build for, handed
	// to the executor as --custom-platform; empty for the host's.
	Platform string
	// Color makes the executor log in colour (--progress tty, or auto on
	// a terminal). Only a local run's layout honours it; a Job never
	// does.
	Color bool
	// ExecutorImage is --executor-image (or KANIKORUN_EXECUTOR_IMAGE);
	// empty means DefaultExecutorImage.
	ExecutorImage string
	// InsecureRegistries, Mirrors and SkipTLSVerify are the registry flags
	// kanikorun passes on to the executor.
	InsecureRegistries, Mirrors []string
	SkipTLSVerify               bool
	// TarPath, Load and DigestFile are the local outputs (build only):
	// host paths, relative to the working directory.
	TarPath    string
	Load       bool
	DigestFile string
	// IIDFile and MetadataFile are --iidfile and --metadata-file (build
	// only): host paths for the image ID and the build's JSON metadata.
	IIDFile, MetadataFile string
	// ExecutorArgs are the arguments after --, handed to the executor
	// verbatim after kanikorun's own.
	ExecutorArgs []string
	// NoCache is --no-cache: this build uses no cache at all.
	NoCache bool
	// CacheFrom and CacheTo are --cache-from and --cache-to
	// (type=registry,ref=REPO): the executor's cache repository, used
	// instead of the local cache volume.
	CacheFrom, CacheTo []string
	// Secrets are the --secret values as docker build spells them
	// (id=ID,src=FILE or id=ID,env=VAR); see ParseSecret.
	Secrets []string
	// Retries is --retries: how often a transiently failed run is retried
	// (0, the default, never); see Build.Retries.
	Retries int
	// LookupEnv reads the environment for a bare --build-arg KEY; nil means
	// os.LookupEnv.
	LookupEnv func(string) (string, bool)
	// RemoteContextOK lets CONTEXT be a context the executor fetches
	// itself (git://, s3://, gs://, https://); the cluster commands set it.
	RemoteContextOK bool
}

// remoteSchemes are the contexts kaniko fetches itself.
var remoteSchemes = []string{"git://", "s3://", "gs://", "https://", "http://"}

// IsRemoteContext reports whether a CONTEXT argument names a context the
// executor fetches itself.
func IsRemoteContext(arg string) bool {
	for _, s := range remoteSchemes {
		if strings.HasPrefix(arg, s) {
			return true
		}
	}
	return false
}

// Validate checks what can be checked without touching the daemon or the
// network: the context and Dockerfile exist, references parse, outputs
// are writable. Every error wraps ErrUsage.
func (o Options) Validate() error {
	_, err := o.Build()
	return err
}

// Build turns the options into a validated build description with
// absolute host paths. Every error wraps ErrUsage.
func (o Options) Build() (*Build, error) {
	b, err := o.build()
	return b, errs.Mark(err, ErrUsage)
}

func (o Options) build() (*Build, error) {
	if o.Retries < 0 || o.Retries > MaxRetries {
		return nil, fmt.Errorf("invalid --retries %d: give 0 to %d", o.Retries, MaxRetries)
	}
	if len(o.Args) > 1 {
		return nil, fmt.Errorf("too many arguments %q: give one CONTEXT directory (executor flags go after --)", o.Args)
	}
	if len(o.Args) == 1 && IsRemoteContext(o.Args[0]) {
		return o.remoteBuild()
	}
	ctxDir := "."
	if len(o.Args) == 1 && o.Args[0] != "" {
		ctxDir = o.Args[0]
	}
	ctxAbs, err := filepath.Abs(ctxDir)
	if err != nil {
		return nil, fmt.Errorf("resolving context %q: %w", ctxDir, err)
	}
	df := filepath.Join(ctxAbs, "Dockerfile")
	if o.Dockerfile != "" {
		if df, err = filepath.Abs(o.Dockerfile); err != nil {
			return nil, fmt.Errorf("resolving -f %q: %w", o.Dockerfile, err)
		}
	}
	lookup := o.LookupEnv
	if lookup == nil {
		lookup = os.LookupEnv
	}
	img := o.ExecutorImage
	if img == "" {
		img = DefaultExecutorImage
	}
	if err := checkPlatform(o.Platform); err != nil {
		return nil, err
	}
	extra, err := ParseExecutorArgs(o.ExecutorArgs)
	if err != nil {
		return nil, err
	}
	secrets, err := ParseSecrets(o.Secrets, lookup)
	if err != nil {
		return nil, err
	}
	b := &Build{
		Context:       ctxAbs,
		Dockerfile:    df,
		Destinations:  o.Destinations,
		BuildArgs:     ResolveBuildArgs(o.BuildArgs, lookup),
		Target:        o.Target,
		Labels:        o.Labels,
		NoPush:        o.NoPush,
		Platform:      o.Platform,
		Color:         o.Color,
		ExecutorImage: img,
		Registry: RegistryOptions{
			Insecure:      o.InsecureRegistries,
			Mirrors:       o.Mirrors,
			SkipTLSVerify: o.SkipTLSVerify,
		},
		ExtraArgs:         o.ExecutorArgs,
		ExtraDestinations: extra.Destinations,
		KanikoDir:         extra.KanikoDir,
		Outputs:           Outputs{Load: o.Load},
		Secrets:           secrets,
		Retries:           o.Retries,
		Cache:             Cache{Off: o.NoCache, Explicit: extra.CacheRepo != "" || extra.CacheDir != ""},
	}
	if b.Cache.Repo, b.Cache.ReadOnly, err = CacheRepo(o.CacheFrom, o.CacheTo); err != nil {
		return nil, err
	}
	for _, out := range []struct {
		flag, path string
		dst        *string
	}{{"--tar", o.TarPath, &b.Outputs.TarPath}, {"--digest-file", o.DigestFile, &b.Outputs.DigestFile},
		{"--iidfile", o.IIDFile, &b.Outputs.IIDFile}, {"--metadata-file", o.MetadataFile, &b.Outputs.MetadataFile}} {
		if out.path == "" {
			continue
		}
		if *out.dst, err = filepath.Abs(out.path); err != nil {
			return nil, fmt.Errorf("resolving %s %q: %w", out.flag, out.path, err)
		}
		if err := CheckOutput(out.flag, *out.dst); err != nil {
			return nil, err
		}
	}
	b.DockerfileFromStdin = o.DockerfileFromStdin
	if err := b.Validate(); err != nil {
		return nil, err
	}
	if b.Outputs.WantsImageID() && b.EffectiveNoPush() && b.Outputs.TarPath == "" && !b.Outputs.Load {
		return nil, fmt.Errorf("--iidfile and --metadata-file name the built image, and a build that is neither pushed nor written leaves none: push it (-t REF), or add --load or --tar PATH")
	}
	if len(b.Destinations) == 0 && len(b.ExtraDestinations) == 0 && (b.Outputs.TarPath != "" || b.Outputs.Load) {
		b.GeneratedDestination = GenerateLocalName(b.Context, "latest")
	}
	return b, nil
}

// checkPlatform accepts one os/arch[/variant]. kaniko builds one platform
// per run and makes no manifest list, so a list is refused until kanikorun
// runs one build per platform itself.
func checkPlatform(p string) error {
	if p == "" {
		return nil
	}
	if strings.Contains(p, ",") {
		return fmt.Errorf("--platform %q: kaniko builds one platform per run and multi-platform builds are not supported yet; give one, e.g. --platform linux/arm64, and build once per platform", p)
	}
	parts := strings.Split(p, "/")
	if len(parts) < 2 || len(parts) > 3 || slices.Contains(parts, "") {
		return fmt.Errorf("invalid --platform %q: write it as os/arch[/variant], e.g. linux/arm64 or linux/arm/v7", p)
	}
	return nil
}

// CheckOutput makes sure path can be created: its directory exists and is
// writable, and path itself is not a directory. It leaves nothing behind.
// The error wraps ErrOutput.
func CheckOutput(flag, path string) error {
	if st, err := os.Stat(path); err == nil && st.IsDir() {
		return fmt.Errorf("%w: %s %q is a directory; give a file path", ErrOutput, flag, path)
	}
	dir := filepath.Dir(path)
	st, err := os.Stat(dir)
	if err != nil {
		return fmt.Errorf("%w: %s %q: directory %q does not exist; create it or choose another path", ErrOutput, flag, path, dir)
	}
	if !st.IsDir() {
		return fmt.Errorf("%w: %s %q: %q is not a directory; choose another path", ErrOutput, flag, path, dir)
	}
	f, err := os.CreateTemp(dir, ".kanikorun-check-*")
	if err != nil {
		return fmt.Errorf("%w: %s %q: %w; choose a writable path", ErrOutput, flag, path, unwrapPathError(err))
	}
	f.Close()
	_ = os.Remove(f.Name())
	return nil
}

func unwrapPathError(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// remoteBuild is a build whose context the executor fetches (CONTEXT is a
// git://, s3://, gs:// or https:// URL): there is no host path, -f is a
// path inside that context, and nothing on this machine is read.
func (o Options) remoteBuild() (*Build, error) {
	if !o.RemoteContextOK {
		return nil, fmt.Errorf("%w: %q is a context the executor fetches itself; that works with kanikorun job and submit, not here: clone or download it and pass the directory", ErrBadContext, o.Args[0])
	}
	df := o.Dockerfile
	if df == "" {
		df = "Dockerfile"
	}
	if path.IsAbs(df) || strings.HasPrefix(path.Clean(df), "..") {
		return nil, fmt.Errorf("%w: with a remote context, -f %q must be a relative path inside it", ErrNoDockerfile, df)
	}
	img := o.ExecutorImage
	if img == "" {
		img = DefaultExecutorImage
	}
	extra, err := ParseExecutorArgs(o.ExecutorArgs)
	if err != nil {
		return nil, err
	}
	lookup := o.LookupEnv
	if lookup == nil {
		lookup = os.LookupEnv
	}
	if err := checkPlatform(o.Platform); err != nil {
		return nil, err
	}
	secrets, err := ParseSecrets(o.Secrets, lookup)
	if err != nil {
		return nil, err
	}
	b := &Build{
		RemoteContext:     o.Args[0],
		RemoteDockerfile:  path.Clean(df),
		Destinations:      o.Destinations,
		BuildArgs:         ResolveBuildArgs(o.BuildArgs, lookup),
		Target:            o.Target,
		Labels:            o.Labels,
		NoPush:            o.NoPush,
		ExecutorImage:     img,
		Registry:          RegistryOptions{Insecure: o.InsecureRegistries, Mirrors: o.Mirrors, SkipTLSVerify: o.SkipTLSVerify},
		ExtraArgs:         o.ExecutorArgs,
		ExtraDestinations: extra.Destinations,
		KanikoDir:         extra.KanikoDir,
		Outputs:           Outputs{Load: o.Load, TarPath: o.TarPath, DigestFile: o.DigestFile, IIDFile: o.IIDFile, MetadataFile: o.MetadataFile},
		Platform:          o.Platform,
		Secrets:           secrets,
		Retries:           o.Retries,
	}
	for _, d := range append(append([]string(nil), b.Destinations...), b.ExtraDestinations...) {
		if err := ValidateDestination(d); err != nil {
			return nil, err
		}
	}
	return b, nil
}
