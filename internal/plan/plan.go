// Package plan describes one executor container to run: image, arguments,
// mounts and network. A plan comes either from a build description (Local)
// or from a Kubernetes manifest (replay); the runner runs any plan. It knows
// nothing of the Docker SDK, so every producer of plans stays light.
package plan

import (
	"maps"
	"os"
	"slices"
	"sort"
	"strings"

	"github.com/kanikorun/kanikorun/internal/spec"
)

// Mount is a bind mount of a host path into the container.
type Mount struct {
	// Source is the absolute host path. It must exist: the daemon would
	// otherwise create an empty directory in its place.
	Source string
	// Target is the absolute path inside the container.
	Target string
	// ReadOnly mounts the source read-only.
	ReadOnly bool
}

// VolumeMount is a named volume of the daemon mounted into the container:
// it lives where the daemon runs, so it works for a remote daemon too.
type VolumeMount struct {
	// Name is the volume's name; empty for an anonymous volume, which
	// goes with the container.
	Name string
	// Target is the absolute path inside the container.
	Target string
	// Labels label the volume when the daemon creates it for this
	// container (it does when the volume does not exist), so no separate
	// create call is needed; an existing volume keeps its own.
	Labels map[string]string
	// NoCopy keeps what the image has at Target out of a new volume, so
	// the target shows only what is put there, as a bind mount does.
	NoCopy bool
}

// Container is everything needed to run the executor once.
type Container struct {
	// Image is the executor image reference.
	Image string
	// Entrypoint replaces the image's entrypoint when not nil (a manifest's
	// "command").
	Entrypoint []string
	// Args are the executor's arguments (the image's CMD).
	Args []string
	// Env holds extra KEY=VALUE variables; never secrets.
	Env []string
	// WorkingDir replaces the image's working directory when set.
	WorkingDir string
	// Mounts are the bind mounts, in order.
	Mounts []Mount
	// Volumes are the named volumes mounted, in order.
	Volumes []VolumeMount
	// Network is the Docker network mode: "bridge", "host", "none" or a
	// network name.
	Network string
	// Labels are container labels; the runner adds its own.
	Labels map[string]string
	// DigestFile is the host file mounted at spec.TerminationLog, where the
	// executor writes the digest (as the kubelet does); empty for none.
	DigestFile string
	// NoNewPrivileges stops setuid binaries from gaining privileges, as
	// allowPrivilegeEscalation: false does in the Job kanikorun renders.
	NoNewPrivileges bool

	// Stream mode (plan.Stream): what bind mounts would otherwise carry.

	// StdinContext is the host context directory sent to the executor's
	// stdin as a gzip tar; empty when the executor reads no stdin.
	StdinContext string
	// StdinDockerfile is the Dockerfile's host path, which chooses the
	// ignore file applied to StdinContext.
	StdinDockerfile string
	// CopyIn are copied into the created container before it starts.
	CopyIn []CopyIn
	// CopyOut are copied out after the executor exited.
	CopyOut []CopyOut
	// DigestFrom is the host file the digest is read from after CopyOut,
	// when DigestFile (a bind mount) is not used.
	DigestFrom string
	// KeepAfterExit keeps the exited container (no AutoRemove) until the
	// runner removed it, so that CopyOut can read it.
	KeepAfterExit bool
}

// HostFiles are the host files kanikorun prepares for one local build.
type HostFiles struct {
	// DockerConfig is the config.json mounted read-only at
	// spec.DockerConfigPath.
	DockerConfig string
	// Digest receives the digest the executor writes to spec.TerminationLog.
	Digest string
	// Tar receives the image tarball the executor writes to
	// spec.LocalTarPath; empty when no tarball is wanted.
	Tar string
	// CacheVolume is the named volume holding the layer and base-image
	// cache, mounted at spec.CacheDir when the build uses the local
	// cache; empty for none.
	CacheVolume string
	// CacheVolumeLabels label the cache volume if the container's create
	// makes it.
	CacheVolumeLabels map[string]string
	// Secrets are the host files holding the build's secrets by id, each
	// mounted read-only at its spec.Secret.ContainerPath.
	Secrets map[string]string
}

// LocalLayout is where the local runner puts a build's files inside the
// executor container.
func LocalLayout(b *spec.Build, wantTar bool) spec.Layout {
	l := spec.Layout{
		ContextDir: spec.WorkspaceDir,
		Dockerfile: b.ContainerDockerfile(spec.WorkspaceDir),
		DigestFile: spec.TerminationLog,
		Color:      b.Color,
	}
	if wantTar {
		l.TarPath = spec.LocalTarPath
	}
	return l
}

