package plan

import (
	"os"
	"path"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"github.com/kanikorun/kanikorun/internal/spec"
)

// MountsToCopies is c for a daemon that cannot see this machine's files,
// with what the executor finds where it looks left as it was: no bind
// mount at all, and instead
//   - every bind mount becomes a copy of its host path into the created
//     container, at the same target, before the start: a directory with
//     everything in it, each file with its host mode (a Secret's 0600 stays
//     0600), symbolic links as links; a read-only mount becomes a plain
//     copy (the host path is never written back);
//   - each of outputs (container paths the executor writes, from
//     ExecutorOutputs) that lies in a writable mount is copied back after
//     the exit to the host path the mount would have written;
//   - the termination log: /dev/termination-log is a tmpfs in the
//     container, which no copy reaches, so an executor told to write its
//     digest there writes it to spec.StreamDigestFile instead, whence it
//     is copied to c.DigestFile. That one argument is the only change to
//     the executor's arguments.
//
// Each copied directory lands in an anonymous volume at its target (a
// mount point, as the bind mount was), which goes with the container. The
// container is kept after its exit for the copies out (the runner
// removes it). Named volumes live on the daemon's machine and stay mounts.
func MountsToCopies(c Container, outputs []string) Container {
	out := c
	out.Mounts, out.DigestFile = nil, ""
	out.KeepAfterExit = true
	out.CopyIn = slices.Clone(c.CopyIn)
	out.CopyOut = slices.Clone(c.CopyOut)
	out.Volumes = slices.Clone(c.Volumes)

	// Outer mounts first; a deeper mount hides what lies at its target in
	// the outer one, so the outer copy leaves that out.
	mounts := slices.Clone(c.Mounts)
	sort.SliceStable(mounts, func(i, j int) bool { return depth(mounts[i].Target) < depth(mounts[j].Target) })
	for _, m := range mounts {
		in := CopyIn{Source: m.Source, Target: path.Clean(m.Target)}
		for _, o := range mounts {
			if t := path.Clean(o.Target); t != in.Target && within(in.Target, t) && !slices.Contains(in.Skip, t) {
				in.Skip = append(in.Skip, t)
			}
		}
		out.CopyIn = append(out.CopyIn, in)
		// A directory's copy goes into an anonymous volume at its target,
		// so that the target stays a mount point, as the bind mount and the
		// pod's volume are: kaniko deletes everything but its own
		// directory and the mount points between stages, and leaves mount
		// points out of snapshots. Without the image's content there, as
		// a mount hides it. A file stays a plain copy.
		if isDir(m.Source) && !out.hasVolumeAt(in.Target) {
			out.Volumes = append(out.Volumes, VolumeMount{Target: in.Target, NoCopy: true})
		}
	}

	seen := map[string]bool{}
	for _, p := range outputs {
		p = path.Clean(p)
		if seen[p] {
			continue
		}
		seen[p] = true
		m, ok := c.mountOf(p)
		if !ok || m.ReadOnly {
			// Outside every mount the output goes with the container, as
			// it does in bind mode; in a read-only mount bind mode fails
			// the write, and the host path stays untouched either way.
			continue
		}
		rel := strings.TrimPrefix(strings.TrimPrefix(p, path.Clean(m.Target)), "/")
		out.CopyOut = append(out.CopyOut, CopyOut{
			Source:   p,
			Target:   filepath.Join(m.Source, filepath.FromSlash(rel)),
			Within:   m.Source,
			Optional: true,
			Create:   true,
		})
	}

	if c.DigestFile != "" {
		args := redirectTerminationLog(c.ExecutorArgs())
		if len(c.Entrypoint) > 1 {
			n := len(c.Entrypoint) - 1
			out.Entrypoint = append([]string{c.Entrypoint[0]}, args[:n]...)
			args = args[n:]
		}
		if len(c.Args) > 0 {
			out.Args = args
		}
		out.CopyOut = append(out.CopyOut, CopyOut{Source: spec.StreamDigestFile, Target: c.DigestFile})
		out.DigestFrom = c.DigestFile
	}
	return out
}

