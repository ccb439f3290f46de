package main

import (
	"fmt"
	"io"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/pflag"
)

// executorVersion is what `executor version` reports: the release whose
// flag set this stand-in copies.
const executorVersion = "v1.24.0"

// forkVersion is what the fork mode reports: the fork release whose
// measured behaviour the fork mode copies.
const forkVersion = "v1.28.3"

// options mirrors kaniko's KanikoOptions for the flags the stand-in reads.
// Flags kaniko has but the stand-in ignores are still registered (see
// newFlagSet) so that they parse exactly as kaniko parses them.
type options struct {
	dockerfile             string
	context                string
	contextSubPath         string
	bucket                 string
	destinations           multiArg
	buildArgs              multiArg
	labels                 multiArg
	insecureRegistries     multiArg
	skipTLSRegistries      multiArg
	registryMirrors        multiArg
	ignorePaths            multiArg
	registryCertificates   keyValueArg
	registryClientCerts    keyValueArg
	registryMaps           keyMultiValueArg
	snapshotMode           string
	customPlatform         string
	insecure               bool
	skipTLSVerify          bool
	insecurePull           bool
	skipTLSVerifyPull      bool
	pushRetry              int
	imageFSExtractRetry    int
	imageDownloadRetry     int
	pushIgnoreImmutable    bool
	kanikoDir              string
	tarPath                string
	singleSnapshot         bool
	reproducible           bool
	target                 string
	noPush                 bool
	noPushCache            bool
	cacheRepo              string
	cacheDir               string
	digestFile             string
	imageNameDigestFile    string
	imageNameTagDigestFile string
	ociLayoutPath          string
	compression            compression
	compressionLevel       int
	cache                  bool
	compressedCaching      bool
	cleanup                bool
	cacheTTL               time.Duration
	ignoreVarRun           bool
	skipUnusedStages       bool
	useNewRun              bool
	git                    gitOptions
	cacheCopyLayers        bool
	cacheRunLayers         bool
	forceBuildMetadata     bool
	skipPushPermission     bool
	skipDefaultFallback    bool
	snapshotModeDeprecated string
	customPlatformDeprec   string

	// fork is the fork mode (KANIKORUN_STANDIN_FLAVOR=fork): --target is
	// a list, --secret exists, heredocs run.
	fork bool
	// targets is the fork's --target: every stage named, in order.
	targets targetList
	// secrets are the fork's --secret values.
	secrets multiArg

	verbosity    string
	logFormat    string
	logTimestamp bool
	force        bool
	help         bool
}

