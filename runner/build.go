package runner

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/kanikorun/kanikorun/internal/plan"
	"github.com/kanikorun/kanikorun/internal/spec"
	"github.com/kanikorun/kanikorun/internal/tmpdir"
)

// ErrOutput means a requested output path on the host cannot be written.
var ErrOutput = spec.ErrOutput

// Local is one build on this machine.
type Local struct {
	// Build is the build description.
	Build *spec.Build
	// DockerConfig is the content of the config.json mounted read-only at
	// /kaniko/.docker/config.json.
	DockerConfig []byte
	// Network is the container's network mode.
	Network string
	// Cache is the local cache; nil for none. It is used only when the
	// build caches locally (spec.Build.UsesLocalCache).
	Cache *LocalCache
	// Stream sends the context on the executor's stdin and copies files
	// in and out instead of bind-mounting them (plan.Stream).
	Stream bool
}

// LocalResult is what a local build produced.
type LocalResult struct {
	Result
	// Loaded are the image names the daemon reported for --load.
	Loaded []string
	// ImageID is the ID the daemon gave the loaded image (--load); empty
	// otherwise.
	ImageID string
	// ConfigDigest is the image's config digest, read when --iidfile or
	// --metadata-file asks for it; empty otherwise.
	ConfigDigest string
}

// workdir holds the host files of one local build. Everything in it, and
// the partial tarball beside the --tar target, goes on every path out.
type workdir struct {
	tmp        *tmpdir.Dir
	files      plan.HostFiles
	partialTar string
	// secrets are the secrets' values, masked in the executor's output.
	secrets [][]byte
}

// Build runs a build description on the local daemon: it prepares the host
// files (credentials, digest, tarball), runs the executor, and on success
// moves the tarball into place, loads the image and writes the digest file.
// Nothing it created is left behind, whatever happens.
func (r *Runner) Build(ctx context.Context, l Local) (LocalResult, error) {
	w, err := prepare(l.Build, l.DockerConfig)
	if w != nil {
		defer w.cleanup()
	}
	if err != nil {
		return LocalResult{}, err
	}
	if c := l.Cache; c != nil && l.Build.UsesLocalCache() {
		// The container's create makes the volume, labelled, if it is
		// missing: one call fewer on every build.
		w.files.CacheVolume = c.Volume
		w.files.CacheVolumeLabels = cacheVolumeLabels()
		if len(c.Images) > 0 {
			warm := newWarmer(r.Engine, l.Build, *c, l.DockerConfig, r.Stderr)
			rr := *r
			rr.BeforeStart = warm.warm
			r = &rr
		}
	}
	mk := plan.Local
	if l.Stream {
		mk = plan.Stream
	}
	c := mk(l.Build, w.files, l.Network)
	// Stream mode's container (no AutoRemove) too: gc tells a killed
	// run's leftovers by these.
	labelRun(&c, w.tmp.Path)
	res, err := r.runRetrying(ctx, c, w.secrets, w.fresh)
	out := LocalResult{Result: res}
	if err != nil || res.ExitCode != 0 {
		return out, err
	}
	if l.Build.Outputs.WantsImageID() && w.files.Tar != "" {
		if out.ConfigDigest, err = tarConfigDigest(w.files.Tar); err != nil {
			return out, err
		}
	}
	if o := l.Build.Outputs; o.Load {
		names, err := r.Load(ctx, w.files.Tar)
		if err != nil {
			return out, err
		}
		out.Loaded = names
		if out.ImageID, err = r.LoadedID(ctx, names); err != nil {
			return out, err
		}
	}
	if o := l.Build.Outputs; o.TarPath != "" {
		// The executor needed it world-writable; the user's file is not.
		if err := os.Chmod(w.partialTar, 0o644); err != nil {
			return out, fmt.Errorf("%w: %w", ErrOutput, err)
		}
		if err := os.Rename(w.partialTar, o.TarPath); err != nil {
			return out, fmt.Errorf("%w: moving the tarball to %q: %w", ErrOutput, o.TarPath, err)
		}
		w.partialTar = ""
	}
	if o := l.Build.Outputs; o.DigestFile != "" && res.Digest != "" {
		if err := WriteOutput(o.DigestFile, []byte(res.Digest+"\n")); err != nil {
			return out, fmt.Errorf("%w: writing --digest-file %q: %w", ErrOutput, o.DigestFile, err)
		}
	}
	if o := l.Build.Outputs; o.WantsImageID() {
		if err := r.writeImageID(ctx, l, &out); err != nil {
			return out, err
		}
	}
	return out, nil
}