// redirectTerminationLog returns args with every --digest-file naming
// spec.TerminationLog pointed at spec.StreamDigestFile instead; nothing
// else changes.
func redirectTerminationLog(args []string) []string {
	out := slices.Clone(args)
	for i := 0; i < len(out); i++ {
		a := out[i]
		if a == "--" {
			break
		}
		if v, ok := strings.CutPrefix(a, "--digest-file="); ok {
			if path.Clean(v) == spec.TerminationLog {
				out[i] = "--digest-file=" + spec.StreamDigestFile
			}
			continue
		}
		if a == "--digest-file" && i+1 < len(out) {
			if path.Clean(out[i+1]) == spec.TerminationLog {
				out[i+1] = spec.StreamDigestFile
			}
			i++
		}
	}
	return out
}

// ExecutorOutputs are the container paths the executor's flags tell it
// to write for the user to keep: --tar-path, --digest-file (unless it is
// the termination log, which the plan's DigestFile covers),
// --image-name-with-digest-file, --image-name-tag-with-digest-file,
// --oci-layout-path and an oci: --cache-repo (directories), relative
// ones resolved against the working directory as kaniko resolves them.
func ExecutorOutputs(f spec.ExecutorFlags, workDir string) []string {
	cwd := workDir
	if cwd == "" {
		cwd = spec.WorkspaceDir
	}
	var out []string
	add := func(p string) {
		if p == "" {
			return
		}
		if !path.IsAbs(p) {
			p = path.Join(cwd, p)
		}
		if p = path.Clean(p); !slices.Contains(out, p) {
			out = append(out, p)
		}
	}
	add(f.TarPath)
	if f.DigestFile != "" && path.Clean(f.DigestFile) != spec.TerminationLog {
		add(f.DigestFile)
	}
	add(f.ImageNameWithDigestFile)
	add(f.ImageNameTagWithDigestFile)
	add(f.OCILayoutPath)
	if p, ok := strings.CutPrefix(f.CacheRepo, "oci:"); ok {
		add(p)
	}
	return out
}

// mountOf returns the bind mount that holds the container path p: the
// deepest, which hides any other.
func (c Container) mountOf(p string) (Mount, bool) {
	best := -1
	var out Mount
	for _, m := range c.Mounts {
		t := path.Clean(m.Target)
		if within(t, p) && len(t) > best {
			best, out = len(t), m
		}
	}
	return out, best >= 0
}

// hasVolumeAt reports whether a volume is mounted at the clean target.
func (c Container) hasVolumeAt(target string) bool {
	for _, v := range c.Volumes {
		if path.Clean(v.Target) == target {
			return true
		}
	}
	return false
}

func isDir(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.IsDir()
}

// within reports whether p is dir or lies inside it (both clean).
func within(dir, p string) bool {
	return p == dir || dir == "/" || strings.HasPrefix(p, dir+"/")
}

func depth(p string) int {
	p = path.Clean(p)
	if p == "/" {
		return 0
	}
	return strings.Count(p, "/")
}

// CopyPlan says, as shell comments, what a container with copies
// (MountsToCopies) has copied in and out, for a dry run beside the
// docker run line, which has no flag for them. Empty when nothing is.
func (c Container) CopyPlan() string {
	var b strings.Builder
	if len(c.CopyIn) > 0 {
		b.WriteString("# copied into the created container before it starts (directories with everything in them, host modes kept):\n")
		for _, in := range c.CopyIn {
			b.WriteString("#   " + ShellQuote(in.Source) + " -> " + ShellQuote(in.Target))
			if len(in.Skip) > 0 {
				q := make([]string, len(in.Skip))
				for i, s := range in.Skip {
					q[i] = ShellQuote(s)
				}
				b.WriteString(" (without " + strings.Join(q, ", ") + ")")
			}
			b.WriteString("\n")
		}
	}
	if len(c.CopyOut) > 0 {
		b.WriteString("# copied out after the executor exits, before the container is removed:\n")
		for _, o := range c.CopyOut {
			b.WriteString("#   " + ShellQuote(o.Source) + " -> " + ShellQuote(o.Target))
			if o.Optional {
				b.WriteString(" (if written)")
			}
			b.WriteString("\n")
		}
	}
	return b.String()
}