// newFlagSet registers kaniko v1.24.0's executor flags: the same names,
// shorthands, value types (and so the same parsing rules), defaults and
// usage strings, so that `--help` reproduces executor-help-v1.24.0.txt and
// an argument kaniko would reject is rejected here too.
func newFlagSet(o *options) *pflag.FlagSet {
	fs := pflag.NewFlagSet("executor", pflag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	o.registryCertificates = keyValueArg{}
	o.registryClientCerts = keyValueArg{}
	o.registryMaps = keyMultiValueArg{}

	fs.StringVarP(&o.verbosity, "verbosity", "v", "info", "Log level (trace, debug, info, warn, error, fatal, panic)")
	fs.StringVar(&o.logFormat, "log-format", "color", "Log format (text, color, json)")
	fs.BoolVar(&o.logTimestamp, "log-timestamp", false, "Timestamp in log output")
	fs.BoolVarP(&o.force, "force", "", false, "Force building outside of a container")

	fs.StringVarP(&o.dockerfile, "dockerfile", "f", "Dockerfile", "Path to the dockerfile to be built.")
	fs.StringVarP(&o.context, "context", "c", "/workspace/", "Path to the dockerfile build context.")
	fs.StringVarP(&o.contextSubPath, "context-sub-path", "", "", "Sub path within the given context.")
	fs.StringVarP(&o.bucket, "bucket", "b", "", "Name of the GCS bucket from which to access build context as tarball.")
	fs.VarP(&o.destinations, "destination", "d", "Registry the final image should be pushed to. Set it repeatedly for multiple destinations.")
	fs.StringVarP(&o.snapshotMode, "snapshot-mode", "", "full", "Change the file attributes inspected during snapshotting")
	fs.StringVarP(&o.customPlatform, "custom-platform", "", "", "Specify the build platform if different from the current host")
	fs.VarP(&o.buildArgs, "build-arg", "", "This flag allows you to pass in ARG values at build time. Set it repeatedly for multiple values.")
	fs.BoolVarP(&o.insecure, "insecure", "", false, "Push to insecure registry using plain HTTP")
	fs.BoolVarP(&o.skipTLSVerify, "skip-tls-verify", "", false, "Push to insecure registry ignoring TLS verify")
	fs.BoolVarP(&o.insecurePull, "insecure-pull", "", false, "Pull from insecure registry using plain HTTP")
	fs.BoolVarP(&o.skipTLSVerifyPull, "skip-tls-verify-pull", "", false, "Pull from insecure registry ignoring TLS verify")
	fs.IntVar(&o.pushRetry, "push-retry", 0, "Number of retries for the push operation")
	fs.BoolVar(&o.pushIgnoreImmutable, "push-ignore-immutable-tag-errors", false, "If true, known tag immutability errors are ignored and the push finishes with success.")
	fs.IntVar(&o.imageFSExtractRetry, "image-fs-extract-retry", 0, "Number of retries for image FS extraction")
	fs.IntVar(&o.imageDownloadRetry, "image-download-retry", 0, "Number of retries for downloading the remote image")
	fs.StringVarP(&o.kanikoDir, "kaniko-dir", "", "/kaniko", "Path to the kaniko directory, this takes precedence over the KANIKO_DIR environment variable.")
	fs.StringVarP(&o.tarPath, "tar-path", "", "", "Path to save the image in as a tarball instead of pushing")
	fs.BoolVarP(&o.singleSnapshot, "single-snapshot", "", false, "Take a single snapshot at the end of the build.")
	fs.BoolVarP(&o.reproducible, "reproducible", "", false, "Strip timestamps out of the image to make it reproducible")
	if o.fork {
		fs.VarP(&o.targets, "target", "", "Set the target build stage(s) to build: comma-separated or repeated; the first is pushed")
	} else {
		fs.StringVarP(&o.target, "target", "", "", "Set the target build stage to build")
	}
	fs.BoolVarP(&o.noPush, "no-push", "", false, "Do not push the image to the registry")
	fs.BoolVarP(&o.noPushCache, "no-push-cache", "", false, "Do not push the cache layers to the registry")
	fs.StringVarP(&o.cacheRepo, "cache-repo", "", "", "Specify a repository to use as a cache, otherwise one will be inferred from the destination provided; when prefixed with 'oci:' the repository will be written in OCI image layout format at the path provided")
	fs.StringVarP(&o.cacheDir, "cache-dir", "", "/cache", "Specify a local directory to use as a cache.")
	fs.StringVarP(&o.digestFile, "digest-file", "", "", "Specify a file to save the digest of the built image to.")
	fs.StringVarP(&o.imageNameDigestFile, "image-name-with-digest-file", "", "", "Specify a file to save the image name w/ digest of the built image to.")
	fs.StringVarP(&o.imageNameTagDigestFile, "image-name-tag-with-digest-file", "", "", "Specify a file to save the image name w/ image tag w/ digest of the built image to.")
	fs.StringVarP(&o.ociLayoutPath, "oci-layout-path", "", "", "Path to save the OCI image layout of the built image.")
	fs.VarP(&o.compression, "compression", "", "Compression algorithm (gzip, zstd)")
	fs.IntVarP(&o.compressionLevel, "compression-level", "", -1, "Compression level")
	fs.BoolVarP(&o.cache, "cache", "", false, "Use cache when building image")
	fs.BoolVarP(&o.compressedCaching, "compressed-caching", "", true, "Compress the cached layers. Decreases build time, but increases memory usage.")
	fs.BoolVarP(&o.cleanup, "cleanup", "", false, "Clean the filesystem at the end")
	fs.DurationVarP(&o.cacheTTL, "cache-ttl", "", time.Hour*336, "Cache timeout, requires value and unit of duration -> ex: 6h. Defaults to two weeks.")
	fs.VarP(&o.insecureRegistries, "insecure-registry", "", "Insecure registry using plain HTTP to push and pull. Set it repeatedly for multiple registries.")
	fs.VarP(&o.skipTLSRegistries, "skip-tls-verify-registry", "", "Insecure registry ignoring TLS verify to push and pull. Set it repeatedly for multiple registries.")
	fs.VarP(&o.registryCertificates, "registry-certificate", "", "Use the provided certificate for TLS communication with the given registry. Expected format is 'my.registry.url=/path/to/the/server/certificate'.")
	fs.VarP(&o.registryClientCerts, "registry-client-cert", "", "Use the provided client certificate for mutual TLS (mTLS) communication with the given registry. Expected format is 'my.registry.url=/path/to/client/cert,/path/to/client/key'.")
	fs.VarP(&o.registryMaps, "registry-map", "", "Registry map of mirror to use as pull-through cache instead. Expected format is 'orignal.registry=new.registry;other-original.registry=other-remap.registry'")
	fs.VarP(&o.registryMirrors, "registry-mirror", "", "Registry mirror to use as pull-through cache instead of docker.io. Set it repeatedly for multiple mirrors.")
	fs.BoolVarP(&o.skipDefaultFallback, "skip-default-registry-fallback", "", false, "If an image is not found on any mirrors (defined with registry-mirror) do not fallback to the default registry. If registry-mirror is not defined, this flag is ignored.")
	fs.BoolVarP(&o.ignoreVarRun, "ignore-var-run", "", true, "Ignore /var/run directory when taking image snapshot. Set it to false to preserve /var/run/ in destination image.")
	fs.VarP(&o.labels, "label", "", "Set metadata for an image. Set it repeatedly for multiple labels.")
	fs.BoolVarP(&o.skipUnusedStages, "skip-unused-stages", "", false, "Build only used stages if defined to true. Otherwise it builds by default all stages, even the unnecessaries ones until it reaches the target stage / end of Dockerfile")
	fs.BoolVarP(&o.useNewRun, "use-new-run", "", false, "Use the experimental run implementation for detecting changes without requiring file system snapshots.")
	fs.Var(&o.git, "git", "Branch to clone if build context is a git repository")
	fs.BoolVarP(&o.cacheCopyLayers, "cache-copy-layers", "", false, "Caches copy layers")
	fs.BoolVarP(&o.cacheRunLayers, "cache-run-layers", "", true, "Caches run layers")
	fs.VarP(&o.ignorePaths, "ignore-path", "", "Ignore these paths when taking a snapshot. Set it repeatedly for multiple paths.")
	fs.BoolVarP(&o.forceBuildMetadata, "force-build-metadata", "", false, "Force add metadata layers to build image")
	fs.BoolVarP(&o.skipPushPermission, "skip-push-permission-check", "", false, "Skip check of the push permission")

	fs.StringVarP(&o.snapshotModeDeprecated, "snapshotMode", "", "", "This flag is deprecated. Please use '--snapshot-mode'.")
	fs.StringVarP(&o.customPlatformDeprec, "customPlatform", "", "", "This flag is deprecated. Please use '--custom-platform'.")
	fs.StringVarP(&o.tarPath, "tarPath", "", "", "This flag is deprecated. Please use '--tar-path'.")

	if o.fork {
		fs.VarP(&o.secrets, "secret", "", "Secret to expose to RUN --mount=type=secret: id=ID[,src=/file][,env=VAR][,type=file|env]. Set it repeatedly for multiple secrets.")
	}

	// Flags kaniko accepts but hides from --help.
	_ = fs.MarkHidden("bucket")
	fs.BoolVarP(&o.ignoreVarRun, "whitelist-var-run", "", true, "Ignore /var/run directory when taking image snapshot. Set it to false to preserve /var/run/ in destination image.")
	_ = fs.MarkHidden("whitelist-var-run")

	// cobra adds this one to every command.
	fs.BoolVarP(&o.help, "help", "h", false, "help for executor")
	return fs
}

// usage renders what cobra prints for `executor --help` and after a usage
// error.
func usage(fs *pflag.FlagSet) string {
	return "Usage:\n  executor [flags]\n  executor [command]\n\n" +
		"Available Commands:\n" +
		"  completion  Generate the autocompletion script for the specified shell\n" +
		"  help        Help about any command\n" +
		"  version     Print the version number of kaniko\n\n" +
		"Flags:\n" + flagUsages(fs) + "\n" +
		"Use \"executor [command] --help\" for more information about a command.\n"
}

// flagUsages renders the flag table as the pflag release vendored by kaniko
// does; newer pflag releases write "--cache[=true|false]" for booleans.
func flagUsages(fs *pflag.FlagSet) string {
	var lines []string
	maxlen := 0
	fs.VisitAll(func(f *pflag.Flag) {
		if f.Hidden {
			return
		}
		line := "      --" + f.Name
		if f.Shorthand != "" {
			line = "  -" + f.Shorthand + ", --" + f.Name
		}
		varname, use := pflag.UnquoteUsage(f)
		if varname != "" {
			line += " " + varname
		}
		line += "\x00"
		maxlen = max(maxlen, len(line))
		line += use
		switch f.DefValue {
		case "", "false", "0", "0s", "<nil>", "[]":
		default:
			if f.Value.Type() == "string" {
				line += fmt.Sprintf(" (default %q)", f.DefValue)
			} else {
				line += fmt.Sprintf(" (default %s)", f.DefValue)
			}
		}
		lines = append(lines, line)
	})
	var b strings.Builder
	for _, l := range lines {
		i := strings.Index(l, "\x00")
		fmt.Fprintln(&b, l[:i], strings.Repeat(" ", maxlen-i), l[i+1:])
	}
	return b.String()
}

// multiArg is kaniko's repeatable flag: every occurrence appends one value,
// commas included (unlike pflag's StringSlice).
type multiArg []string

func (m *multiArg) String() string     { return strings.Join(*m, ",") }
func (m *multiArg) Set(v string) error { *m = append(*m, v); return nil }
func (m *multiArg) Type() string       { return "multi-arg type" }

// keyValueArg is kaniko's KEY=VALUE map flag.
type keyValueArg map[string]string

func (a keyValueArg) String() string {
	var out []string
	for k, v := range a {
		out = append(out, k+"="+v)
	}
	sort.Strings(out)
	return strings.Join(out, ",")
}

func (a keyValueArg) Set(v string) error {
	k, val, ok := strings.Cut(v, "=")
	if !ok {
		return fmt.Errorf("invalid argument value. expect key=value, got %s", v)
	}
	a[k] = val
	return nil
}

func (a keyValueArg) Type() string { return "key-value-arg type" }

// keyMultiValueArg is kaniko's --registry-map value:
// KEY=VALUE pairs separated by ';', a key may repeat.
type keyMultiValueArg map[string][]string

func (a keyMultiValueArg) String() string {
	var out []string
	for k, vs := range a {
		out = append(out, k+"="+strings.Join(vs, ";"))
	}
	sort.Strings(out)
	return strings.Join(out, ";")
}

func (a keyMultiValueArg) Set(v string) error {
	for _, pair := range strings.Split(v, ";") {
		k, val, ok := strings.Cut(pair, "=")
		if !ok {
			return fmt.Errorf("invalid argument value. expect key=value, got %s", pair)
		}
		a[k] = append(a[k], val)
	}
	return nil
}

func (a keyMultiValueArg) Type() string { return "key-multi-value-arg type" }

// compression is kaniko's --compression value.
type compression string

func (c *compression) String() string { return string(*c) }
func (c *compression) Type() string   { return "compression" }
func (c *compression) Set(v string) error {
	switch v {
	case "gzip", "zstd":
		*c = compression(v)
		return nil
	}
	return fmt.Errorf(`must be either "gzip" or "zstd"`)
}

// gitOptions is kaniko's --git value (KEY=VALUE, one per occurrence).
type gitOptions struct {
	branch            string
	singleBranch      bool
	recurseSubmodules bool
	insecureSkipTLS   bool
}

func (g *gitOptions) String() string {
	return fmt.Sprintf("branch=%s,single-branch=%t,recurse-submodules=%t", g.branch, g.singleBranch, g.recurseSubmodules)
}

func (g *gitOptions) Type() string { return "gitoptions" }

func (g *gitOptions) Set(s string) error {
	k, v, ok := strings.Cut(s, "=")
	if !ok {
		return fmt.Errorf("invalid argument value. expect key=value, got %s", s)
	}
	var err error
	switch k {
	case "branch":
		g.branch = v
	case "single-branch":
		g.singleBranch, err = strconv.ParseBool(v)
	case "recurse-submodules":
		g.recurseSubmodules, err = strconv.ParseBool(v)
	case "insecure-skip-tls":
		g.insecureSkipTLS, err = strconv.ParseBool(v)
	default:
		return fmt.Errorf("%s is not a valid option", k)
	}
	return err
}

// targetList is the fork's --target: comma-separated, repeatable.
type targetList []string

func (t *targetList) String() string { return strings.Join(*t, ",") }
func (t *targetList) Type() string   { return "stringSlice" }
func (t *targetList) Set(v string) error {
	for _, s := range strings.Split(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			*t = append(*t, s)
		}
	}
	return nil
}

