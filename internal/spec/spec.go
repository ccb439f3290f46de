// Package spec holds the one description of a kaniko build and the single
// place where that description becomes the executor's argument list.
//
// Every backend (the local container in runner/, the Kubernetes Job later)
// renders executor arguments through Build.Args, so a local build and a
// cluster build of the same description cannot drift apart.
package spec

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"

	"github.com/kanikorun/kanikorun/internal/errs"
)

// DefaultExecutorImage is the executor kanikorun runs when none is chosen:
// upstream kaniko's last release, pinned so builds are reproducible.
const DefaultExecutorImage = "gcr.io/kaniko-project/executor:v1.24.0"

// Build describes one kaniko build, independent of where it runs.
type Build struct {
	// Context is the absolute host path of the build context directory.
	Context string
	// Dockerfile is the absolute host path of the Dockerfile; it may lie
	// outside Context.
	Dockerfile string
	// DockerfileFromStdin says Dockerfile is a temporary copy of the one
	// -f - read from stdin: it exists only while the command runs.
	DockerfileFromStdin bool
	// Destinations are the image references to tag and push, as given.
	Destinations []string
	// GeneratedDestination is a local name kanikorun made up because the
	// image must be named (for --tar or --load) but the user gave none. It
	// is never pushed and never needs credentials.
	GeneratedDestination string
	// BuildArgs are KEY=VALUE pairs, already resolved from the environment.
	BuildArgs []string
	// Target is the stage to build; empty means the last stage.
	Target string
	// Labels are KEY=VALUE pairs added to the image config.
	Labels []string
	// NoPush builds without pushing to any destination.
	NoPush bool
	// Platform is the os/arch[/variant] to build for (--custom-platform);
	// empty for the executor's own.
	Platform string
	// Color asks for the executor's logs in colour; a layout without
	// Color (a Job's) renders plain text whatever this says.
	Color bool
	// Outputs are the files the user wants back on the host.
	Outputs Outputs
	// Registry holds the registry options passed to the executor.
	Registry RegistryOptions
	// ExecutorImage is the kaniko executor image reference to run.
	ExecutorImage string
	// ExtraArgs are passed to the executor verbatim, after everything else.
	ExtraArgs []string
	// ExtraDestinations are the --destination values among ExtraArgs: a
	// destination given after -- is a destination all the same.
	ExtraDestinations []string
	// KanikoDir is the --kaniko-dir among ExtraArgs; empty for the
	// executor's own, /kaniko.
	KanikoDir string
	// Cache is how the build caches layers and base images.
	Cache Cache
	// RemoteContext is a context the executor fetches itself (git://,
	// s3://, gs://, https://), passed through; Context and Dockerfile are
	// then empty and RemoteDockerfile is the Dockerfile's path inside it.
	RemoteContext, RemoteDockerfile string
	// Secrets are kanikorun's --secret values, each handed to the fork
	// executor as --secret=id=ID,src=SecretsDir/ID; their values are read
	// only where the files are made (Secret.Value).
	Secrets []Secret
	// Retries is kanikorun's --retries: how often a run that failed for a
	// transient reason is started again. Above zero it also gives the
	// executor its own retry flags (see retryArgs).
	Retries int
}

// Outputs are host paths for what the build produces besides a push.
type Outputs struct {
	// TarPath receives the image tarball (docker load format); empty for none.
	TarPath string
	// Load loads the built image into the local Docker daemon.
	Load bool
	// DigestFile receives the image digest (sha256:...); empty for none.
	DigestFile string
	// IIDFile receives the image ID, the config digest (docker build
	// --iidfile); empty for none.
	IIDFile string
	// MetadataFile receives the build's result as JSON with buildx's
	// keys (docker build --metadata-file); empty for none.
	MetadataFile string
}

// WantsImageID reports whether an output needs the image ID (the config
// digest), which the executor does not report.
func (o Outputs) WantsImageID() bool { return o.IIDFile != "" || o.MetadataFile != "" }

