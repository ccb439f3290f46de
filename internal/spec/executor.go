package spec

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/pflag"
)

// ErrExecutorArgs means an executor argument list cannot be read: kaniko
// itself would refuse it (a boolean flag given "maybe", a flag that needs
// a value at the end of the list).
var ErrExecutorArgs = errors.New("invalid executor arguments")

// ExecutorFlags is an executor argument list read once, the way kaniko's
// own flag parser (pflag, cobra's) reads it: every form pflag accepts
// (--name=v, --name v, -d v, -dv), the last value of a single-valued flag
// winning, repeated flags collected in order, and "--" ending the flags.
// Flags kaniko does not have (the fork's newer ones) are skipped.
//
// Everything in kanikorun that needs to know what the executor will do
// (credentials, network, preflight, replay) reads these fields instead of
// the argument list.
type ExecutorFlags struct {
	// Context is --context (-c) as given; empty when absent, which kaniko
	// reads as dir:///workspace/.
	Context string
	// ContextSubPath is --context-sub-path.
	ContextSubPath string
	// Dockerfile is --dockerfile (-f) as given; empty when absent, which
	// kaniko reads as "Dockerfile" in the context.
	Dockerfile string
	// Destinations are the --destination (-d) values, in order.
	Destinations []string
	// NoPush is --no-push.
	NoPush bool
	// Cache is --cache: the layer cache is used.
	Cache bool
	// CacheRepo is --cache-repo: a registry repository, or oci:/path.
	CacheRepo string
	// CacheDir is --cache-dir: the base-image cache directory.
	CacheDir string
	// NoPushCache is --no-push-cache.
	NoPushCache bool
	// Mirrors are the --registry-mirror values.
	Mirrors []string
	// RegistryMaps are the --registry-map values
	// (original=mirror[,mirror];...).
	RegistryMaps []string
	// InsecureRegistries are the --insecure-registry values.
	InsecureRegistries []string
	// SkipTLSVerifyRegistries are the --skip-tls-verify-registry values.
	SkipTLSVerifyRegistries []string
	// Insecure is --insecure; InsecurePull is --insecure-pull.
	Insecure, InsecurePull bool
	// SkipTLSVerify is --skip-tls-verify; SkipTLSVerifyPull is
	// --skip-tls-verify-pull.
	SkipTLSVerify, SkipTLSVerifyPull bool
	// BuildArgs are the --build-arg values (KEY=VALUE or KEY), in order.
	BuildArgs []string
	// Labels are the --label values.
	Labels []string
	// Target is --target as given: one stage, or for the fork a
	// comma-separated list.
	Target string
	// Secrets are the fork's --secret values (id=ID[,src=PATH][,env=VAR]).
	Secrets []string
	// SkipUnusedStages is --skip-unused-stages; nil when absent (each
	// executor has its own default).
	SkipUnusedStages *bool
	// CustomPlatform is --custom-platform (or the deprecated
	// --customPlatform).
	CustomPlatform string
	// DigestFile is --digest-file.
	DigestFile string
	// TarPath is --tar-path (or the deprecated --tarPath).
	TarPath string
	// OCILayoutPath is --oci-layout-path.
	OCILayoutPath string
	// ImageNameWithDigestFile is --image-name-with-digest-file.
	ImageNameWithDigestFile string
	// ImageNameTagWithDigestFile is --image-name-tag-with-digest-file.
	ImageNameTagWithDigestFile string
	// KanikoDir is --kaniko-dir ("" when absent: /kaniko).
	KanikoDir string
	// PushRetry and ImageDownloadRetry are --push-retry and
	// --image-download-retry as given ("" when absent).
	PushRetry, ImageDownloadRetry string
}

