package plan

import (
	"path"
	"path/filepath"

	"github.com/kanikorun/kanikorun/internal/spec"
)

// CopyIn is a host file or directory copied into the container before it
// starts, where a bind mount cannot reach: the daemon is on another
// machine.
type CopyIn struct {
	// Source is the host file, or with Mode zero a file or directory.
	Source string
	// Target is the absolute path in the container.
	Target string
	// Mode is the file's permission bits in the container. Zero copies
	// Source as a bind mount would show it: a directory with everything
	// in it, every file, directory and symbolic link with its host mode
	// (owned by root, as the copies of docker cp are).
	Mode int64
	// Skip are container paths under Target left out of a directory's
	// copy, with everything below them: deeper mounts' targets, whose own
	// copies take their place.
	Skip []string
}

// CopyOut is a container file copied to the host after the executor
// exited, before the container is removed.
type CopyOut struct {
	// Source is the absolute path in the container.
	Source string
	// Target is the host file. Without Create it must exist.
	Target string
	// Create makes Target when missing (and the directories above it, up
	// to Within), and takes a directory as well as a file: a directory
	// comes back with its files and subdirectories.
	Create bool
	// Within is the host directory Target must stay in: nothing below it
	// on the way to Target may be a symbolic link, so a copy out never
	// writes through a link elsewhere on the host.
	Within string
	// Optional means Source may be missing: the executor did not write it.
	Optional bool
}

// Stream is Local for a daemon that cannot see this machine's files: the
// context goes to the executor as a gzip tar on its stdin
// (--context=tar://stdin), the credentials, the build's secrets and a
// Dockerfile from outside the context are copied in before the start, and
// the digest and tarball are copied out after the exit. Nothing is
// bind-mounted; the cache volume lives on the daemon's machine and is
// mounted as locally.
func Stream(b *spec.Build, f HostFiles, network string) Container {
	layout := spec.Layout{ContextURL: spec.StreamContext, DigestFile: spec.StreamDigestFile, Color: b.Color}
	// kaniko resolves a relative --dockerfile in the unpacked context.
	layout.Dockerfile, _ = b.DockerfileInContext()
	if f.Tar != "" {
		layout.TarPath = spec.LocalTarPath
	}
	if f.CacheVolume != "" && b.UsesLocalCache() {
		layout.Cache = &spec.LocalCache{Dir: spec.CacheDir, Flavor: b.Cache.Flavor}
	}
	c := Container{
		Image:           b.ExecutorImage,
		Network:         network,
		Labels:          map[string]string{spec.ContextLabel: b.Context},
		NoNewPrivileges: true,
		StdinContext:    b.Context,
		StdinDockerfile: b.Dockerfile,
		KeepAfterExit:   true,
	}
	if _, inside := b.DockerfileInContext(); !inside {
		layout.Dockerfile = path.Join(spec.OutsideDockerfile, filepath.Base(b.Dockerfile))
		c.CopyIn = append(c.CopyIn, CopyIn{Source: b.Dockerfile, Target: layout.Dockerfile, Mode: 0o644})
		if ignore := b.Dockerfile + ".dockerignore"; isFile(ignore) {
			c.CopyIn = append(c.CopyIn, CopyIn{Source: ignore, Target: layout.Dockerfile + ".dockerignore", Mode: 0o644})
		}
	}
	c.Args = b.Args(layout)
	if f.DockerConfig != "" {
		c.CopyIn = append(c.CopyIn, CopyIn{Source: f.DockerConfig, Target: spec.DockerConfigPath, Mode: 0o600})
	}
	// The secrets as the bind mounts would show them: read-only files
	// under spec.SecretsDir, never arguments or environment.
	for _, s := range b.Secrets {
		if src := f.Secrets[s.ID]; src != "" {
			c.CopyIn = append(c.CopyIn, CopyIn{Source: src, Target: s.ContainerPath(), Mode: 0o444})
		}
	}
	if f.Digest != "" {
		c.CopyOut = append(c.CopyOut, CopyOut{Source: spec.StreamDigestFile, Target: f.Digest})
		c.DigestFrom = f.Digest
	}
	if f.Tar != "" {
		c.CopyOut = append(c.CopyOut, CopyOut{Source: spec.LocalTarPath, Target: f.Tar})
	}
	// kaniko unpacks the context into its build context directory in the
	// container's own file system, where writing 1,500 files took 3.5 s of
	// a 5 s build on fuse-overlayfs; on a volume of its own (a directory
	// on the daemon's disk, removed with the container) it is the
	// daemon's native speed. kaniko leaves mount points out of snapshots.
	// Not with a --kaniko-dir: the executor then removes /kaniko before it
	// unpacks, which a mount point below it would make fail.
	if !b.MovesKanikoDir() {
		c.Volumes = append(c.Volumes, VolumeMount{Target: b.BuildContextDir()})
	}
	if layout.Cache != nil {
		c.Volumes = append(c.Volumes, VolumeMount{Name: f.CacheVolume, Target: layout.Cache.Dir, Labels: f.CacheVolumeLabels})
	}
	return c
}