// RegistryOptions are the executor's registry flags.
type RegistryOptions struct {
	// Insecure lists registries reached over plain HTTP (--insecure-registry).
	Insecure []string
	// Mirrors lists pull-through mirrors for docker.io (--registry-mirror).
	Mirrors []string
	// SkipTLSVerify disables TLS verification for pushes (--skip-tls-verify).
	SkipTLSVerify bool
}

// Layout says where a backend puts the build's files inside the executor
// container. Args uses it to turn host paths into container paths.
type Layout struct {
	// ContextDir is the container path of the build context, e.g. /workspace.
	ContextDir string
	// ContextURL, when set, is the executor's --context as it is (a
	// tar://, git:// or s3:// context; tar://stdin when the context goes
	// on the executor's stdin) instead of dir://ContextDir.
	ContextURL string
	// Dockerfile is the container path of the Dockerfile.
	Dockerfile string
	// TarPath is the container path the executor writes the tarball to;
	// empty when no tarball is wanted.
	TarPath string
	// DigestFile is the container path the executor writes the digest to;
	// empty for none.
	DigestFile string
	// Cache is the local cache volume in the container; nil where there
	// is none (the Job, --no-cache).
	Cache *LocalCache
	// Color says the executor's logs reach a terminal that shows colour
	// (a local run whose build asks for it). Without it the logs are
	// plain text: kaniko's own default is colour, whose escape codes
	// would end up in pipes, files and kubectl logs.
	Color bool
}

// Names of the places the local runner uses inside the executor container.
// Everything kanikorun adds lives under /kaniko, which kaniko never snapshots.
const (
	WorkspaceDir       = "/workspace"
	KanikoDir          = "/kaniko"
	DockerConfigPath   = "/kaniko/.docker/config.json"
	OutsideDockerfile  = "/kaniko/dockerfile"
	LocalTarPath       = "/kaniko/kanikorun-image.tar"
	StreamContext      = "tar://stdin"
	StreamDigestFile   = "/kaniko/kanikorun-digest"
	TerminationLog     = "/dev/termination-log"
	ManagedLabel       = "io.kanikorun.managed"
	ContextLabel       = "io.kanikorun.context"
	GeneratedRegistry  = "kanikorun.local"
	generatedNameChars = "abcdefghijklmnopqrstuvwxyz0123456789"
)

// Validation errors a caller can branch on.
var (
	ErrInvalidReference = errors.New("invalid image reference")
	ErrNoDockerfile     = errors.New("dockerfile not found")
	ErrBadContext       = errors.New("build context is not a directory")
)

// PushDestinations returns the destinations the executor is told about:
// the user's, or the generated local name.
func (b *Build) PushDestinations() []string {
	if len(b.Destinations) == 0 && len(b.ExtraDestinations) == 0 && b.GeneratedDestination != "" {
		return []string{b.GeneratedDestination}
	}
	return b.Destinations
}

// EffectiveNoPush reports whether the executor runs with --no-push: asked
// for, or implied because there is nothing real to push to.
func (b *Build) EffectiveNoPush() bool {
	return b.NoPush || len(b.Destinations) == 0 && len(b.ExtraDestinations) == 0
}

