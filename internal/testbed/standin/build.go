package main

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
	"github.com/moby/buildkit/frontend/dockerfile/shell"
	"github.com/moby/patternmatcher"
	"github.com/moby/patternmatcher/ignorefile"
)

// scratchEnv is the environment kaniko gives a stage whose base has none.
const scratchEnv = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// errLimit marks what real kaniko can do but the stand-in cannot.
var errLimit = errors.New("kanikorun stand-in executor")

// builder builds one Dockerfile into an image.
type builder struct {
	ctx            context.Context
	log            *logger
	stdout, stderr io.Writer
	o              *options
	keychain       authn.Keychain

	escape   rune
	excludes *patternmatcher.PatternMatcher
	// quotedHeredocs holds the lines of RUN instructions with a heredoc
	// whose delimiter is quoted, which the fork skips.
	quotedHeredocs map[int]bool
	mounts         []string
	args           map[string]string // --build-arg values
	meta           map[string]string // ARGs declared before the first FROM
	stages         []*stage
}

// stage is the state of one build stage.
type stage struct {
	name    string
	img     v1.Image
	cfg     *v1.ConfigFile
	args    map[string]string // ARGs declared in this stage and their values
	argKeys []string
	fs      map[string]*fsEntry // flattened filesystem, nil when stale
	// key is the layer cache's composite key of everything so far.
	key string
}

// fsEntry is one path of a flattened image filesystem.
type fsEntry struct {
	hdr  *tar.Header
	data []byte
}

func (b *builder) build() (v1.Image, error) {
	content, err := os.ReadFile(b.o.dockerfile)
	if err != nil {
		return nil, fmt.Errorf("reading dockerfile at path %s: %w", b.o.dockerfile, err)
	}
	res, err := parser.Parse(bytes.NewReader(content))
	if err != nil {
		return nil, fmt.Errorf("parsing dockerfile: %w", err)
	}
	b.escape = res.EscapeToken
	b.quotedHeredocs = map[int]bool{}
	for _, n := range res.AST.Children {
		for _, h := range n.Heredocs {
			if strings.EqualFold(n.Value, "run") && !h.Expand {
				b.quotedHeredocs[n.StartLine] = true
			}
		}
	}
	stages, metaArgs, err := instructions.Parse(res.AST, nil)
	if err != nil {
		return nil, fmt.Errorf("parsing dockerfile: %w", err)
	}
	if err := upstreamParseLimits(stages); err != nil {
		return nil, fmt.Errorf("parsing dockerfile: %w", err)
	}
	if err := b.loadDockerignore(); err != nil {
		return nil, err
	}
	b.mounts = []string{filepath.Clean(b.o.context)}
	if contained() {
		b.mounts = append(b.mounts, mountPoints()...)
	}
	// kaniko never snapshots its own directory either.
	if st, err := os.Stat(kanikoHome()); err == nil && st.IsDir() {
		b.mounts = append(b.mounts, kanikoHome())
	}

	b.args = map[string]string{}
	for _, a := range b.o.buildArgs {
		k, v, _ := strings.Cut(a, "=")
		b.args[k] = v
	}
	b.meta = map[string]string{}
	for _, ma := range metaArgs {
		for _, kv := range ma.Args {
			if v, ok := b.args[kv.Key]; ok {
				b.meta[kv.Key] = v
			} else if kv.Value != nil {
				v, err := b.expand(*kv.Value, b.metaEnv())
				if err != nil {
					return nil, err
				}
				b.meta[kv.Key] = v
			}
		}
	}

	last := len(stages) - 1
	if b.o.target != "" {
		i, ok := instructions.HasStage(stages, b.o.target)
		if !ok {
			return nil, fmt.Errorf("error finding target stage: %s is not a valid target build stage", b.o.target)
		}
		last = i
	}
	// The fork's --target is a list: it builds every stage named and
	// pushes the first.
	pushed := last
	for n, t := range b.o.targets {
		i, ok := instructions.HasStage(stages, t)
		if !ok {
			return nil, fmt.Errorf("error finding target stage: %s is not a valid target build stage", t)
		}
		if n == 0 {
			pushed, last = i, i
		}
		last = max(last, i)
	}
	for i := 0; i <= last; i++ {
		s, err := b.buildStage(i, &stages[i], i == pushed)
		if err != nil {
			return nil, fmt.Errorf("error building stage: %w", err)
		}
		b.stages = append(b.stages, s)
		if i < last {
			if err := b.deleteFilesystem(i); err != nil {
				return nil, err
			}
		}
	}
	return b.stages[pushed].img, nil
}

