package creds

import (
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/linter"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
	"github.com/moby/buildkit/frontend/dockerfile/shell"
	"github.com/spf13/pflag"

	"github.com/kanikorun/kanikorun/internal/spec"
)

// Why a build touches a registry; shown in the summary's FOR column.
const (
	UseDestination = "destination"
	UseCache       = "cache"
	UseFrom        = "FROM"
	UseCopyFrom    = "COPY --from"
	UseMirror      = "mirror"
	UseInsecure    = "insecure"
)

// dockerHub is go-containerregistry's name for Docker Hub, the registry
// part of every bare image name such as "alpine".
const dockerHub = name.DefaultRegistry

// ErrDockerfile means the images a Dockerfile uses could not be worked out.
var ErrDockerfile = errors.New("cannot read the images the Dockerfile uses")

// Registry is one registry a build talks to.
type Registry struct {
	// Host is the registry as kaniko names it: host[:port], with Docker Hub
	// spelled "index.docker.io" as go-containerregistry spells it.
	Host string
	// Push is true when the build writes there (a destination or the cache
	// repository); a registry the build only pulls from tolerates missing
	// credentials, a push registry does not.
	Push bool
	// Uses says why the build touches the registry (UseDestination,
	// UseFrom, ...), in the order first seen.
	Uses []string
}

// Key returns the key kaniko looks the registry up under in config.json:
// "https://index.docker.io/v1/" for Docker Hub, the host otherwise.
func (r Registry) Key() string { return authKey(r.Host) }

// Access returns "push" or "pull".
func (r Registry) Access() string {
	if r.Push {
		return "push"
	}
	return "pull"
}

// authKey mirrors go-containerregistry's authn.DefaultKeychain, which kaniko
// uses: it rewrites only "index.docker.io" (and docker.io, which name
// already folds into it) to the historical Docker Hub key. A reference
// spelled registry-1.docker.io is looked up under that host, unchanged.
func authKey(host string) string {
	if host == dockerHub || host == "docker.io" {
		return dockerHubKey
	}
	return host
}

// dockerHubKey is the key Docker Hub credentials live under in config.json
// (authn.DefaultAuthKey).
const dockerHubKey = "https://index.docker.io/v1/"

// isDockerHub reports whether host is one of Docker Hub's spellings.
func isDockerHub(host string) bool {
	switch host {
	case "docker.io", "index.docker.io", "registry-1.docker.io":
		return true
	}
	return false
}

// RegistryOf returns the registry of an image reference, for callers that
// need credentials for one more image (for example the executor image).
func RegistryOf(image string, push bool, use string) (Registry, error) {
	ref, err := name.ParseReference(image, name.WeakValidation)
	if err != nil {
		return Registry{}, fmt.Errorf("parsing image reference %q: %w", image, err)
	}
	return Registry{Host: ref.Context().RegistryStr(), Push: push, Uses: []string{use}}, nil
}

// registryHost turns a registry as users write it on the command line
// (host, host:port, with an optional scheme or path) into kaniko's name.
func registryHost(s string) (string, error) {
	h := s
	if _, rest, ok := strings.Cut(h, "://"); ok {
		h = rest
	}
	h, _, _ = strings.Cut(h, "/")
	reg, err := name.NewRegistry(h, name.WeakValidation)
	if err != nil || h == "" {
		return "", fmt.Errorf("invalid registry %q: write it as host or host:port", s)
	}
	return reg.RegistryStr(), nil
}

// registrySet collects registries, merging repeated hosts.
type registrySet struct {
	byHost map[string]*Registry
}

func (s *registrySet) add(host string, push bool, use string) {
	if s.byHost == nil {
		s.byHost = map[string]*Registry{}
	}
	r, ok := s.byHost[host]
	if !ok {
		r = &Registry{Host: host}
		s.byHost[host] = r
	}
	r.Push = r.Push || push
	if use != "" && !slices.Contains(r.Uses, use) {
		r.Uses = append(r.Uses, use)
	}
}

func (s *registrySet) addRef(ref string, push bool, use string) error {
	r, err := RegistryOf(ref, push, use)
	if err != nil {
		return err
	}
	s.add(r.Host, push, use)
	return nil
}

func (s *registrySet) list() []Registry {
	out := make([]Registry, 0, len(s.byHost))
	for _, r := range s.byHost {
		out = append(out, *r)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Host < out[j].Host })
	return out
}

// mergeRegistries folds registries with the same host into one, pushing
// when any of them pushes, sorted by host.
func mergeRegistries(regs []Registry) []Registry {
	var s registrySet
	for _, r := range regs {
		s.add(r.Host, r.Push, "")
		for _, u := range r.Uses {
			s.add(r.Host, r.Push, u)
		}
	}
	return s.list()
}

// executorFlags are the executor flags that decide which registries a
// build touches.
type executorFlags struct {
	destinations []string
	noPush       bool
	cache        bool
	cacheRepo    string
	noPushCache  bool
	mirrors      []string
	registryMaps []string
	insecure     []string
	skipTLS      []string
	buildArgs    []string
	target       string
}

