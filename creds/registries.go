package creds

import (
	"errors"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
	"github.com/moby/buildkit/frontend/dockerfile/shell"

	"github.com/kanikorun/kanikorun/internal/dockerfile"
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

// Registries returns every registry the build touches, sorted by host:
// destinations and the cache repository (push), and registry mirrors,
// registry maps, insecure registries and the images the Dockerfile pulls
// (FROM and COPY --from, with ARG defaults and build args substituted).
//
// It reads the executor's own flags (spec.ParseExecutorArgs of the
// rendered argument list), so flags passed after -- count exactly as
// kaniko will see them. generated is a destination kanikorun made up for
// --tar or --load, which is never pushed. df may be nil when the
// Dockerfile is out of reach (a manifest replayed as it is).
func Registries(f spec.ExecutorFlags, df *dockerfile.File, generated string) ([]Registry, error) {
	set, err := flagRegistries(f, generated)
	if err != nil {
		return nil, err
	}
	if df != nil {
		imgs, err := dockerfileImages(df, f.BuildArgs, f.Target)
		if err != nil {
			return nil, fmt.Errorf("%w: %q: %w", ErrDockerfile, df.Path, err)
		}
		for _, im := range imgs {
			set.add(im.registry, false, im.use)
		}
	}
	return set.list(), nil
}

// flagRegistries collects the registries the executor flags name; a
// generated local destination is never pushed and needs nothing.
func flagRegistries(f spec.ExecutorFlags, generated string) (*registrySet, error) {
	set := &registrySet{}
	var dests []string
	for _, d := range f.Destinations {
		if d != generated {
			dests = append(dests, d)
		}
	}
	if !f.NoPush {
		for _, d := range dests {
			if err := set.addRef(d, true, UseDestination); err != nil {
				return nil, fmt.Errorf("reading destination: %w", err)
			}
		}
	}
	if f.Cache {
		// kaniko caches in --cache-repo, else in <first destination>/cache;
		// an oci: repository is a local directory, and with --no-push
		// kaniko insists on an explicit --cache-repo.
		switch {
		case strings.HasPrefix(f.CacheRepo, "oci:"):
		case f.CacheRepo != "":
			r, err := name.NewRepository(f.CacheRepo, name.WeakValidation)
			if err != nil {
				return nil, fmt.Errorf("reading cache repository %q: %w", f.CacheRepo, err)
			}
			set.add(r.RegistryStr(), !f.NoPushCache, UseCache)
		case !f.NoPush && len(f.Destinations) > 0 && f.Destinations[0] != generated:
			if err := set.addRef(f.Destinations[0], !f.NoPushCache, UseCache); err != nil {
				return nil, fmt.Errorf("reading destination: %w", err)
			}
		}
	}
	for _, m := range f.Mirrors {
		h, err := registryHost(m)
		if err != nil {
			return nil, fmt.Errorf("reading --registry-mirror: %w", err)
		}
		set.add(h, false, UseMirror)
	}
	for _, m := range f.RegistryMaps {
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
	for _, r := range append(append([]string(nil), f.InsecureRegistries...), f.SkipTLSVerifyRegistries...) {
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
func dockerfileImages(df *dockerfile.File, buildArgs []string, target string) ([]image, error) {
	stages, metaArgs, err := df.Stages()
	if err != nil {
		return nil, fmt.Errorf("parsing: %w", err)
	}
	lex := shell.NewLex(df.Result.EscapeToken)

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
			return fmt.Errorf("line %d: %s %q is not an image reference (%w); check the ARG values it uses", line, use, ref, err)
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

// BaseImages lists the images the Dockerfile builds on (FROM, in the
// stages built), with ARG defaults and build args substituted, as the
// executor will pull them: the base-image cache is filled with these.
func BaseImages(f spec.ExecutorFlags, df *dockerfile.File) ([]string, error) {
	imgs, err := dockerfileImages(df, f.BuildArgs, f.Target)
	if err != nil {
		return nil, fmt.Errorf("%w: %q: %w", ErrDockerfile, df.Path, err)
	}
	var out []string
	for _, im := range imgs {
		if im.use == UseFrom && !slices.Contains(out, im.ref) {
			out = append(out, im.ref)
		}
	}
	return out, nil
}