// deleteFilesystem is what kaniko does after every stage but the last
// (util.DeleteFilesystem): it deletes the whole file system except its
// ignore list, which holds the kaniko directory and the container's mount
// points, so that the next stage starts from its own base. The part of
// that the stand-in can show is the context: one that lies on the
// container's own file system, neither under the kaniko directory nor on
// a mount point, is gone for the later stages, and a later COPY from it
// fails as kaniko's does.
func (b *builder) deleteFilesystem(stage int) error {
	dir := filepath.Clean(b.o.context)
	keep := append([]string{kanikoHome()}, mountPoints()...)
	if !asExecutor || onAny(dir, keep) {
		return nil
	}
	b.log.Infof("Deleting filesystem...")
	if err := removeAllBut(dir, keep); err != nil {
		return fmt.Errorf("deleting file system after stage %d: %w", stage, err)
	}
	return nil
}

// removeAllBut removes p as kaniko's walk does: all of it but the kept
// paths at or under it, and the directories on the way to them.
func removeAllBut(p string, keep []string) error {
	below := false
	for _, m := range keep {
		if m == p {
			return nil
		}
		below = below || strings.HasPrefix(m, p+"/")
	}
	if !below {
		return os.RemoveAll(p)
	}
	entries, err := os.ReadDir(p)
	if err != nil {
		return nil
	}
	for _, e := range entries {
		if err := removeAllBut(filepath.Join(p, e.Name()), keep); err != nil {
			return err
		}
	}
	return nil
}

// onAny reports whether p is one of dirs or lies under one.
func onAny(p string, dirs []string) bool {
	for _, m := range dirs {
		if p == m || strings.HasPrefix(p, strings.TrimSuffix(m, "/")+"/") {
			return true
		}
	}
	return false
}

// upstreamParseLimits rejects what kaniko v1.24's older Dockerfile parser
// rejects although buildkit's current parser accepts it.
func upstreamParseLimits(stages []instructions.Stage) error {
	for _, st := range stages {
		for _, c := range st.Commands {
			if cp, ok := c.(*instructions.CopyCommand); ok {
				if len(cp.ExcludePatterns) > 0 {
					return fmt.Errorf("dockerfile parse error on line %d: unknown flag: --exclude", line(c))
				}
				if cp.Parents {
					return fmt.Errorf("dockerfile parse error on line %d: unknown flag: --parents", line(c))
				}
			}
		}
	}
	return nil
}

func line(c instructions.Command) int {
	if loc := c.Location(); len(loc) > 0 {
		return loc[0].Start.Line
	}
	return 0
}

// loadDockerignore reads <Dockerfile>.dockerignore or <context>/.dockerignore,
// in kaniko's order.
func (b *builder) loadDockerignore() error {
	for _, p := range []string{b.o.dockerfile + ".dockerignore", filepath.Join(b.o.context, ".dockerignore")} {
		f, err := os.Open(p)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return err
		}
		defer f.Close()
		b.log.Infof("Using dockerignore file: %v", p)
		patterns, err := ignorefile.ReadAll(f)
		if err != nil {
			return fmt.Errorf("parsing .dockerignore: %w", err)
		}
		b.excludes, err = patternmatcher.New(patterns)
		return err
	}
	return nil
}

// excluded reports whether a context-relative path is .dockerignore'd.
func (b *builder) excluded(rel string) bool {
	if b.excludes == nil || rel == "." {
		return false
	}
	ok, _ := b.excludes.MatchesOrParentMatches(filepath.ToSlash(rel))
	return ok
}

func (b *builder) metaEnv() []string {
	var env []string
	for k, v := range b.meta {
		env = append(env, k+"="+v)
	}
	return env
}

func (b *builder) expand(word string, env []string) (string, error) {
	out, _, err := shell.NewLex(b.escape).ProcessWord(word, shell.EnvsFromSlice(env))
	return out, err
}

// env is what a stage's instructions see: its ARGs overridden by its ENV.
func (s *stage) env() []string {
	var env []string
	for _, k := range s.argKeys {
		env = append(env, k+"="+s.args[k])
	}
	return append(env, s.cfg.Config.Env...)
}