// parseExecutorFlags reads the executor's argument list the way kaniko's
// own flag parser (pflag) does, ignoring the flags that do not matter here.
func parseExecutorFlags(args []string) (executorFlags, error) {
	var f executorFlags
	fs := pflag.NewFlagSet("executor", pflag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	fs.ParseErrorsAllowlist = pflag.ParseErrorsAllowlist{UnknownFlagsHandling: pflag.IgnoreUnknownFlag}
	fs.StringArrayVarP(&f.destinations, "destination", "d", nil, "")
	fs.BoolVar(&f.noPush, "no-push", false, "")
	fs.BoolVar(&f.cache, "cache", false, "")
	fs.StringVar(&f.cacheRepo, "cache-repo", "", "")
	fs.BoolVar(&f.noPushCache, "no-push-cache", false, "")
	fs.StringArrayVar(&f.mirrors, "registry-mirror", nil, "")
	fs.StringArrayVar(&f.registryMaps, "registry-map", nil, "")
	fs.StringArrayVar(&f.insecure, "insecure-registry", nil, "")
	fs.StringArrayVar(&f.skipTLS, "skip-tls-verify-registry", nil, "")
	fs.StringArrayVar(&f.buildArgs, "build-arg", nil, "")
	fs.StringVar(&f.target, "target", "", "")
	if err := fs.Parse(args); err != nil {
		return f, fmt.Errorf("reading executor arguments: %w", err)
	}
	return f, nil
}

// Registries returns every registry the build touches, sorted by host:
// destinations and the cache repository (push), and registry mirrors,
// registry maps, insecure registries and the images the Dockerfile pulls
// (FROM and COPY --from, with ARG defaults and build args substituted).
//
// It reads the executor's own argument list (spec.Build.Args), so flags
// passed through ExtraArgs count exactly as kaniko will see them.
func Registries(b *spec.Build) ([]Registry, error) {
	f, err := parseExecutorFlags(b.Args(spec.Layout{ContextDir: spec.WorkspaceDir, Dockerfile: spec.WorkspaceDir + "/Dockerfile"}))
	if err != nil {
		return nil, err
	}
	set, err := flagRegistries(f, b.GeneratedDestination)
	if err != nil {
		return nil, err
	}
	fh, err := os.Open(b.Dockerfile)
	if err != nil {
		return nil, fmt.Errorf("%w: opening %q: %w", ErrDockerfile, b.Dockerfile, err)
	}
	defer fh.Close()
	imgs, err := dockerfileImages(fh, f.buildArgs, f.target)
	if err != nil {
		return nil, fmt.Errorf("%w: %q: %w", ErrDockerfile, b.Dockerfile, err)
	}
	for _, im := range imgs {
		set.add(im.registry, false, im.use)
	}
	return set.list(), nil
}

// ArgRegistries returns the registries an executor argument list names
// (destinations, cache repository, mirrors, registry maps, insecure
// registries), without reading a Dockerfile: for a manifest replayed as it
// is, whose Dockerfile lives in a volume.
func ArgRegistries(args []string) ([]Registry, error) {
	f, err := parseExecutorFlags(args)
	if err != nil {
		return nil, err
	}
	set, err := flagRegistries(f, "")
	if err != nil {
		return nil, err
	}
	return set.list(), nil
}

// DockerfileRegistries returns the registries of the images the Dockerfile
// at path (a host path) pulls, as Registries reads them, with the build
// args and target taken from the executor argument list args: for a
// replayed manifest whose Dockerfile replay found through its mounts.
func DockerfileRegistries(path string, args []string) ([]Registry, error) {
	f, err := parseExecutorFlags(args)
	if err != nil {
		return nil, err
	}
	fh, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("%w: opening %q: %w", ErrDockerfile, path, err)
	}
	defer fh.Close()
	imgs, err := dockerfileImages(fh, f.buildArgs, f.target)
	if err != nil {
		return nil, fmt.Errorf("%w: %q: %w", ErrDockerfile, path, err)
	}
	var set registrySet
	for _, im := range imgs {
		set.add(im.registry, false, im.use)
	}
	return set.list(), nil
}

