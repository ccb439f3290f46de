package kube

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/kanikorun/kanikorun/internal/plan"
	"github.com/kanikorun/kanikorun/internal/spec"
	"github.com/kanikorun/kanikorun/internal/tmpdir"
)

// ReplayLabel is the container label that names the workload a replayed
// container came from, e.g. "Job/build-image".
const ReplayLabel = "io.kanikorun.replay"

// DryRunDir stands, in a dry run's plan, for the temporary directory a real
// replay creates (and removes) for Secrets, ConfigMaps, emptyDirs and the
// digest file. It is the placeholder `kanikorun build --dry-run` prints for
// the files it generates at run time; plan.ShellQuote leaves it for the
// shell to expand.
const DryRunDir = "$KANIKORUN_TMP"

// ErrUnmappedVolume marks pod volumes a replay cannot back with an existing
// host path; the error lists every one with the flag that maps it.
var ErrUnmappedVolume = errors.New("volumes without a host path")

// ReplayOptions map a pod's volumes to this machine. Maps are keyed by the
// names in the manifest; host paths may be relative to the working
// directory.
type ReplayOptions struct {
	// Claims maps a PersistentVolumeClaim's name to the host directory
	// holding its content (--claim NAME=DIR). A mount's subPath is
	// looked up inside that directory.
	Claims map[string]string
	// Secrets maps a Secret's name to a host file (--secret NAME=FILE):
	// either a Secret manifest (YAML or JSON), or a plain file such as a
	// docker config.json, which stands for the Secret's .dockerconfigjson
	// key, or for the single key the volume's items ask for. A Secret of
	// that name in the manifest stream needs no flag.
	Secrets map[string]string
	// Volumes maps a pod volume's name to a host path whatever its type
	// (--volume NAME=PATH); it wins over Claims and Secrets and is the only
	// way to map hostPath and other node-bound volumes.
	Volumes map[string]string
	// Container names the executor container; empty picks it as
	// Manifest.Container does.
	Container string
	// DigestFile is the host file that receives the digest when the
	// executor writes it to /dev/termination-log; empty makes one in the
	// replay's temporary directory.
	DigestFile string
	// TempDir is where the replay writes Secrets, emptyDirs and the digest
	// file; empty means the system's temporary directory. A dry run does
	// not use it.
	TempDir string
	// DryRun plans without writing anything, for printing rather than
	// running: volumes replay would write (Secrets, ConfigMaps, emptyDirs)
	// and the temporary digest file get placeholder sources under
	// DryRunDir, and Replay.Notes says what each stands for. Everything
	// else is checked as for a real run (--secret files are read, keys and
	// subPaths must exist), so a dry run fails where the run would. No
	// secret content reaches the disk, and Cleanup has nothing to do.
	DryRun bool
}

// Replay is a manifest's executor turned into a container to run here.
type Replay struct {
	// Container is the plan for the runner: the manifest's image, command
	// (as Entrypoint), args, plain env and working directory, with each
	// volume mount at the same target backed by a host path.
	Container plan.Container
	// Warnings say what of the pod the replay leaves out (env from
	// Secrets, init containers, privileged mode) or what will fail (an
	// output under a mount that replay makes read-only).
	Warnings []string
	// Notes, in a dry run only, say what each DryRunDir placeholder in
	// Container stands for, e.g. `$KANIKORUN_TMP/volumes/docker-config
	// stands for volume "docker-config" (secret "regcred": config.json),
	// written only when the replay runs`; for stderr, beside the printed
	// command.
	Notes []string
	// tmp is the directory this replay created, removed by Cleanup.
	tmp *tmpdir.Dir
	// configs are the Secrets' docker configs that defer to credential
	// helpers, for ResolveCredentials.
	configs []dockerConfig
	// secrets are the values of the Secret keys written for the pod, for
	// SecretValues.
	secrets [][]byte
	dryRun  bool
}

// SecretValues are the values of every Secret key the replay wrote into
// the pod's volumes (a build's --secret values among them): the runner
// masks them in the executor's output, as a local build masks its
// secrets.
func (r *Replay) SecretValues() [][]byte { return r.secrets }

// ShowNotes hands the warnings and notes from the given indexes on to
// show, as single lines, and returns how many of each there are, so a
// later call shows only the new ones.
func (r *Replay) ShowNotes(show func(format string, a ...any), warnings, notes int) [2]int {
	for _, w := range r.Warnings[warnings:] {
		show("warning: %s", w)
	}
	for _, n := range r.Notes[notes:] {
		show("%s", n)
	}
	return [2]int{len(r.Warnings), len(r.Notes)}
}

// Cleanup removes the files the replay wrote (materialised Secrets,
// emptyDirs, a temporary digest file). Call it after the container ran.
func (r *Replay) Cleanup() error {
	if r == nil || r.tmp == nil {
		return nil
	}
	if err := r.tmp.Remove(); err != nil {
		return fmt.Errorf("removing replay files: %w", err)
	}
	r.tmp = nil
	return nil
}