func (b *builder) buildStage(idx int, st *instructions.Stage, final bool) (*stage, error) {
	base, err := b.expand(st.BaseName, b.metaEnv())
	if err != nil {
		return nil, err
	}
	s := &stage{name: st.Name, args: map[string]string{}}
	baseIdx := -1
	switch {
	case strings.EqualFold(base, "scratch"):
		b.log.Infof("No base image, nothing to extract")
		s.img = empty.Image
		s.key = "scratch"
	default:
		if i := b.stageIndex(base); i >= 0 {
			baseIdx = i
			s.img = b.stages[i].img
			s.key = b.stages[i].key
		} else if s.img, err = b.pull(base); err != nil {
			return nil, err
		} else {
			s.key = stageKey(s.img, base)
		}
	}
	cf, err := s.img.ConfigFile()
	if err != nil {
		return nil, err
	}
	s.cfg = cf.DeepCopy()
	if s.cfg.Config.Env == nil {
		s.cfg.Config.Env = []string{scratchEnv}
	}
	for _, l := range b.o.labels {
		k, v, ok := strings.Cut(l, "=")
		if !ok {
			return nil, fmt.Errorf("labels must be of the form key=value, got %s", l)
		}
		if s.cfg.Config.Labels == nil {
			s.cfg.Config.Labels = map[string]string{}
		}
		s.cfg.Config.Labels[k] = v
	}
	b.log.Infof("Building stage '%v' [idx: '%v', base-idx: '%v']", base, idx, baseIdx)

	sawCmd, sawEntrypoint := false, false
	for _, c := range st.Commands {
		b.log.Infof("%s", c.(fmt.Stringer).String())
		if e, ok := c.(instructions.SupportsSingleWordExpansion); ok {
			if _, isRun := c.(*instructions.RunCommand); !isRun {
				env := s.env()
				if err := e.Expand(func(w string) (string, error) { return b.expand(w, env) }); err != nil {
					return nil, err
				}
			}
		}
		if _, isRun := c.(*instructions.RunCommand); !isRun {
			s.extendKey(c.(fmt.Stringer).String())
		}
		if err := b.execute(s, c); err != nil {
			return nil, fmt.Errorf("failed to execute command: %w", err)
		}
		sawCmd = sawCmd || strings.EqualFold(c.Name(), "cmd")
		sawEntrypoint = sawEntrypoint || strings.EqualFold(c.Name(), "entrypoint")
	}
	if sawEntrypoint && !sawCmd {
		s.cfg.Config.Cmd = nil
	}
	s.cfg.OS, s.cfg.Architecture = runtime.GOOS, runtime.GOARCH
	if p := b.o.customPlatform; p != "" {
		goos, arch, _ := strings.Cut(p, "/")
		s.cfg.OS, s.cfg.Architecture = goos, arch
	}
	if final {
		s.cfg.Created = v1.Time{Time: time.Now().UTC()}
	}
	s.img, err = mutate.ConfigFile(s.img, s.cfg)
	if err != nil {
		return nil, err
	}
	if final && b.o.reproducible {
		return s, b.canonical(s)
	}
	return s, nil
}

func (b *builder) canonical(s *stage) error {
	img, err := mutate.Canonical(s.img)
	s.img = img
	return err
}

// stageIndex finds an earlier stage by name or index, -1 if none.
func (b *builder) stageIndex(ref string) int {
	for i, s := range b.stages {
		if s.name != "" && strings.EqualFold(s.name, ref) {
			return i
		}
	}
	if i, err := strconv.Atoi(ref); err == nil && i >= 0 && i < len(b.stages) {
		return i
	}
	return -1
}

// pull fetches a base image with the keychain, as kaniko's
// RetrieveRemoteImage does: through --registry-mirror (for Docker Hub) and
// --registry-map first, then from the registry named in the reference
// unless --skip-default-registry-fallback.
func (b *builder) pull(ref string) (v1.Image, error) {
	b.log.Infof("Retrieving image manifest %s", ref)
	r, err := name.ParseReference(ref, name.WeakValidation)
	if err != nil {
		return nil, err
	}
	orig := r.Context().RegistryStr()
	targets := append([]string(nil), b.o.registryMaps[orig]...)
	if orig == name.DefaultRegistry {
		targets = append(targets, b.o.registryMirrors...)
	}
	for _, target := range targets {
		mapped, err := b.remap(r, target)
		if err != nil {
			return nil, err
		}
		b.log.Infof("Retrieving image %s from mapped registry %s", mapped, target)
		img, err := b.fetch(mapped)
		if err == nil {
			if cached := b.cachedBase(img); cached != nil {
				return cached, nil
			}
			return img, nil
		}
		b.log.Warnf("Failed to retrieve image %s from remapped registry %s: %v. Will try with the next registry, or fallback to the original registry.", mapped, target, err)
	}
	if len(targets) > 0 && b.o.skipDefaultFallback {
		return nil, fmt.Errorf("image not found on any configured mirror(s)")
	}
	if b.o.insecurePull || b.o.insecureFor(orig) {
		if r, err = name.ParseReference(ref, name.WeakValidation, name.Insecure); err != nil {
			return nil, err
		}
	}
	b.log.Infof("Retrieving image %s from registry %s", r, orig)
	var img v1.Image
	err = retry(b.o.imageDownloadRetry, func() error {
		var err error
		img, err = b.fetch(r)
		return err
	})
	if err != nil {
		return nil, err
	}
	if cached := b.cachedBase(img); cached != nil {
		return cached, nil
	}
	return img, nil
}

// remap moves a reference to a mirror written host[:port][/path/prefix].
func (b *builder) remap(r name.Reference, target string) (name.Reference, error) {
	host, prefix, _ := strings.Cut(target, "/")
	repo := r.Context().RepositoryStr()
	if prefix != "" {
		repo = prefix + "/" + repo
	}
	opts := []name.Option{name.WeakValidation}
	if b.o.insecurePull || b.o.insecureFor(host) {
		opts = append(opts, name.Insecure)
	}
	sep := ":"
	if _, ok := r.(name.Digest); ok {
		sep = "@"
	}
	return name.ParseReference(host+"/"+repo+sep+r.Identifier(), opts...)
}

