// Command standin imitates the kaniko executor (v1.24.0) for kanikorun's
// tests, where the real executor image cannot be pulled.
//
// It is a test fixture, not a second kaniko. It is faithful where a bug in
// kanikorun would show: the exact flag set (unknown flags and positional
// arguments are rejected, as kaniko's cobra command rejects them), the
// checks kaniko makes before building, credentials read through
// go-containerregistry's default keychain from DOCKER_CONFIG
// (/kaniko/.docker/config.json in the image), a push-permission check per
// destination before the build, a real image built with go-containerregistry
// from a subset of the Dockerfile language, kaniko-like log lines and error
// messages, exit codes, and outputs written in place (so a bind-mounted file
// works as --tar-path or --digest-file).
//
// Its first line on stderr is always
//
//	INFO[0000] kanikorun-standin argv: ["--context=dir:///workspace/", ...]
//
// with os.Args[1:] JSON-encoded, so tests can compare the exact invocation
// (testbed.ParseArgv reads it back).
//
// Limits: RUN accepts only `exit N`, `sleep N`, `echo WORDS` and
// `echo WORDS >&2` (and, like real kaniko, needs /bin/sh in the stage's
// filesystem); contexts are local directories (dir:// or a plain path) or
// a gzip tar (tar://stdin, tar://PATH), unpacked as kaniko does; ADD
// takes local files only; snapshot modes, compression and log formats are
// accepted and ignored (logs are always plain text without colours,
// whereas real kaniko defaults to --log-format=color). The caches work as
// kaniko's (cache.go): the base-image cache in --cache-dir (upstream's
// tarball layout, or the fork's OCI layout in fork mode) and, with
// --cache=true and a --cache-repo (a registry or oci:/path), the layer
// cache of RUN steps.
//
// Like kaniko, it installs no signal handler: the Go runtime ends it on
// SIGTERM or SIGINT at once (as PID 1 of a container, with exit code 2).
//
// Fork mode: with KANIKORUN_STANDIN_FLAVOR=fork in its environment (the
// image testbed.StandInForkImage loads has it) the stand-in imitates the
// osscontainertools fork v1.28.3 where it differs from upstream in what
// kanikorun relies on; everything else stays as above:
//   - `--target a,b` (comma-separated or repeated) builds every stage named
//     and pushes the first; upstream mode refuses a list with
//     "a,b is not a valid target build stage";
//   - `--secret id=ID[,src=/file][,env=VAR][,type=file|env]` exists, and
//     `RUN --mount=type=secret,id=ID[,target=PATH][,required]` sees the
//     secret at /run/secrets/ID (or PATH); a required secret not given
//     stops the build with "secret ID not defined";
//   - a RUN heredoc runs its body line by line (upstream mode drops it),
//     except that a heredoc whose delimiter is quoted (RUN <<'EOF') makes
//     the step a silent no-op, exit 0, as the fork does (fork issue 1025);
//   - `executor version` reports v1.28.3.
//
// In both modes RUN also knows `cat PATH`, which prints a file of the
// stage's filesystem or a mounted secret, and fails with exit code 1 when
// there is none (as upstream does for a secret mount, which it ignores),
// and `alloc MIB`, which touches MIB MiB of memory, as a compiler would,
// for tests of a memory limit.
package main

import (
	"archive/tar"
	"compress/gzip"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/spf13/pflag"
)

// ArgvPrefix starts the first log line; testbed.ParseArgv looks for it.
const argvPrefix = "kanikorun-standin argv: "

// flavorEnv selects the mode: "fork", or "" and "upstream" for upstream
// (testbed.StandInFlavorEnv).
const flavorEnv = "KANIKORUN_STANDIN_FLAVOR"

func main() {
	os.Exit(run(context.Background(), os.Args[1:], os.Stdout, os.Stderr))
}

// logger writes logrus-style text lines: LEVEL[seconds since start] message.
type logger struct {
	w     io.Writer
	start time.Time
}

func (l *logger) line(level, format string, a ...any) {
	fmt.Fprintf(l.w, "%s[%04d] %s\n", level, int(time.Since(l.start)/time.Second), fmt.Sprintf(format, a...))
}