// Args renders the executor's argument list for the given layout. It is the
// only place a build description becomes executor flags.
func (b *Build) Args(l Layout) []string {
	context := "dir://" + strings.TrimSuffix(l.ContextDir, "/") + "/"
	if l.ContextURL != "" {
		context = l.ContextURL
	}
	args := []string{"--context=" + context, "--dockerfile=" + l.Dockerfile}
	for _, d := range b.PushDestinations() {
		args = append(args, "--destination="+d)
	}
	if b.EffectiveNoPush() {
		args = append(args, "--no-push")
	}
	if l.TarPath != "" {
		args = append(args, "--tar-path="+l.TarPath)
	}
	if l.DigestFile != "" {
		args = append(args, "--digest-file="+l.DigestFile)
	}
	for _, a := range b.BuildArgs {
		args = append(args, "--build-arg="+a)
	}
	if b.Target != "" {
		args = append(args, "--target="+b.Target)
	}
	for _, lb := range b.Labels {
		args = append(args, "--label="+lb)
	}
	for _, r := range b.Registry.Insecure {
		args = append(args, "--insecure-registry="+r)
	}
	for _, m := range b.Registry.Mirrors {
		args = append(args, "--registry-mirror="+m)
	}
	if b.Registry.SkipTLSVerify {
		args = append(args, "--skip-tls-verify")
	}
	args = append(args, b.cacheArgs(l)...)
	if b.Platform != "" {
		args = append(args, "--custom-platform="+b.Platform)
	}
	if l.Color {
		args = append(args, "--log-format=color")
	} else {
		args = append(args, "--log-format=text")
	}
	for _, s := range b.Secrets {
		args = append(args, s.ExecutorArg())
	}
	args = append(args, b.retryArgs()...)
	return append(args, b.ExtraArgs...)
}

// DockerfileInContext returns the Dockerfile's path relative to the context
// and true when the Dockerfile lies inside the context directory.
func (b *Build) DockerfileInContext() (string, bool) {
	rel, err := filepath.Rel(b.Context, b.Dockerfile)
	if err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		return "", false
	}
	return filepath.ToSlash(rel), true
}

// MovesKanikoDir reports whether a --kaniko-dir after -- is anything but
// /kaniko, spelt exactly so: the executor compares the text
// (checkKanikoDir, upstream v1.24 and the fork), so /kaniko/ too has it
// copy /kaniko there and remove /kaniko before the build, which fails on
// any mount point under /kaniko ("device or resource busy").
func (b *Build) MovesKanikoDir() bool {
	return b.KanikoDir != "" && b.KanikoDir != KanikoDir
}

// ErrKanikoDirMoved marks KanikoDirError's refusals.
var ErrKanikoDirMoved = errors.New("--kaniko-dir cannot be used here")

// KanikoDirError refuses a --kaniko-dir where kanikorun mounts files under
// /kaniko; where says which container that is.
func (b *Build) KanikoDirError(where string) error {
	err := fmt.Errorf("--kaniko-dir=%s (after --) cannot be used %s: the executor moves /kaniko there before the build and then removes /kaniko, which fails on what kanikorun mounts under /kaniko (device or resource busy); leave --kaniko-dir out", b.KanikoDir, where)
	return errs.Mark(errs.Mark(err, ErrKanikoDirMoved), ErrUsage)
}

// BuildContextDir is where the executor unpacks a tar, GCS, S3 or git
// context: kaniko's config.BuildContextDir, <KanikoDir>/buildcontext with
// KanikoDir read from the KANIKO_DIR variable when the executor starts
// (kanikorun never sets it). A --kaniko-dir flag does not move it: the
// flag only makes the executor move /kaniko's files there.
func (b *Build) BuildContextDir() string {
	return path.Join(KanikoDir, "buildcontext")
}

// ContainerDockerfile returns where the Dockerfile appears in a container
// whose context is mounted at contextDir: inside the context when it lives
// there, else at its own mount under /kaniko/dockerfile.
func (b *Build) ContainerDockerfile(contextDir string) string {
	if rel, ok := b.DockerfileInContext(); ok {
		return path.Join(contextDir, rel)
	}
	return path.Join(OutsideDockerfile, filepath.Base(b.Dockerfile))
}