func (b *builder) fetch(r name.Reference) (v1.Image, error) {
	return remote.Image(r,
		remote.WithContext(b.ctx),
		remote.WithAuthFromKeychain(b.keychain),
		remote.WithTransport(b.o.transport(r.Context().RegistryStr())),
		remote.WithPlatform(v1.Platform{OS: runtime.GOOS, Architecture: runtime.GOARCH}))
}

// execute applies one instruction to the stage.
func (b *builder) execute(s *stage, c instructions.Command) error {
	cfg := &s.cfg.Config
	switch c := c.(type) {
	case *instructions.EnvCommand:
		for _, kv := range c.Env {
			cfg.Env = setEnv(cfg.Env, kv.Key, kv.Value)
		}
	case *instructions.LabelCommand:
		if cfg.Labels == nil {
			cfg.Labels = map[string]string{}
		}
		for _, kv := range c.Labels {
			cfg.Labels[kv.Key] = kv.Value
		}
	case *instructions.ArgCommand:
		for _, kv := range c.Args {
			v, ok := b.args[kv.Key]
			if !ok && kv.Value != nil {
				v, ok = *kv.Value, true
			}
			if !ok {
				v, ok = b.meta[kv.Key]
			}
			if !ok {
				continue
			}
			if _, seen := s.args[kv.Key]; !seen {
				s.argKeys = append(s.argKeys, kv.Key)
			}
			s.args[kv.Key] = v
		}
	case *instructions.WorkdirCommand:
		return b.workdir(s, c.Path)
	case *instructions.UserCommand:
		cfg.User = c.User
	case *instructions.ExposeCommand:
		if cfg.ExposedPorts == nil {
			cfg.ExposedPorts = map[string]struct{}{}
		}
		for _, p := range c.Ports {
			p, err := b.expand(p, s.env())
			if err != nil {
				return err
			}
			if !strings.Contains(p, "/") {
				p += "/tcp"
			}
			cfg.ExposedPorts[p] = struct{}{}
		}
	case *instructions.CmdCommand:
		cfg.Cmd = withShell(cfg.Shell, c.ShellDependantCmdLine)
	case *instructions.EntrypointCommand:
		cfg.Entrypoint = withShell(cfg.Shell, c.ShellDependantCmdLine)
	case *instructions.ShellCommand:
		cfg.Shell = c.Shell
	case *instructions.StopSignalCommand:
		cfg.StopSignal = c.Signal
	case *instructions.VolumeCommand:
		if cfg.Volumes == nil {
			cfg.Volumes = map[string]struct{}{}
		}
		for _, v := range c.Volumes {
			cfg.Volumes[v] = struct{}{}
		}
	case *instructions.HealthCheckCommand:
		h := c.Health
		cfg.Healthcheck = &v1.HealthConfig{Test: h.Test, Interval: h.Interval, Timeout: h.Timeout, StartPeriod: h.StartPeriod, Retries: h.Retries}
	case *instructions.OnbuildCommand:
		cfg.OnBuild = append(cfg.OnBuild, c.Expression)
	case *instructions.MaintainerCommand:
		s.cfg.Author = c.Maintainer
	case *instructions.CopyCommand:
		return b.copy(s, c.SourcesAndDest, c.From, c.Chmod, c.Chown, c.String(), false)
	case *instructions.AddCommand:
		return b.copy(s, c.SourcesAndDest, "", c.Chmod, c.Chown, c.String(), true)
	case *instructions.RunCommand:
		return b.run(s, c)
	default:
		return fmt.Errorf("%w: %s is not supported", errLimit, strings.ToUpper(c.Name()))
	}
	return nil
}

func setEnv(env []string, k, v string) []string {
	for i, e := range env {
		if ek, _, _ := strings.Cut(e, "="); ek == k {
			env[i] = k + "=" + v
			return env
		}
	}
	return append(env, k+"="+v)
}

// withShell renders CMD/ENTRYPOINT: exec form as is, shell form through the
// stage's SHELL (default /bin/sh -c).
func withShell(sh []string, c instructions.ShellDependantCmdLine) []string {
	if !c.PrependShell {
		return append([]string{}, c.CmdLine...)
	}
	if len(sh) == 0 {
		sh = []string{"/bin/sh", "-c"}
	}
	return append(append([]string{}, sh...), strings.Join(c.CmdLine, " "))
}

// underMount reports whether p lies on a mount point (the context among
// them). Like kaniko, the stand-in changes those paths in the real
// filesystem and keeps them out of the image.
func (b *builder) underMount(p string) bool { return onAny(p, b.mounts) }