func (l *logger) Infof(format string, a ...any) { l.line("INFO", format, a...) }
func (l *logger) Warnf(format string, a ...any) { l.line("WARN", format, a...) }

// exitError is a failed RUN's exit status; kaniko exits with that code.
type exitError struct{ code int }

func (e *exitError) Error() string { return fmt.Sprintf("exit status %d", e.code) }

// exitCode is kaniko's rule: a failed command's code, otherwise 1.
func exitCode(err error) int {
	var ee *exitError
	if errors.As(err, &ee) {
		return ee.code
	}
	return 1
}

// Hooks that tests replace: whether we run in a container, and where the
// mount points are (files written under them never enter the image).
var (
	contained   = detectContainer
	mountPoints = readMountPoints
	// asExecutor says whether the stand-in changes the container's file
	// system as kaniko does (deleting a context off the mounts between
	// stages, moving /kaniko for a --kaniko-dir): only as a container's
	// first process, where the executor runs, never in a test's process.
	asExecutor = os.Getpid() == 1
)

// kanikoHome is kaniko's config.KanikoDir: the KANIKO_DIR variable, else
// /kaniko, read at start-up. It is what kaniko never snapshots and keeps
// between stages, and where it unpacks a tar context; the --kaniko-dir
// flag changes none of that (it only moves /kaniko's files: moveKanikoDir).
func kanikoHome() string {
	if d, ok := os.LookupEnv("KANIKO_DIR"); ok && d != "" {
		return filepath.Clean(d)
	}
	return "/kaniko"
}

// moveKanikoDir is kaniko's checkKanikoDir: with a --kaniko-dir other than
// /kaniko it copies /kaniko's files there, removes /kaniko, and points
// DOCKER_CONFIG at the copy's .docker. The removal fails on a mount point
// under /kaniko ("device or resource busy"), and so does the build, in
// upstream v1.24 and the fork alike.
func moveKanikoDir(dir string) error {
	dir = filepath.Clean(dir)
	if !asExecutor || dir == "/kaniko" {
		return nil
	}
	err := filepath.WalkDir("/kaniko", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel("/kaniko", p)
		dst := filepath.Join(dir, rel)
		info, err := os.Lstat(p)
		if err != nil {
			return err
		}
		switch {
		case d.IsDir():
			return os.MkdirAll(dst, info.Mode().Perm())
		case d.Type()&fs.ModeSymlink != 0:
			target, err := os.Readlink(p)
			if err != nil {
				return err
			}
			return os.Symlink(target, dst)
		default:
			data, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			return os.WriteFile(dst, data, info.Mode().Perm())
		}
	})
	if err != nil {
		return err
	}
	if err := os.RemoveAll("/kaniko"); err != nil {
		return err
	}
	return os.Setenv("DOCKER_CONFIG", filepath.Join(dir, ".docker"))
}

// run is the whole executor in the mode its environment selects; it
// returns the process exit code.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	return runFlavor(ctx, os.Getenv(flavorEnv), args, stdout, stderr)
}