// flagRegistries collects the registries the executor flags name; a
// generated local destination is never pushed and needs nothing.
func flagRegistries(f executorFlags, generated string) (*registrySet, error) {
	set := &registrySet{}
	var dests []string
	for _, d := range f.destinations {
		if d != generated {
			dests = append(dests, d)
		}
	}
	if !f.noPush {
		for _, d := range dests {
			if err := set.addRef(d, true, UseDestination); err != nil {
				return nil, fmt.Errorf("reading destination: %w", err)
			}
		}
	}
	if f.cache {
		// kaniko caches in --cache-repo, else in <first destination>/cache;
		// an oci: repository is a local directory, and with --no-push
		// kaniko insists on an explicit --cache-repo.
		switch {
		case strings.HasPrefix(f.cacheRepo, "oci:"):
		case f.cacheRepo != "":
			r, err := name.NewRepository(f.cacheRepo, name.WeakValidation)
			if err != nil {
				return nil, fmt.Errorf("reading cache repository %q: %w", f.cacheRepo, err)
			}
			set.add(r.RegistryStr(), !f.noPushCache, UseCache)
		case !f.noPush && len(f.destinations) > 0 && f.destinations[0] != generated:
			if err := set.addRef(f.destinations[0], !f.noPushCache, UseCache); err != nil {
				return nil, fmt.Errorf("reading destination: %w", err)
			}
		}
	}
	for _, m := range f.mirrors {
		h, err := registryHost(m)
		if err != nil {
			return nil, fmt.Errorf("reading --registry-mirror: %w", err)
		}
		set.add(h, false, UseMirror)
	}
	for _, m := range f.registryMaps {
		for _, pair := range strings.Split(m, ";") {
			_, targets, ok := strings.Cut(pair, "=")
			if !ok {
				continue
			}
			for _, t := range strings.Split(targets, ",") {
				if strings.TrimSpace(t) == "" {
					continue
				}
				h, err := registryHost(strings.TrimSpace(t))
				if err != nil {
					return nil, fmt.Errorf("reading --registry-map: %w", err)
				}
				set.add(h, false, UseMirror)
			}
		}
	}
	for _, r := range append(append([]string(nil), f.insecure...), f.skipTLS...) {
		h, err := registryHost(r)
		if err != nil {
			return nil, fmt.Errorf("reading --insecure-registry: %w", err)
		}
		set.add(h, false, UseInsecure)
	}
	return set, nil
}

// image is one image a Dockerfile pulls.
type image struct {
	ref      string // the reference after ARG substitution
	registry string
	use      string // UseFrom or UseCopyFrom
	line     int
}

// dockerfileImages returns the images kaniko pulls for a Dockerfile: the
// base image of every stage it builds (up to the target) that is neither a
// previous stage nor scratch, and every COPY --from that names an image.
// ARGs are resolved as kaniko resolves them: global ARG defaults expanded
// in order, then overridden by non-empty build args (declared or not).
func dockerfileImages(r io.Reader, buildArgs []string, target string) ([]image, error) {
	res, err := parser.Parse(r)
	if err != nil {
		return nil, fmt.Errorf("parsing: %w", err)
	}
	stages, metaArgs, err := instructions.Parse(res.AST, &linter.Linter{})
	if err != nil {
		return nil, fmt.Errorf("parsing: %w", err)
	}
	lex := shell.NewLex(res.EscapeToken)

	var prev []string
	for _, m := range metaArgs {
		for _, kv := range m.Args {
			if kv.Value == nil {
				continue
			}
			v, _, err := lex.ProcessWord(*kv.Value, shell.EnvsFromSlice(append(slices.Clone(prev), buildArgs...)))
			if err != nil {
				return nil, fmt.Errorf("expanding ARG %s: %w", kv.Key, err)
			}
			prev = append(prev, kv.Key+"="+v)
		}
	}
	env := prev
	for _, a := range buildArgs {
		if k, v, _ := strings.Cut(a, "="); v != "" {
			env = append(env, k+"="+v)
		}
	}
	getter := shell.EnvsFromSlice(env)

	last := len(stages) - 1
	if target != "" {
		for i, s := range stages {
			if strings.EqualFold(s.Name, target) {
				last = i
				break
			}
		}
	}

	var out []image
	var names []string
	add := func(ref, use string, loc []parser.Range) error {
		line := 0
		if len(loc) > 0 {
			line = loc[0].Start.Line
		}
		r, err := name.ParseReference(ref, name.WeakValidation)
		if err != nil {
			return fmt.Errorf("line %d: %s %q is not an image reference (%v); check the ARG values it uses", line, use, ref, err)
		}
		out = append(out, image{ref: ref, registry: r.Context().RegistryStr(), use: use, line: line})
		return nil
	}
	for i := 0; i <= last && i < len(stages); i++ {
		s := stages[i]
		base, _, err := lex.ProcessWord(s.BaseName, getter)
		if err != nil {
			return nil, fmt.Errorf("expanding FROM %q: %w", s.BaseName, err)
		}
		if !strings.EqualFold(base, "scratch") && !slices.Contains(names, strings.ToLower(base)) {
			if err := add(base, UseFrom, s.Location); err != nil {
				return nil, err
			}
		}
		for _, c := range s.Commands {
			cp, ok := c.(*instructions.CopyCommand)
			if !ok || cp.From == "" {
				continue
			}
			from, _, err := lex.ProcessWord(cp.From, getter)
			if err != nil {
				return nil, fmt.Errorf("expanding COPY --from=%q: %w", cp.From, err)
			}
			if n, err := strconv.Atoi(from); err == nil && n >= 0 && n < i {
				continue
			}
			if slices.Contains(names, strings.ToLower(from)) {
				continue
			}
			if err := add(from, UseCopyFrom, cp.Location()); err != nil {
				return nil, err
			}
		}
		if s.Name != "" {
			names = append(names, strings.ToLower(s.Name))
		}
	}
	return out, nil
}