// runMasked runs the container with every secret value in its output
// replaced by ***: a step that prints a secret does not show it.
func (r *Runner) runMasked(ctx context.Context, c plan.Container, secrets [][]byte) (Result, error) {
	if len(secrets) == 0 {
		return r.Run(ctx, c)
	}
	stdout, stderr := newMasker(r.Stdout, secrets), newMasker(r.Stderr, secrets)
	masked := *r
	masked.Stdout, masked.Stderr = stdout, stderr
	res, err := masked.Run(ctx, c)
	_ = stdout.Flush()
	_ = stderr.Flush()
	return res, err
}

// writeImageID writes --iidfile and --metadata-file, fetching the config
// digest of a pushed image when no tarball gave it.
func (r *Runner) writeImageID(ctx context.Context, l Local, out *LocalResult) error {
	b, o := l.Build, l.Build.Outputs
	if out.Digest == "" {
		return fmt.Errorf("%w: the executor reported no digest", ErrImageID)
	}
	if out.ConfigDigest == "" {
		dests := b.PushDestinations()
		if len(dests) == 0 {
			dests = b.ExtraDestinations
		}
		if len(dests) == 0 {
			return fmt.Errorf("%w: the image was neither pushed nor written", ErrImageID)
		}
		var err error
		if out.ConfigDigest, err = pushedConfigDigest(ctx, b, dests[0], out.Digest, l.DockerConfig); err != nil {
			return err
		}
	}
	if o.IIDFile != "" {
		if err := WriteOutput(o.IIDFile, []byte(out.ConfigDigest)); err != nil {
			return fmt.Errorf("%w: writing --iidfile %q: %w", ErrOutput, o.IIDFile, err)
		}
	}
	if o.MetadataFile != "" {
		data, err := metadata(b, out.Digest, out.ConfigDigest, out.ImageID)
		if err != nil {
			return err
		}
		if err := WriteOutput(o.MetadataFile, data); err != nil {
			return fmt.Errorf("%w: writing --metadata-file %q: %w", ErrOutput, o.MetadataFile, err)
		}
	}
	return nil
}

// prepare creates the build's host files. It checks the requested outputs
// before anything runs, so a bad path fails in milliseconds, not after the
// build.
func prepare(b *spec.Build, dockerConfig []byte) (*workdir, error) {
	if o := b.Outputs; o.TarPath != "" {
		if err := spec.CheckOutput("--tar", o.TarPath); err != nil {
			return nil, err
		}
	}
	for _, out := range []struct{ flag, path string }{
		{"--digest-file", b.Outputs.DigestFile}, {"--iidfile", b.Outputs.IIDFile}, {"--metadata-file", b.Outputs.MetadataFile},
	} {
		if out.path == "" {
			continue
		}
		if err := spec.CheckOutput(out.flag, out.path); err != nil {
			return nil, err
		}
	}
	// Private (0700), and locked while this process lives: a later build
	// removes what a killed one left, credentials included.
	tmp, err := tmpdir.New("", "kanikorun-")
	if err != nil {
		return nil, err
	}
	w := &workdir{tmp: tmp}
	dir := tmp.Path
	if len(dockerConfig) == 0 {
		dockerConfig = []byte("{}")
	}
	w.files.DockerConfig = filepath.Join(dir, "config.json")
	if err := os.WriteFile(w.files.DockerConfig, dockerConfig, 0o600); err != nil {
		return w, fmt.Errorf("writing the credentials file: %w", err)
	}
	// The executor runs as root in the container; in a user-namespaced
	// daemon that root is not us, so the files it writes are world-writable.
	// They hold a digest and an image, never a secret.
	if w.files.Digest, err = createShared(dir, "termination-log"); err != nil {
		return w, err
	}
	if err := w.writeSecrets(b.Secrets); err != nil {
		return w, err
	}
	switch o := b.Outputs; {
	case o.TarPath != "":
		// Written beside the target and renamed on success: the user never
		// sees a partial tarball, and the rename cannot cross devices.
		f, err := os.CreateTemp(filepath.Dir(o.TarPath), ".kanikorun-*.tar.partial")
		if err != nil {
			return w, fmt.Errorf("%w: --tar %q: %w; choose a writable path", ErrOutput, o.TarPath, err)
		}
		f.Close()
		w.partialTar = f.Name()
		// Beside the target, not in our directory: recorded there, so that
		// the sweep after a kill (or kanikorun gc) removes it too.
		if err := tmp.Record(f.Name()); err != nil {
			return w, err
		}
		w.files.Tar = f.Name()
		if err := os.Chmod(f.Name(), 0o666); err != nil {
			return w, err
		}
	case o.Load:
		if w.files.Tar, err = createShared(dir, "image.tar"); err != nil {
			return w, err
		}
	}
	return w, nil
}