// runFlavor is run in the mode flavor names: "fork", else upstream.
func runFlavor(ctx context.Context, flavor string, args []string, stdout, stderr io.Writer) int {
	log := &logger{w: stderr, start: time.Now()}
	argv, _ := json.Marshal(args)
	if args == nil {
		argv = []byte("[]")
	}
	log.Infof("%s%s", argvPrefix, argv)

	var o options
	switch flavor {
	case "fork":
		o.fork = true
	case "", "upstream":
	default:
		fmt.Fprintf(stderr, "kanikorun stand-in executor: %s=%q: use upstream or fork\n", flavorEnv, flavor)
		return 1
	}
	fs := newFlagSet(&o)
	usageError := func(err error) int {
		fmt.Fprintf(stderr, "Error: %v\n", err)
		fmt.Fprintln(stderr, usage(fs))
		return 1
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, pflag.ErrHelp) {
			fmt.Fprint(stdout, usage(fs))
			return 0
		}
		return usageError(err)
	}
	if o.help {
		fmt.Fprint(stdout, usage(fs))
		return 0
	}
	if fs.NArg() > 0 {
		switch fs.Arg(0) {
		case "version":
			v := executorVersion
			if o.fork {
				v = forkVersion
			}
			fmt.Fprintf(stdout, "Kaniko version :  %s\n", v)
			return 0
		case "help":
			fmt.Fprint(stdout, usage(fs))
			return 0
		}
		fmt.Fprintf(stderr, "Error: unknown command %q for \"executor\"\nRun 'executor --help' for usage.\n", fs.Arg(0))
		return 1
	}
	if fs.Changed("whitelist-var-run") {
		fmt.Fprintln(stderr, "Flag --whitelist-var-run has been deprecated, Please use ignore-var-run instead.")
	}
	if err := o.validate(log); err != nil {
		return usageError(err)
	}

	fail := func(err error) int {
		fmt.Fprintln(stderr, err)
		return exitCode(err)
	}
	if !contained() {
		if !o.force {
			return fail(errors.New("kaniko should only be run inside of a container, run with the --force flag if you are sure you want to continue"))
		}
		log.Warnf("Kaniko is being run outside of a container. This can have dangerous effects on your system")
	}
	kc := authn.DefaultKeychain
	if !o.noPush && !o.skipPushPermission {
		if err := checkPushPermissions(&o, kc); err != nil {
			return fail(fmt.Errorf("error checking push permissions -- make sure you entered the correct tag name, and that you are authenticated correctly, and try again: %w", err))
		}
	}
	b := &builder{ctx: ctx, log: log, stdout: stdout, stderr: stderr, o: &o, keychain: kc}
	img, err := b.build()
	if err != nil {
		return fail(fmt.Errorf("error building image: %w", err))
	}
	if err := push(ctx, log, img, &o, kc); err != nil {
		return fail(fmt.Errorf("error pushing image: %w", err))
	}
	return 0
}

// validate makes kaniko's checks that run before anything else (cobra's
// PersistentPreRunE), in kaniko's order and with its messages.
func (o *options) validate(log *logger) error {
	switch o.logFormat {
	case "text", "color", "json":
	default:
		return fmt.Errorf("not a valid log format: %q. Please specify one of (text, color, json)", o.logFormat)
	}
	switch o.verbosity {
	case "trace", "debug", "info", "warn", "warning", "error", "fatal", "panic":
	default:
		return fmt.Errorf("parsing log level: not a valid logrus Level: %q", o.verbosity)
	}
	if o.customPlatformDeprec != "" {
		log.Warnf("Flag --customPlatform is deprecated. Use: --custom-platform")
		o.customPlatform = o.customPlatformDeprec
	}
	if o.snapshotModeDeprecated != "" {
		log.Warnf("Flag --snapshotMode is deprecated. Use: --snapshot-mode")
		o.snapshotMode = o.snapshotModeDeprecated
	}
	if err := moveKanikoDir(o.kanikoDir); err != nil {
		return err
	}
	if v, ok := os.LookupEnv("KANIKO_NO_PUSH"); ok && v == "true" {
		o.noPush = true
	}
	if v, ok := os.LookupEnv("KANIKO_REGISTRY_MIRROR"); ok {
		_ = o.registryMirrors.Set(v)
	}
	for i, a := range o.buildArgs {
		if !strings.Contains(a, "=") {
			o.buildArgs[i] = a + "=" + os.Getenv(a)
		}
	}
	if !o.noPush && len(o.destinations) == 0 {
		return errors.New("you must provide --destination, or use --no-push")
	}
	if o.cache && o.cacheRepo == "" && o.noPush {
		return errors.New("cache flags invalid: if using cache with --no-push, specify cache repo with --cache-repo")
	}
	for _, v := range o.secrets {
		if _, err := parseSecret(v); err != nil {
			return err
		}
	}
	if err := o.resolveContext(log); err != nil {
		return fmt.Errorf("error resolving source context: %w", err)
	}
	if err := o.resolveDockerfile(); err != nil {
		return fmt.Errorf("error resolving dockerfile path: %w", err)
	}
	if len(o.destinations) == 0 && o.imageNameDigestFile != "" {
		return errors.New("you must provide --destination if setting ImageNameDigestFile")
	}
	if len(o.destinations) == 0 && o.imageNameTagDigestFile != "" {
		return errors.New("you must provide --destination if setting ImageNameTagDigestFile")
	}
	// The stand-in is stricter than kaniko here: kaniko v1.24 would name
	// the image unset-repo/unset-image-name, which is never what a caller
	// of kanikorun wants.
	if len(o.destinations) == 0 && o.tarPath != "" {
		return errors.New("you must provide --destination if setting --tar-path: the stand-in executor needs a name for the image in the tarball")
	}
	for _, d := range o.destinations {
		if _, err := name.NewTag(d, name.WeakValidation); err != nil {
			return fmt.Errorf("getting tag for destination: %w", err)
		}
	}
	return nil
}