func (b *builder) workdir(s *stage, p string) error {
	cfg := &s.cfg.Config
	if !path.IsAbs(p) {
		p = path.Join("/", cfg.WorkingDir, p)
	}
	cfg.WorkingDir = path.Clean(p)
	b.log.Infof("Changed working directory to %s", cfg.WorkingDir)
	if b.underMount(cfg.WorkingDir) {
		if _, err := os.Stat(cfg.WorkingDir); errors.Is(err, os.ErrNotExist) {
			b.log.Infof("Creating directory %s", cfg.WorkingDir)
			return os.MkdirAll(cfg.WorkingDir, 0o755)
		}
		return nil
	}
	fs, err := s.filesystem()
	if err != nil {
		return err
	}
	if _, ok := fs[cfg.WorkingDir]; ok {
		return nil
	}
	b.log.Infof("Creating directory %s", cfg.WorkingDir)
	return b.addLayer(s, "WORKDIR "+cfg.WorkingDir, map[string]*fsEntry{
		cfg.WorkingDir: {hdr: &tar.Header{Typeflag: tar.TypeDir, Mode: 0o755, ModTime: time.Now()}},
	})
}

// item is one file a COPY produces, relative to the copy's target root.
type item struct {
	rel string
	fsEntry
}

// copy implements COPY and ADD of local files and COPY --from.
func (b *builder) copy(s *stage, sd instructions.SourcesAndDest, from, chmod, chown, text string, add bool) error {
	if len(sd.SourceContents) > 0 {
		// Upstream kaniko cannot read heredoc sources.
		return errors.New("resolved envs is empty")
	}
	var srcFS map[string]*fsEntry
	if from != "" {
		var err error
		if srcFS, err = b.fromFS(s, from); err != nil {
			return err
		}
	}
	var roots [][]item
	for _, src := range sd.SourcePaths {
		if add && (strings.HasPrefix(src, "http://") || strings.HasPrefix(src, "https://") || strings.HasPrefix(src, "git@")) {
			return fmt.Errorf("%w: ADD from a URL is not supported", errLimit)
		}
		if add && isArchive(src) {
			// Real kaniko unpacks local archives; copying them verbatim
			// would be a silent difference.
			return fmt.Errorf("%w: ADD of a local archive (%s) is not supported; unpacking it is not imitated", errLimit, src)
		}
		var got [][]item
		var err error
		if srcFS != nil {
			got, err = collectFromImage(srcFS, src)
		} else {
			got, err = b.collectFromContext(src)
		}
		if err != nil {
			return err
		}
		roots = append(roots, got...)
	}
	if len(roots) == 0 {
		return errors.New("no source files were specified")
	}

	cfg := &s.cfg.Config
	dest := sd.DestPath
	destIsDir := strings.HasSuffix(dest, "/") || dest == "." || dest == ".."
	if !path.IsAbs(dest) {
		dest = path.Join("/", cfg.WorkingDir, dest)
	}
	dest = path.Clean(dest)
	if len(roots) > 1 && !destIsDir {
		return errors.New("when specifying multiple sources in a COPY command, destination must be a directory and end in '/'")
	}
	fs, err := s.filesystem()
	if err != nil {
		return err
	}
	if e, ok := fs[dest]; ok && e.hdr.Typeflag == tar.TypeDir {
		destIsDir = true
	}

	var mode int64 = -1
	if chmod != "" {
		m, err := strconv.ParseUint(chmod, 8, 32)
		if err != nil {
			return fmt.Errorf("parsing --chmod %q: %w", chmod, err)
		}
		mode = int64(m)
	}
	// Only numeric owners are applied: names would need the image's
	// /etc/passwd, which the stand-in does not read.
	uid, gid := -1, -1
	if u, g, hasGroup := strings.Cut(chown, ":"); chown != "" {
		if n, err := strconv.Atoi(u); err == nil {
			uid, gid = n, n
		}
		if n, err := strconv.Atoi(g); hasGroup && err == nil && uid >= 0 {
			gid = n
		}
	}

	out := map[string]*fsEntry{}
	for _, root := range roots {
		for _, it := range root {
			target := dest
			switch {
			case it.rel != "":
				target = path.Join(dest, it.rel)
			case destIsDir && it.hdr.Typeflag != tar.TypeDir:
				target = path.Join(dest, path.Base(it.hdr.Name))
			}
			h := *it.hdr
			if mode >= 0 {
				h.Mode = mode
			}
			if uid >= 0 {
				h.Uid, h.Gid, h.Uname, h.Gname = uid, gid, "", ""
			}
			out[target] = &fsEntry{hdr: &h, data: it.data}
		}
	}

	layer := map[string]*fsEntry{}
	for p, e := range out {
		if b.underMount(p) {
			if err := writeReal(p, e); err != nil {
				return err
			}
			continue
		}
		layer[p] = e
		for d := path.Dir(p); d != "/"; d = path.Dir(d) {
			if _, ok := fs[d]; !ok && layer[d] == nil {
				layer[d] = &fsEntry{hdr: &tar.Header{Typeflag: tar.TypeDir, Mode: 0o755, ModTime: time.Now()}}
			}
		}
	}
	if len(layer) == 0 {
		return nil
	}
	return b.addLayer(s, text, layer)
}

func isArchive(p string) bool {
	for _, ext := range []string{".tar", ".tar.gz", ".tgz", ".tar.bz2", ".tbz2", ".tar.xz", ".txz", ".tar.zst"} {
		if strings.HasSuffix(p, ext) {
			return true
		}
	}
	return false
}