// secret is one --secret of the fork.
type secret struct {
	id, src, env, typ string
}

// parseSecret reads id=ID[,src=/file][,env=VAR][,type=file|env]; without
// type, env= makes it an environment secret, anything else a file.
func parseSecret(v string) (secret, error) {
	var s secret
	for _, kv := range strings.Split(v, ",") {
		k, val, ok := strings.Cut(kv, "=")
		if !ok {
			return s, fmt.Errorf("invalid secret %q: expect key=value pairs", v)
		}
		switch strings.ToLower(k) {
		case "id":
			s.id = val
		case "src", "source":
			s.src = val
		case "env":
			s.env = val
		case "type":
			if val != "file" && val != "env" {
				return s, fmt.Errorf("invalid secret %q: type must be file or env", v)
			}
			s.typ = val
		default:
			return s, fmt.Errorf("invalid secret %q: unknown key %q", v, k)
		}
	}
	if s.id == "" {
		return s, fmt.Errorf("invalid secret %q: id is required", v)
	}
	if s.typ == "" {
		s.typ = "file"
		if s.env != "" {
			s.typ = "env"
		}
	}
	return s, nil
}

// value reads the secret from its file or environment variable.
func (s secret) value() ([]byte, error) {
	if s.typ == "env" {
		name := s.env
		if name == "" {
			name = s.id
		}
		v, ok := os.LookupEnv(name)
		if !ok {
			return nil, fmt.Errorf("secret %s: environment variable %s is not set", s.id, name)
		}
		return []byte(v), nil
	}
	src := s.src
	if src == "" {
		src = s.id
	}
	b, err := os.ReadFile(src)
	if err != nil {
		return nil, fmt.Errorf("secret %s: %w", s.id, err)
	}
	return b, nil
}