// writeSecrets copies each secret into the private directory, where it
// is mounted read-only into the container; an environment secret becomes
// a file too, never container environment.
func (w *workdir) writeSecrets(secrets []spec.Secret) error {
	if len(secrets) == 0 {
		return nil
	}
	dir := filepath.Join(w.tmp.Path, "secrets")
	if err := os.Mkdir(dir, 0o700); err != nil {
		return fmt.Errorf("creating the secrets directory: %w", err)
	}
	w.files.Secrets = map[string]string{}
	for _, s := range secrets {
		v, err := s.Value()
		if err != nil {
			return err
		}
		p := filepath.Join(dir, s.ID)
		if err := os.WriteFile(p, v, 0o600); err != nil {
			return fmt.Errorf("copying --secret id=%s: %w", s.ID, err)
		}
		// The container's root must read it, and in a user-namespaced
		// daemon that root is not us. The 0700 directories above keep
		// everyone else out; the bind mount does not pass through them.
		if err := os.Chmod(p, 0o444); err != nil {
			return fmt.Errorf("copying --secret id=%s: %w", s.ID, err)
		}
		w.files.Secrets[s.ID] = p
		w.secrets = append(w.secrets, v)
	}
	return nil
}

func createShared(dir, name string) (string, error) {
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, nil, 0o600); err != nil {
		return "", fmt.Errorf("creating %q: %w", p, err)
	}
	if err := os.Chmod(p, 0o666); err != nil {
		return "", fmt.Errorf("creating %q: %w", p, err)
	}
	return p, nil
}

// fresh empties the files the executor writes, for another attempt: a
// digest or tarball of a failed attempt must not pass for the next one's.
func (w *workdir) fresh() error {
	for _, p := range []string{w.files.Digest, w.files.Tar} {
		if p == "" {
			continue
		}
		if err := os.Truncate(p, 0); err != nil {
			return fmt.Errorf("emptying %q for the next attempt: %w", p, err)
		}
	}
	return nil
}

func (w *workdir) cleanup() {
	if w.partialTar != "" {
		_ = os.Remove(w.partialTar)
	}
	_ = w.tmp.Remove()
}

// WriteOutput writes a result file the user asked for: whole or not at
// all, never a partial file.
func WriteOutput(path string, data []byte) error {
	f, err := os.CreateTemp(filepath.Dir(path), ".kanikorun-*")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Chmod(0o644); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), path)
}

// DryRun returns the docker run line equivalent to a local build. Files
// kanikorun generates at run time appear under $KANIKORUN_TMP.
func DryRun(b *spec.Build, network string) string {
	return dryRun(b, network, false)
}

// dryRun is DryRun for either context mode. In stream mode the line
// shows the context piped in; the copies in and out have no docker run
// flag.
func dryRun(b *spec.Build, network string, stream bool) string {
	files := plan.HostFiles{
		DockerConfig:      "$KANIKORUN_TMP/config.json",
		Digest:            "$KANIKORUN_TMP/termination-log",
		CacheVolume:       CacheVolumeName(),
		CacheVolumeLabels: cacheVolumeLabels(),
	}
	if b.Outputs.TarPath != "" || b.Outputs.Load {
		files.Tar = "$KANIKORUN_TMP/image.tar"
	}
	for _, s := range b.Secrets {
		if files.Secrets == nil {
			files.Secrets = map[string]string{}
		}
		files.Secrets[s.ID] = "$KANIKORUN_TMP/secrets/" + s.ID
	}
	if b.DockerfileFromStdin {
		// The copy of stdin is gone once the dry run returns.
		c := *b
		c.Dockerfile = "$KANIKORUN_TMP/Dockerfile"
		b = &c
	}
	if stream {
		return "tar -C " + plan.ShellQuote(b.Context) + " -czf - . | " + plan.Stream(b, files, network).DockerRun()
	}
	return plan.Local(b, files, network).DockerRun()
}