// resolveContext turns --context into a local directory, as kaniko's
// buildcontext package does for dir:// and plain paths.
func (o *options) resolveContext(log *logger) error {
	if o.context == "" && o.bucket == "" {
		return errors.New("please specify a path to the build context with the --context flag or a bucket with the --bucket flag")
	}
	if o.bucket != "" || strings.Contains(o.context, "://") {
		prefix, rest, _ := strings.Cut(o.context, "://")
		switch {
		case o.bucket == "" && prefix == "dir":
			o.context = rest
		case o.bucket == "" && prefix == "tar":
			dir, err := unpackTarContext(rest, os.Stdin, log)
			if err != nil {
				return err
			}
			o.context = dir
		case o.bucket != "" || prefix == "gs" || prefix == "s3" || prefix == "git" || prefix == "https":
			return fmt.Errorf("kanikorun stand-in executor: build context %q is not supported; use dir:// or a plain path", o.context)
		default:
			return errors.New("unknown build context prefix provided, please use one of the following: gs://, dir://, tar://, s3://, git://, https://")
		}
		// Like kaniko, only a context given with a prefix honours the
		// sub-path; a plain path ignores it.
		if o.contextSubPath != "" {
			o.context = filepath.Join(o.context, o.contextSubPath)
		}
	}
	st, err := os.Stat(o.context)
	if err != nil {
		return err
	}
	if !st.IsDir() {
		return fmt.Errorf("build context %s is not a directory", o.context)
	}
	return nil
}

// unpackTarContext is kaniko's tar context: "stdin" reads a gzip tar from
// stdin, anything else is the path of a gzip tar; either is unpacked into
// /kaniko/buildcontext (a temp directory outside a container).
func unpackTarContext(src string, stdin io.Reader, log *logger) (string, error) {
	var r io.Reader = stdin
	if src != "stdin" {
		f, err := os.Open(src)
		if err != nil {
			return "", err
		}
		defer f.Close()
		r = f
	} else {
		log.Infof("To simulate EOF and exit, press 'Ctrl+D'")
	}
	dir := "/kaniko/buildcontext"
	if !detectContainer() {
		// Never /kaniko on a host.
		var err error
		if dir, err = os.MkdirTemp("", "buildcontext-"); err != nil {
			return "", err
		}
	} else if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	gz, err := gzip.NewReader(r)
	if err != nil {
		return "", fmt.Errorf("getting build context: %w", err)
	}
	tr := tar.NewReader(gz)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return "", fmt.Errorf("getting build context: %w", err)
		}
		p := filepath.Join(dir, filepath.Clean("/"+h.Name))
		switch h.Typeflag {
		case tar.TypeDir:
			if err := os.MkdirAll(p, 0o755); err != nil {
				return "", err
			}
		case tar.TypeReg:
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				return "", err
			}
			f, err := os.OpenFile(p, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, os.FileMode(h.Mode)&0o777)
			if err != nil {
				return "", err
			}
			_, err = io.Copy(f, tr)
			f.Close()
			if err != nil {
				return "", err
			}
		case tar.TypeSymlink:
			_ = os.Symlink(h.Linkname, p)
		}
	}
	// Drain what follows the archive so the writer sees its stream taken.
	_, _ = io.Copy(io.Discard, r)
	log.Infof("Extracted the tar context to %s", dir)
	return dir, nil
}