// collectFromContext resolves one COPY source in the build context. Each
// returned slice is one top-level source; a directory contributes its
// contents with rel paths, a file one item with rel "".
func (b *builder) collectFromContext(src string) ([][]item, error) {
	ctxDir := filepath.Clean(b.o.context)
	abs := filepath.Join(ctxDir, filepath.FromSlash(src))
	var matches []string
	if strings.ContainsAny(src, "*?[") {
		m, err := filepath.Glob(abs)
		if err != nil {
			return nil, err
		}
		matches = m
	} else {
		if _, err := os.Lstat(abs); err != nil {
			return nil, fmt.Errorf("failed to get fileinfo for %s: %w", abs, err)
		}
		matches = []string{abs}
	}
	var roots [][]item
	for _, m := range matches {
		rel, err := filepath.Rel(ctxDir, m)
		if err != nil {
			return nil, err
		}
		if b.excluded(rel) {
			continue
		}
		fi, err := os.Lstat(m)
		if err != nil {
			return nil, err
		}
		if !fi.IsDir() {
			e, err := readEntry(m, fi)
			if err != nil {
				return nil, err
			}
			roots = append(roots, []item{{fsEntry: *e}})
			continue
		}
		var items []item
		err = filepath.Walk(m, func(p string, fi os.FileInfo, err error) error {
			if err != nil || p == m {
				return err
			}
			crel, _ := filepath.Rel(ctxDir, p)
			if b.excluded(crel) {
				if fi.IsDir() {
					return filepath.SkipDir
				}
				return nil
			}
			e, err := readEntry(p, fi)
			if err != nil {
				return err
			}
			r, _ := filepath.Rel(m, p)
			items = append(items, item{rel: filepath.ToSlash(r), fsEntry: *e})
			return nil
		})
		if err != nil {
			return nil, err
		}
		// An empty directory still copies (as nothing but the target).
		items = append(items, item{rel: "", fsEntry: fsEntry{hdr: &tar.Header{Typeflag: tar.TypeDir, Mode: int64(fi.Mode().Perm()), ModTime: fi.ModTime()}}})
		roots = append(roots, items)
	}
	return roots, nil
}

func readEntry(p string, fi os.FileInfo) (*fsEntry, error) {
	link := ""
	if fi.Mode()&os.ModeSymlink != 0 {
		l, err := os.Readlink(p)
		if err != nil {
			return nil, err
		}
		link = l
	}
	h, err := tar.FileInfoHeader(fi, link)
	if err != nil {
		return nil, err
	}
	h.Name = filepath.Base(p)
	h.Uid, h.Gid, h.Uname, h.Gname = 0, 0, "", ""
	e := &fsEntry{hdr: h}
	if fi.Mode().IsRegular() {
		if e.data, err = os.ReadFile(p); err != nil {
			return nil, err
		}
	}
	return e, nil
}

// collectFromImage resolves a COPY --from source in another image's files.
func collectFromImage(fs map[string]*fsEntry, src string) ([][]item, error) {
	pattern := path.Clean(path.Join("/", src))
	var matches []string
	for p := range fs {
		if ok, _ := path.Match(pattern, p); ok {
			matches = append(matches, p)
		}
	}
	if len(matches) == 0 {
		return nil, fmt.Errorf("failed to get fileinfo for %s: no such file or directory", pattern)
	}
	sort.Strings(matches)
	var roots [][]item
	for _, m := range matches {
		e := fs[m]
		if e.hdr.Typeflag != tar.TypeDir {
			h := *e.hdr
			h.Name = path.Base(m)
			roots = append(roots, []item{{fsEntry: fsEntry{hdr: &h, data: e.data}}})
			continue
		}
		items := []item{{fsEntry: *e}}
		for p, c := range fs {
			if strings.HasPrefix(p, m+"/") {
				h := *c.hdr
				h.Name = path.Base(p)
				items = append(items, item{rel: strings.TrimPrefix(p, m+"/"), fsEntry: fsEntry{hdr: &h, data: c.data}})
			}
		}
		roots = append(roots, items)
	}
	return roots, nil
}

// fromFS returns the filesystem COPY --from reads: an earlier stage, or an
// image pulled from a registry.
func (b *builder) fromFS(s *stage, from string) (map[string]*fsEntry, error) {
	from, err := b.expand(from, s.env())
	if err != nil {
		return nil, err
	}
	if i := b.stageIndex(from); i >= 0 {
		return b.stages[i].filesystem()
	}
	img, err := b.pull(from)
	if err != nil {
		return nil, err
	}
	return flatten(img)
}

// writeReal writes a copied file into the real filesystem, as kaniko does
// for every COPY; on a read-only mount that fails exactly as it does there.
func writeReal(p string, e *fsEntry) error {
	switch e.hdr.Typeflag {
	case tar.TypeDir:
		return os.MkdirAll(p, os.FileMode(e.hdr.Mode).Perm())
	case tar.TypeSymlink:
		if err := os.MkdirAll(path.Dir(p), 0o755); err != nil {
			return err
		}
		return os.Symlink(e.hdr.Linkname, p)
	default:
		if err := os.MkdirAll(path.Dir(p), 0o755); err != nil {
			return err
		}
		return os.WriteFile(p, e.data, os.FileMode(e.hdr.Mode).Perm())
	}
}