// Plan turns the manifest's executor container into a plan.Container with
// the same image, arguments and mount targets, the kubelet's $(VAR)
// expansion applied. Volumes map as follows:
//   - persistentVolumeClaim: the host directory given for the claim, with
//     the mount's subPath inside it;
//   - secret (and projected secrets): written to a temporary directory as
//     the kubelet would, honouring items (so .dockerconfigjson -> config.json
//     works and a Secret without items yields .dockerconfigjson, as in the
//     cluster); from a --secret file or the manifest stream;
//   - configMap: from the manifest stream, the same way;
//   - emptyDir: a fresh temporary directory;
//   - the service account token volume: left out (replay never talks to a
//     cluster);
//   - hostPath and anything else: only with an explicit --volume, because
//     the node's paths are not this machine's.
//
// Every mount that holds the build context or the Dockerfile, or lies under
// /workspace, is read-only whatever the manifest says: a Dockerfile's RUN
// can otherwise delete the user's sources. Credentials are read-only too.
// When the executor writes its digest to /dev/termination-log, the plan's
// DigestFile receives it. All unmappable volumes are reported in one
// ErrUnmappedVolume error. On error nothing is left behind; on success call
// Cleanup after the run. With o.DryRun nothing is written in the first
// place (see ReplayOptions.DryRun).
//
// A Secret's docker config.json that defers to credsStore or credHelpers
// needs ResolveCredentials before the run.
func (m *Manifest) Plan(o ReplayOptions) (*Replay, error) {
	c, err := m.Container(o.Container)
	if err != nil {
		return nil, err
	}
	if c.Image == "" {
		return nil, fmt.Errorf("%w: container %q of %s %q has no image", ErrNoExecutor, c.Name, m.Kind, m.Name)
	}
	r := &Replay{}
	p := &replayer{m: m, o: o, r: r, done: map[string]string{}, planned: map[string]bool{}}
	ok := false
	defer func() {
		if !ok {
			_ = r.Cleanup()
		}
	}()

	env, vars, warns := containerEnv(c, m.ConfigMaps)
	r.Warnings = append(r.Warnings, warns...)
	pc := plan.Container{
		Image:      c.Image,
		Env:        env,
		WorkingDir: c.WorkingDir,
		Labels:     map[string]string{ReplayLabel: m.Kind + "/" + m.Name},
	}
	if len(c.Command) > 0 {
		pc.Entrypoint = expandAll(c.Command, vars)
	}
	if len(c.Args) > 0 {
		pc.Args = expandAll(c.Args, vars)
	}
	if m.Pod.HostNetwork {
		pc.Network = "host"
	}
	if sc := c.SecurityContext; sc != nil && sc.AllowPrivilegeEscalation != nil && !*sc.AllowPrivilegeEscalation {
		pc.NoNewPrivileges = true
	}
	flags, err := spec.ParseExecutorArgs(pc.ExecutorArgs())
	if err != nil {
		return nil, fmt.Errorf("reading the arguments of container %q: %w", c.Name, err)
	}
	locked := lockedPaths(flags, c.WorkingDir)
	p.ctxDir, p.dockerfile = plan.ExecutorPaths(flags, c.WorkingDir)

	var problems []string
	for _, vm := range c.VolumeMounts {
		mount, skip, problem := p.mount(vm, locked)
		switch {
		case problem != "":
			problems = append(problems, problem)
		case !skip:
			pc.Mounts = append(pc.Mounts, mount)
		}
	}
	if len(problems) > 0 {
		return nil, fmt.Errorf("%w: %s", ErrUnmappedVolume, strings.Join(problems, "; "))
	}
	r.configs, r.dryRun = p.configs, o.DryRun

	if writesDigestToTerminationLog(flags) {
		df := o.DigestFile
		if df == "" {
			dir, err := p.tempDir()
			if err != nil {
				return nil, err
			}
			df = filepath.Join(dir, "termination-log")
		}
		if o.DryRun && o.DigestFile == "" {
			r.Notes = append(r.Notes, fmt.Sprintf("%s stands for the file that receives the digest the executor writes to %s, made only when the replay runs", df, spec.TerminationLog))
		} else {
			if df, err = filepath.Abs(df); err != nil {
				return nil, fmt.Errorf("resolving digest file %q: %w", o.DigestFile, err)
			}
			// The caller's own digest file is named, not created, in a
			// dry run.
			if !o.DryRun {
				if err := ensureFile(df); err != nil {
					return nil, err
				}
			}
		}
		pc.DigestFile = df
	}
	r.Warnings = append(r.Warnings, outputWarnings(flags, pc.Mounts, c.WorkingDir)...)
	if len(m.Pod.InitContainers) > 0 {
		r.Warnings = append(r.Warnings, fmt.Sprintf("init containers %s are not run by replay; their work must already be in the mapped volumes", containerNames(m.Pod.InitContainers)))
	}
	if sc := c.SecurityContext; sc != nil && sc.Privileged != nil && *sc.Privileged {
		r.Warnings = append(r.Warnings, "the manifest runs the executor privileged; the replay runs it unprivileged")
	}
	r.Container = pc
	ok = true
	return r, nil
}

func expandAll(in []string, vars map[string]string) []string {
	out := make([]string, len(in))
	for i, s := range in {
		out[i] = expandRefs(s, vars)
	}
	return out
}

// ParseMappings reads repeated NAME=PATH flag values (--claim, --secret,
// --volume) into a map, refusing malformed and conflicting ones. flag is
// the flag's name, for the error.
func ParseMappings(flag string, values []string) (map[string]string, error) {
	out := make(map[string]string, len(values))
	for _, v := range values {
		name, p, ok := strings.Cut(v, "=")
		if !ok || name == "" || p == "" {
			return nil, fmt.Errorf("invalid --%s %q: write it as NAME=PATH", flag, v)
		}
		if prev, dup := out[name]; dup && prev != p {
			return nil, fmt.Errorf("conflicting --%s for %q: %q and %q; give one", flag, name, prev, p)
		}
		out[name] = p
	}
	return out, nil
}