// resolveDockerfile follows kaniko: the path as given (relative to the
// working directory, /workspace in the image), else relative to the context.
func (o *options) resolveDockerfile() error {
	for _, p := range []string{o.dockerfile, filepath.Join(o.context, o.dockerfile)} {
		if st, err := os.Stat(p); err == nil && !st.IsDir() {
			abs, err := filepath.Abs(p)
			if err != nil {
				return err
			}
			o.dockerfile = abs
			return nil
		}
	}
	return errors.New("please provide a valid path to a Dockerfile within the build context with --dockerfile")
}

// detectContainer is kaniko's proc.GetContainerRuntime reduced to what
// matters here: marker files and the cgroup path.
func detectContainer() bool {
	for _, f := range []string{"/.dockerenv", "/run/.containerenv"} {
		if _, err := os.Stat(f); err == nil {
			return true
		}
	}
	cg, err := os.ReadFile("/proc/self/cgroup")
	if err != nil {
		return false
	}
	for _, marker := range []string{"docker", "kubepods", "containerd", "lxc", "libpod", "garden"} {
		if strings.Contains(string(cg), marker) {
			return true
		}
	}
	return false
}

// readMountPoints lists the mount points other than / from
// /proc/self/mountinfo, as kaniko does to keep them out of snapshots.
func readMountPoints() []string {
	data, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return nil
	}
	var out []string
	for _, line := range strings.Split(string(data), "\n") {
		f := strings.Fields(line)
		if len(f) < 5 || f[4] == "/" {
			continue
		}
		out = append(out, unescapeMountPath(f[4]))
	}
	return out
}

// unescapeMountPath undoes the kernel's octal escapes (\040 for a space).
func unescapeMountPath(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+4 <= len(s) {
			var v int
			if _, err := fmt.Sscanf(s[i+1:i+4], "%03o", &v); err == nil {
				b.WriteByte(byte(v))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// checkPushPermissions is kaniko's CheckPushPermissions: initiate a blob
// upload to every destination repository before building, so bad
// credentials fail in a second instead of after the build.
func checkPushPermissions(o *options, kc authn.Keychain) error {
	checked := map[string]bool{}
	for _, d := range o.destinations {
		ref, err := o.tag(d)
		if err != nil {
			return fmt.Errorf("getting tag for destination: %w", err)
		}
		if checked[ref.Context().String()] {
			continue
		}
		if err := remote.CheckPushPermission(ref, kc, o.transport(ref.RegistryStr())); err != nil {
			return fmt.Errorf("checking push permission for %q: %w", ref.String(), err)
		}
		checked[ref.Context().String()] = true
	}
	return nil
}

// tag parses a destination, honouring --insecure and --insecure-registry
// (loopback registries are plain HTTP anyway in go-containerregistry).
func (o *options) tag(d string) (name.Tag, error) {
	t, err := name.NewTag(d, name.WeakValidation)
	if err != nil {
		return t, err
	}
	if o.insecureFor(t.RegistryStr()) {
		return name.NewTag(d, name.WeakValidation, name.Insecure)
	}
	return t, nil
}

func (o *options) insecureFor(registry string) bool {
	if o.insecure {
		return true
	}
	for _, r := range o.insecureRegistries {
		if r == registry {
			return true
		}
	}
	return false
}

// transport honours --skip-tls-verify and --skip-tls-verify-registry.
func (o *options) transport(registry string) http.RoundTripper {
	skip := o.skipTLSVerify
	for _, r := range o.skipTLSRegistries {
		skip = skip || r == registry
	}
	if !skip {
		return remote.DefaultTransport
	}
	t := remote.DefaultTransport.(*http.Transport).Clone()
	t.TLSClientConfig = &tls.Config{InsecureSkipVerify: true} //nolint:gosec // the user asked for it
	return t
}