// addLayer appends a layer holding the given absolute paths.
func (b *builder) addLayer(s *stage, createdBy string, files map[string]*fsEntry) error {
	s.extendKey(createdBy, filesKey(files))
	paths := make([]string, 0, len(files))
	for p := range files {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, p := range paths {
		e := files[p]
		h := *e.hdr
		h.Name = strings.TrimPrefix(p, "/")
		if h.Typeflag == tar.TypeDir {
			h.Name += "/"
		}
		h.Size = int64(len(e.data))
		if h.Typeflag != tar.TypeReg {
			h.Size = 0
		}
		h.Format = tar.FormatPAX
		if err := tw.WriteHeader(&h); err != nil {
			return err
		}
		if h.Size > 0 {
			if _, err := tw.Write(e.data); err != nil {
				return err
			}
		}
	}
	if err := tw.Close(); err != nil {
		return err
	}
	data := buf.Bytes()
	var lopts []tarball.LayerOption
	if mt, err := s.img.MediaType(); err == nil && strings.Contains(string(mt), "oci") {
		lopts = append(lopts, tarball.WithMediaType(types.OCILayer))
	}
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(data)), nil
	}, lopts...)
	if err != nil {
		return err
	}
	img, err := mutate.Append(s.img, mutate.Addendum{
		Layer:   layer,
		History: v1.History{Author: "kaniko", CreatedBy: createdBy, Created: v1.Time{Time: time.Now().UTC()}},
	})
	if err != nil {
		return err
	}
	// Keep the config edits made so far: mutate.Append starts from the
	// image's own config file, which does not have them yet.
	cf, err := img.ConfigFile()
	if err != nil {
		return err
	}
	s.cfg.RootFS = cf.RootFS
	s.cfg.History = cf.History
	s.img = img
	s.fs = nil
	return nil
}

// filesystem returns the stage's flattened filesystem.
func (s *stage) filesystem() (map[string]*fsEntry, error) {
	if s.fs == nil {
		fs, err := flatten(s.img)
		if err != nil {
			return nil, err
		}
		s.fs = fs
	}
	return s.fs, nil
}

// flatten reads an image's layers into one path -> entry map (absolute,
// cleaned paths; whiteouts applied by mutate.Extract).
func flatten(img v1.Image) (map[string]*fsEntry, error) {
	rc := mutate.Extract(img)
	defer rc.Close()
	tr := tar.NewReader(rc)
	fs := map[string]*fsEntry{}
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return fs, nil
		}
		if err != nil {
			return nil, fmt.Errorf("reading image filesystem: %w", err)
		}
		e := &fsEntry{hdr: h}
		if h.Typeflag == tar.TypeReg {
			if e.data, err = io.ReadAll(tr); err != nil {
				return nil, err
			}
		}
		fs[path.Clean("/"+h.Name)] = e
	}
}

// run executes the RUN forms the stand-in knows, after the checks and log
// lines of kaniko's RunCommand.
func (b *builder) run(s *stage, c *instructions.RunCommand) error {
	fs, err := s.filesystem()
	if err != nil {
		return err
	}
	sh := s.cfg.Config.Shell
	if len(sh) == 0 {
		sh = []string{"/bin/sh", "-c"}
	}
	if !c.PrependShell {
		return fmt.Errorf("%w: RUN in exec form (JSON array) is not supported; use the shell form", errLimit)
	}
	secrets := map[string][]byte{}
	if b.o.fork {
		if b.quotedHeredocs[line(c)] {
			// The fork skips the step without a word (fork issue 1025).
			return nil
		}
		if secrets, err = b.secretMounts(s, c); err != nil {
			return err
		}
	}
	script := strings.Join(c.CmdLine, " ")
	s.extendKey(c.String(), strings.Join(s.env(), "\x00"))
	if b.layerCacheOn() && b.cachedRun(s.key) {
		b.log.Infof("Using caching version of cmd: %s", c.String())
		return nil
	}
	if err := b.runUncached(s, c, fs, sh, secrets, script); err != nil {
		return err
	}
	if b.layerCacheOn() {
		if err := b.storeRun(s.key, c.String()); err != nil {
			b.log.Warnf("Error uploading layer to cache: %v", err)
		}
	}
	return nil
}