// Validate checks the description before anything is started. It reports
// the first problem as one line that says what to do.
func (b *Build) Validate() error {
	st, err := os.Stat(b.Context)
	if err != nil {
		return fmt.Errorf("%w: %q does not exist; pass an existing directory as CONTEXT", ErrBadContext, b.Context)
	}
	if !st.IsDir() {
		return fmt.Errorf("%w: %q is a file; pass its directory as CONTEXT and the file with -f", ErrBadContext, b.Context)
	}
	st, err = os.Stat(b.Dockerfile)
	if err != nil {
		return fmt.Errorf("%w: %q does not exist; create it or point -f at your Dockerfile", ErrNoDockerfile, b.Dockerfile)
	}
	if st.IsDir() {
		return fmt.Errorf("%w: %q is a directory; point -f at the Dockerfile itself", ErrNoDockerfile, b.Dockerfile)
	}
	for _, d := range append(append([]string(nil), b.Destinations...), b.ExtraDestinations...) {
		if err := ValidateDestination(d); err != nil {
			return err
		}
	}
	if b.ExecutorImage == "" {
		return fmt.Errorf("%w: empty executor image; pass --executor-image", ErrInvalidReference)
	}
	if _, err := name.ParseReference(b.ExecutorImage); err != nil {
		return fmt.Errorf("%w: executor image %q: %w; pass a reference like %s", ErrInvalidReference, b.ExecutorImage, err, DefaultExecutorImage)
	}
	for _, kv := range b.Labels {
		if k, _, ok := strings.Cut(kv, "="); !ok || k == "" {
			return fmt.Errorf("invalid label %q: write it as KEY=VALUE", kv)
		}
	}
	for _, kv := range b.BuildArgs {
		if k, _, ok := strings.Cut(kv, "="); !ok || k == "" {
			return fmt.Errorf("invalid build arg %q: write it as KEY=VALUE or KEY", kv)
		}
	}
	return nil
}

// ValidateDestination checks a destination the way kaniko will read it: a
// tag reference (kaniko cannot push to a digest).
func ValidateDestination(d string) error {
	if _, err := name.NewTag(d, name.WeakValidation); err != nil {
		return fmt.Errorf("%w: destination %q: %w; use a reference like registry.example.com/team/app:tag", ErrInvalidReference, d, err)
	}
	return nil
}

// ResolveBuildArgs turns --build-arg values into KEY=VALUE pairs the way
// docker build does: a bare KEY takes its value from the environment and is
// dropped when the environment does not have it.
func ResolveBuildArgs(raw []string, lookup func(string) (string, bool)) []string {
	out := make([]string, 0, len(raw))
	for _, a := range raw {
		if strings.Contains(a, "=") {
			out = append(out, a)
			continue
		}
		if v, ok := lookup(a); ok {
			out = append(out, a+"="+v)
		}
	}
	return out
}

// IsLoopback reports whether a registry address (host, host:port, with an
// optional scheme or path) names the loopback interface.
func IsLoopback(registry string) bool {
	h := registry
	if i := strings.Index(h, "://"); i >= 0 {
		h = h[i+3:]
	}
	if i := strings.IndexByte(h, '/'); i >= 0 {
		h = h[:i]
	}
	if host, _, err := net.SplitHostPort(h); err == nil {
		h = host
	}
	h = strings.Trim(h, "[]")
	if strings.EqualFold(h, "localhost") {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
}

// GenerateLocalName makes the local image name used when the image must be
// named but no destination was given: kanikorun.local/<context base>:<suffix>.
func GenerateLocalName(contextDir, suffix string) string {
	base := strings.ToLower(filepath.Base(contextDir))
	var sb strings.Builder
	for _, r := range base {
		switch {
		case strings.ContainsRune(generatedNameChars, r):
			sb.WriteRune(r)
		case sb.Len() > 0 && !strings.HasSuffix(sb.String(), "-"):
			sb.WriteByte('-')
		}
	}
	repo := strings.Trim(sb.String(), "-")
	if repo == "" {
		repo = "image"
	}
	return GeneratedRegistry + "/" + repo + ":" + suffix
}