// ParseExecutorArgs reads an executor argument list. The error wraps
// ErrExecutorArgs.
func ParseExecutorArgs(args []string) (ExecutorFlags, error) {
	var f ExecutorFlags
	fs := pflag.NewFlagSet("executor", pflag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	fs.ParseErrorsAllowlist = pflag.ParseErrorsAllowlist{UnknownFlagsHandling: pflag.IgnoreUnknownFlag}
	str := func(p *string, name, short string) { fs.StringVarP(p, name, short, "", "") }
	arr := func(p *[]string, name, short string) { fs.StringArrayVarP(p, name, short, nil, "") }
	boolean := func(p *bool, name string) { fs.BoolVar(p, name, false, "") }

	str(&f.Context, "context", "c")
	str(&f.ContextSubPath, "context-sub-path", "")
	str(&f.Dockerfile, "dockerfile", "f")
	arr(&f.Destinations, "destination", "d")
	boolean(&f.NoPush, "no-push")
	boolean(&f.Cache, "cache")
	str(&f.CacheRepo, "cache-repo", "")
	str(&f.CacheDir, "cache-dir", "")
	boolean(&f.NoPushCache, "no-push-cache")
	arr(&f.Mirrors, "registry-mirror", "")
	arr(&f.RegistryMaps, "registry-map", "")
	arr(&f.InsecureRegistries, "insecure-registry", "")
	arr(&f.SkipTLSVerifyRegistries, "skip-tls-verify-registry", "")
	boolean(&f.Insecure, "insecure")
	boolean(&f.InsecurePull, "insecure-pull")
	boolean(&f.SkipTLSVerify, "skip-tls-verify")
	boolean(&f.SkipTLSVerifyPull, "skip-tls-verify-pull")
	arr(&f.BuildArgs, "build-arg", "")
	arr(&f.Labels, "label", "")
	str(&f.Target, "target", "")
	str(&f.KanikoDir, "kaniko-dir", "")
	arr(&f.Secrets, "secret", "")
	var skipUnused bool
	boolean(&skipUnused, "skip-unused-stages")
	str(&f.CustomPlatform, "custom-platform", "")
	str(&f.DigestFile, "digest-file", "")
	str(&f.TarPath, "tar-path", "")
	str(&f.OCILayoutPath, "oci-layout-path", "")
	str(&f.ImageNameWithDigestFile, "image-name-with-digest-file", "")
	str(&f.ImageNameTagWithDigestFile, "image-name-tag-with-digest-file", "")
	str(&f.PushRetry, "push-retry", "")
	str(&f.ImageDownloadRetry, "image-download-retry", "")
	// The deprecated spellings kaniko still binds to the same settings.
	fs.StringVar(&f.CustomPlatform, "customPlatform", "", "")
	fs.StringVar(&f.TarPath, "tarPath", "", "")
	// The rest of kaniko's flags, so their values are not read as
	// positional arguments or, worse, as the next flag.
	for _, name := range executorValueFlags {
		fs.String(name, "", "")
	}
	for _, name := range executorBoolFlags {
		fs.Bool(name, false, "")
	}
	fs.StringP("verbosity", "v", "", "")
	fs.BoolP("help", "h", false, "")
	if err := fs.Parse(args); err != nil {
		return ExecutorFlags{}, fmt.Errorf("%w: %w", ErrExecutorArgs, err)
	}
	if fs.Changed("skip-unused-stages") {
		f.SkipUnusedStages = &skipUnused
	}
	return f, nil
}

// executorValueFlags and executorBoolFlags are kaniko v1.24.0's remaining
// flags (its --help), which kanikorun does not read.
var (
	executorValueFlags = []string{
		"cache-ttl", "compression", "compression-level", "git", "ignore-path",
		"image-fs-extract-retry", "log-format",
		"registry-certificate", "registry-client-cert", "snapshot-mode",
		"snapshotMode",
	}
	executorBoolFlags = []string{
		"cache-copy-layers", "cache-run-layers", "cleanup", "compressed-caching",
		"force", "force-build-metadata", "ignore-var-run", "log-timestamp",
		"push-ignore-immutable-tag-errors", "reproducible", "single-snapshot",
		"skip-default-registry-fallback", "skip-push-permission-check",
		"use-new-run",
	}
)

// LocalContext reports whether the executor reads the context from a
// directory in its container (dir://, or a plain path), not from git://,
// s3://, tar://, https:// and the like.
func (f ExecutorFlags) LocalContext() bool {
	c := f.Context
	return c == "" || strings.HasPrefix(c, "dir://") || !strings.Contains(c, "://")
}

// SecretIDs lists the ids of the fork's --secret flags.
func (f ExecutorFlags) SecretIDs() []string {
	var ids []string
	for _, v := range f.Secrets {
		for _, kv := range strings.Split(v, ",") {
			if id, ok := strings.CutPrefix(kv, "id="); ok {
				ids = append(ids, id)
			}
		}
	}
	return ids
}