// runUncached runs a RUN step.
func (b *builder) runUncached(s *stage, c *instructions.RunCommand, fs map[string]*fsEntry, sh []string, secrets map[string][]byte, script string) error {
	argv := append(append([]string{}, sh...), script)
	b.log.Infof("Cmd: %s", argv[0])
	b.log.Infof("Args: %v", argv[1:])
	b.log.Infof("Running: %v", argv)
	if _, ok := fs[path.Clean(sh[0])]; !ok {
		return fmt.Errorf("starting command: fork/exec %s: no such file or directory", sh[0])
	}
	if len(c.Files) == 0 {
		return b.command(s, fs, secrets, script)
	}
	if !b.o.fork {
		// Upstream kaniko drops heredoc bodies and runs `sh -c <<EOT`,
		// which succeeds without doing anything.
		return nil
	}
	// The fork hands the heredoc to the shell: the stand-in runs a
	// heredoc that is the whole command as a script, line by line.
	for _, w := range strings.Fields(script) {
		if !strings.HasPrefix(w, "<<") {
			return fmt.Errorf("%w: a RUN heredoc must be the whole command (RUN <<EOF), got %q", errLimit, script)
		}
	}
	for _, f := range c.Files {
		for _, l := range strings.Split(f.Data, "\n") {
			if l = strings.TrimSpace(l); l == "" || strings.HasPrefix(l, "#") {
				continue
			}
			if err := b.command(s, fs, secrets, l); err != nil {
				return err
			}
		}
	}
	return nil
}

// command runs one command of the stand-in's subset.
func (b *builder) command(s *stage, fs map[string]*fsEntry, secrets map[string][]byte, script string) error {
	words, err := shell.NewLex(b.escape).ProcessWords(script, shell.EnvsFromSlice(s.env()))
	if err != nil {
		return err
	}
	limit := fmt.Errorf(`%w: RUN supports only "exit N", "sleep N", "echo WORDS", "echo WORDS >&2", "cat PATH" and "alloc MIB", got %q`, errLimit, script)
	if len(words) == 0 {
		return limit
	}
	switch words[0] {
	case "exit":
		if len(words) != 2 {
			return limit
		}
		n, err := strconv.Atoi(words[1])
		if err != nil {
			return limit
		}
		if n != 0 {
			return fmt.Errorf("waiting for process to exit: %w", &exitError{code: n & 0xff})
		}
	case "sleep":
		if len(words) != 2 {
			return limit
		}
		sec, err := strconv.ParseFloat(words[1], 64)
		if err != nil {
			return limit
		}
		select {
		case <-time.After(time.Duration(sec * float64(time.Second))):
		case <-b.ctx.Done():
			return b.ctx.Err()
		}
	case "alloc":
		// Memory a real RUN step would use: MiB touched, page by page, and
		// held until the step ends, so that a memory limit below it gets
		// the executor OOM-killed as it would a compiler.
		if len(words) != 2 {
			return limit
		}
		mib, err := strconv.Atoi(words[1])
		if err != nil || mib < 0 {
			return limit
		}
		held := make([]byte, mib<<20)
		for i := 0; i < len(held); i += 4096 {
			held[i] = 1
		}
		fmt.Fprintf(b.stdout, "allocated %d MiB\n", mib)
		runtime.KeepAlive(held)
	case "echo":
		w, rest := b.stdout, words[1:]
		if n := len(rest); n > 0 && (rest[n-1] == ">&2" || rest[n-1] == "1>&2") {
			w, rest = b.stderr, rest[:n-1]
		}
		fmt.Fprintln(w, strings.Join(rest, " "))
	case "cat":
		if len(words) != 2 {
			return limit
		}
		p := path.Clean(words[1])
		data, ok := secrets[p]
		if !ok {
			if e, found := fs[p]; found && e.hdr.Typeflag == tar.TypeReg {
				data, ok = e.data, true
			}
		}
		if !ok {
			fmt.Fprintf(b.stderr, "cat: can't open '%s': No such file or directory\n", words[1])
			return fmt.Errorf("waiting for process to exit: %w", &exitError{code: 1})
		}
		_, _ = b.stdout.Write(data)
	default:
		return limit
	}
	return nil
}

// secretMounts returns the fork's secret mounts of one RUN: target path ->
// content. A secret the executor was not given is not mounted, or stops
// the build when the mount is required.
func (b *builder) secretMounts(s *stage, c *instructions.RunCommand) (map[string][]byte, error) {
	out := map[string][]byte{}
	env := s.env()
	if err := c.Expand(func(w string) (string, error) { return b.expand(w, env) }); err != nil {
		return nil, err
	}
	for _, m := range instructions.GetMounts(c) {
		if m.Type != instructions.MountTypeSecret {
			continue
		}
		id, target := m.CacheID, m.Target
		if id == "" && target != "" {
			id = path.Base(target)
		}
		if target == "" {
			target = "/run/secrets/" + id
		}
		var given *secret
		for _, v := range b.o.secrets {
			if sec, err := parseSecret(v); err == nil && sec.id == id {
				given = &sec
			}
		}
		if given == nil {
			if m.Required {
				return nil, fmt.Errorf("secret %s not defined", id)
			}
			b.log.Warnf("secret %s is not defined: the step runs without it", id)
			continue
		}
		data, err := given.value()
		if err != nil {
			return nil, err
		}
		out[path.Clean(target)] = data
	}
	return out, nil
}