// Local turns a build description into the container that runs it on this
// machine: the context read-only at /workspace, a Dockerfile from outside
// the context read-only under /kaniko, the credentials read-only at
// /kaniko/.docker/config.json, and writable single files for the digest and
// the tarball.
func Local(b *spec.Build, f HostFiles, network string) Container {
	layout := LocalLayout(b, f.Tar != "")
	if f.CacheVolume != "" && b.UsesLocalCache() {
		layout.Cache = &spec.LocalCache{Dir: spec.CacheDir, Flavor: b.Cache.Flavor}
	}
	c := Container{
		Image:      b.ExecutorImage,
		Args:       b.Args(layout),
		Network:    network,
		DigestFile: f.Digest,
		Labels:     map[string]string{spec.ContextLabel: b.Context},
		// Matches the rendered Job's allowPrivilegeEscalation: false, so a
		// build that needs setuid fails here as it would in the cluster.
		NoNewPrivileges: true,
	}
	c.Mounts = append(c.Mounts, Mount{Source: b.Context, Target: spec.WorkspaceDir, ReadOnly: true})
	if _, inside := b.DockerfileInContext(); !inside {
		target := b.ContainerDockerfile(spec.WorkspaceDir)
		c.Mounts = append(c.Mounts, Mount{Source: b.Dockerfile, Target: target, ReadOnly: true})
		// kaniko reads <Dockerfile>.dockerignore before the context's
		// .dockerignore; it must travel with a Dockerfile mounted apart.
		if ignore := b.Dockerfile + ".dockerignore"; isFile(ignore) {
			c.Mounts = append(c.Mounts, Mount{Source: ignore, Target: target + ".dockerignore", ReadOnly: true})
		}
	}
	if f.DockerConfig != "" {
		c.Mounts = append(c.Mounts, Mount{Source: f.DockerConfig, Target: spec.DockerConfigPath, ReadOnly: true})
	}
	if f.Tar != "" {
		c.Mounts = append(c.Mounts, Mount{Source: f.Tar, Target: spec.LocalTarPath})
	}
	if layout.Cache != nil {
		c.Volumes = append(c.Volumes, VolumeMount{Name: f.CacheVolume, Target: layout.Cache.Dir, Labels: f.CacheVolumeLabels})
	}
	for _, s := range b.Secrets {
		if src := f.Secrets[s.ID]; src != "" {
			c.Mounts = append(c.Mounts, Mount{Source: src, Target: s.ContainerPath(), ReadOnly: true})
		}
	}
	return c
}

func isFile(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.Mode().IsRegular()
}

// AllMounts returns the plan's mounts including the digest file mount.
func (c Container) AllMounts() []Mount {
	ms := append([]Mount(nil), c.Mounts...)
	if c.DigestFile != "" {
		ms = append(ms, Mount{Source: c.DigestFile, Target: spec.TerminationLog})
	}
	return ms
}

// DockerRun renders the plan as the equivalent docker CLI command line,
// shell-quoted, for --dry-run and for people who want to see what runs.
func (c Container) DockerRun() string {
	w := []string{"docker", "run", "--rm", "--log-driver", "none"}
	if c.StdinContext != "" {
		w = append(w, "-i")
	}
	if c.Network != "" && c.Network != "default" {
		w = append(w, "--network", c.Network)
	}
	keys := make([]string, 0, len(c.Labels))
	for k := range c.Labels {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		w = append(w, "--label", k+"="+c.Labels[k])
	}
	if c.NoNewPrivileges {
		w = append(w, "--security-opt", "no-new-privileges")
	}
	for _, e := range c.Env {
		w = append(w, "-e", e)
	}
	if c.WorkingDir != "" {
		w = append(w, "-w", c.WorkingDir)
	}
	for _, m := range c.AllMounts() {
		// --mount, unlike -v, refuses a missing source instead of
		// creating an empty directory in its place, as the runner does.
		v := "type=bind,source=" + m.Source + ",target=" + m.Target
		if m.ReadOnly {
			v += ",readonly"
		}
		w = append(w, "--mount", v)
	}
	for _, v := range c.Volumes {
		m := "type=volume,target=" + v.Target
		if v.Name != "" {
			m = "type=volume,source=" + v.Name + ",target=" + v.Target
		}
		for _, k := range slices.Sorted(maps.Keys(v.Labels)) {
			m += ",volume-label=" + k + "=" + v.Labels[k]
		}
		if v.NoCopy {
			m += ",volume-nocopy"
		}
		w = append(w, "--mount", m)
	}
	var rest []string
	if c.Entrypoint != nil {
		if len(c.Entrypoint) > 0 {
			w = append(w, "--entrypoint", c.Entrypoint[0])
			rest = append(rest, c.Entrypoint[1:]...)
		} else {
			w = append(w, "--entrypoint", "")
		}
	}
	w = append(w, c.Image)
	w = append(w, rest...)
	w = append(w, c.Args...)
	q := make([]string, len(w))
	for i, s := range w {
		q[i] = ShellQuote(s)
	}
	return strings.Join(q, " ")
}

// ShellQuote quotes s for a POSIX shell when it needs quoting. A string
// whose only special characters are $NAME references is double-quoted, so
// the shell expands them (kanikorun's --dry-run uses $KANIKORUN_TMP for the
// files it generates at run time).
func ShellQuote(s string) string {
	if s == "" {
		return "''"
	}
	safe, vars := true, false
	for _, r := range s {
		switch {
		case r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-_./:=@%+,", r):
		case r == '$':
			vars = true
		default:
			safe = false
		}
	}
	switch {
	case safe && !vars:
		return s
	case safe:
		return `"` + s + `"`
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
