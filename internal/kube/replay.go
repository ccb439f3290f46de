package kube

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"

	"github.com/kanikorun/kanikorun/internal/plan"
	"github.com/kanikorun/kanikorun/internal/spec"
)

// ReplayLabel is the container label that names the workload a replayed
// container came from, e.g. "Job/build-image".
const ReplayLabel = "io.kanikorun.replay"

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
	// file; empty means the system's temporary directory.
	TempDir string
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
	// tmp is the directory this replay created, removed by Cleanup.
	tmp string
}

// Cleanup removes the files the replay wrote (materialised Secrets,
// emptyDirs, a temporary digest file). Call it after the container ran.
func (r *Replay) Cleanup() error {
	if r == nil || r.tmp == "" {
		return nil
	}
	if err := os.RemoveAll(r.tmp); err != nil {
		return fmt.Errorf("removing replay files %q: %w", r.tmp, err)
	}
	r.tmp = ""
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
// Cleanup after the run.
func (m *Manifest) Plan(o ReplayOptions) (*Replay, error) {
	c, err := m.Container(o.Container)
	if err != nil {
		return nil, err
	}
	if c.Image == "" {
		return nil, fmt.Errorf("%w: container %q of %s %q has no image", ErrNoExecutor, c.Name, m.Kind, m.Name)
	}
	r := &Replay{}
	p := &replayer{m: m, o: o, r: r, done: map[string]string{}}
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
	argv := append(append([]string(nil), pc.Entrypoint...), pc.Args...)
	locked := lockedPaths(argv, c.WorkingDir)

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

	if writesDigestToTerminationLog(argv) {
		df := o.DigestFile
		if df == "" {
			dir, err := p.tempDir()
			if err != nil {
				return nil, err
			}
			df = filepath.Join(dir, "termination-log")
		}
		if df, err = filepath.Abs(df); err != nil {
			return nil, fmt.Errorf("resolving digest file %q: %w", o.DigestFile, err)
		}
		if err := ensureFile(df); err != nil {
			return nil, err
		}
		pc.DigestFile = df
	}
	r.Warnings = append(r.Warnings, outputWarnings(argv, pc.Mounts, c.WorkingDir)...)
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

// replayer carries the state of one Plan call.
type replayer struct {
	m *Manifest
	o ReplayOptions
	r *Replay
	// done caches the host directory made for a volume, so a volume
	// mounted twice is written once.
	done map[string]string
}

func (p *replayer) tempDir() (string, error) {
	if p.r.tmp == "" {
		dir, err := os.MkdirTemp(p.o.TempDir, "kanikorun-replay-")
		if err != nil {
			return "", fmt.Errorf("creating a temporary directory for the replay: %w", err)
		}
		// Bind mounts need absolute sources.
		if abs, err := filepath.Abs(dir); err == nil {
			dir = abs
		}
		p.r.tmp = dir
	}
	return p.r.tmp, nil
}

// mount maps one volume mount. skip is true for mounts left out on
// purpose; problem is one item of the ErrUnmappedVolume list.
func (p *replayer) mount(vm corev1.VolumeMount, locked []string) (m plan.Mount, skip bool, problem string) {
	vol := p.volume(vm.Name)
	if vol == nil {
		return m, false, fmt.Sprintf("mount %q names no volume of the pod; fix the manifest", vm.Name)
	}
	if !path.IsAbs(vm.MountPath) {
		return m, false, fmt.Sprintf("mount %q has the relative mountPath %q; fix the manifest", vm.Name, vm.MountPath)
	}
	if vm.SubPathExpr != "" {
		return m, false, fmt.Sprintf("mount %q uses subPathExpr, which replay does not expand; write a plain subPath", vm.Name)
	}
	if isTokenVolume(vol) && p.o.Volumes[vol.Name] == "" {
		p.r.Warnings = append(p.r.Warnings, fmt.Sprintf("volume %q (the service account token) is left out: replay never talks to a cluster", vol.Name))
		return m, true, ""
	}
	src, readOnly, problem := p.source(vol)
	if problem != "" {
		return m, false, problem
	}
	if vm.SubPath != "" {
		if !filepath.IsLocal(filepath.FromSlash(vm.SubPath)) {
			return m, false, fmt.Sprintf("mount %q has subPath %q, which leaves its volume; fix the manifest", vm.Name, vm.SubPath)
		}
		src = filepath.Join(src, filepath.FromSlash(vm.SubPath))
	}
	// The daemon would create a missing source as an empty directory,
	// turning a missing config.json into a directory kaniko cannot read.
	if _, err := os.Stat(src); err != nil {
		return m, false, fmt.Sprintf("volume %q maps to %q, which does not exist; create it or fix the mapping", vol.Name, src)
	}
	target := path.Clean(vm.MountPath)
	readOnly = readOnly || vm.ReadOnly || isLocked(target, locked)
	return plan.Mount{Source: src, Target: target, ReadOnly: readOnly}, false, ""
}

func (p *replayer) volume(name string) *corev1.Volume {
	for i := range p.m.Pod.Volumes {
		if p.m.Pod.Volumes[i].Name == name {
			return &p.m.Pod.Volumes[i]
		}
	}
	return nil
}

// source finds the host path behind a volume and whether it must be
// read-only whatever the mount says.
func (p *replayer) source(vol *corev1.Volume) (src string, readOnly bool, problem string) {
	vs := vol.VolumeSource
	if hp := p.o.Volumes[vol.Name]; hp != "" {
		abs, err := filepath.Abs(hp)
		if err != nil {
			return "", false, fmt.Sprintf("volume %q: resolving %q: %v", vol.Name, hp, err)
		}
		ro := vs.Secret != nil || vs.ConfigMap != nil || vs.Projected != nil ||
			(vs.PersistentVolumeClaim != nil && vs.PersistentVolumeClaim.ReadOnly)
		return abs, ro, ""
	}
	switch {
	case vs.PersistentVolumeClaim != nil:
		claim := vs.PersistentVolumeClaim.ClaimName
		dir := p.o.Claims[claim]
		if dir == "" {
			return "", false, fmt.Sprintf("volume %q (claim %q) needs --claim %s=DIR", vol.Name, claim, claim)
		}
		abs, err := filepath.Abs(dir)
		if err != nil {
			return "", false, fmt.Sprintf("volume %q: resolving %q: %v", vol.Name, dir, err)
		}
		if st, err := os.Stat(abs); err != nil || !st.IsDir() {
			return "", false, fmt.Sprintf("--claim %s=%s is not an existing directory; point it at the claim's content", claim, dir)
		}
		return abs, vs.PersistentVolumeClaim.ReadOnly, ""
	case vs.EmptyDir != nil:
		dir, problem := p.materialise(vol.Name, func(string) (string, error) { return "", nil })
		return dir, false, problem
	case vs.Secret != nil:
		dir, problem := p.materialise(vol.Name, func(dir string) (string, error) {
			return p.writeSecret(dir, vol.Name, vs.Secret.SecretName, vs.Secret.Items, optional(vs.Secret.Optional))
		})
		return dir, true, problem
	case vs.ConfigMap != nil:
		dir, problem := p.materialise(vol.Name, func(dir string) (string, error) {
			return p.writeConfigMap(dir, vol.Name, vs.ConfigMap.Name, vs.ConfigMap.Items, optional(vs.ConfigMap.Optional))
		})
		return dir, true, problem
	case vs.Projected != nil:
		dir, problem := p.materialise(vol.Name, func(dir string) (string, error) {
			var problems []string
			for _, s := range vs.Projected.Sources {
				var pr string
				var err error
				switch {
				case s.Secret != nil:
					pr, err = p.writeSecret(dir, vol.Name, s.Secret.Name, s.Secret.Items, optional(s.Secret.Optional))
				case s.ConfigMap != nil:
					pr, err = p.writeConfigMap(dir, vol.Name, s.ConfigMap.Name, s.ConfigMap.Items, optional(s.ConfigMap.Optional))
				default:
					pr = fmt.Sprintf("volume %q projects a source replay cannot write; map it with --volume %s=DIR", vol.Name, vol.Name)
				}
				if err != nil {
					return "", err
				}
				if pr != "" {
					problems = append(problems, pr)
				}
			}
			return strings.Join(problems, "; "), nil
		})
		return dir, true, problem
	case vs.HostPath != nil:
		return "", false, fmt.Sprintf("volume %q (hostPath %q on the node) needs --volume %s=PATH: replay does not mount this machine's path of the same name", vol.Name, vs.HostPath.Path, vol.Name)
	}
	return "", false, fmt.Sprintf("volume %q (%s) needs --volume %s=PATH", vol.Name, volumeType(vol), vol.Name)
}

// materialise makes the directory for a volume replay writes itself, once
// per volume, and returns it or a problem for the ErrUnmappedVolume list.
// fill's errors (an unreadable --secret file, a failed write) become
// problems too, so the user sees every mapping issue in one go.
func (p *replayer) materialise(volName string, fill func(dir string) (string, error)) (string, string) {
	if dir, ok := p.done[volName]; ok {
		return dir, ""
	}
	tmp, err := p.tempDir()
	if err != nil {
		return "", err.Error()
	}
	dir := filepath.Join(tmp, "volumes", volName)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", fmt.Sprintf("volume %q: creating %q: %v", volName, dir, err)
	}
	problem, err := fill(dir)
	if err != nil {
		return "", fmt.Sprintf("volume %q: %v", volName, err)
	}
	if problem != "" {
		return "", problem
	}
	p.done[volName] = dir
	return dir, ""
}

// writeSecret writes a Secret's keys into dir as the kubelet would.
func (p *replayer) writeSecret(dir, volName, name string, items []corev1.KeyToPath, opt bool) (string, error) {
	data, found, err := p.secretData(name, items)
	if err != nil {
		return "", err
	}
	if !found {
		if opt {
			return "", nil
		}
		return fmt.Sprintf("volume %q (secret %q) needs --secret %s=FILE (a config.json or the Secret's YAML)", volName, name, name), nil
	}
	if cfg, ok := data[corev1.DockerConfigJsonKey]; ok {
		p.warnCredsStore(name, cfg)
	}
	return writeKeys(dir, volName, "secret", name, data, items, opt, 0o600)
}

// writeConfigMap writes a ConfigMap of the manifest stream into dir.
func (p *replayer) writeConfigMap(dir, volName, name string, items []corev1.KeyToPath, opt bool) (string, error) {
	cm, ok := p.m.ConfigMaps[name]
	if !ok {
		if opt {
			return "", nil
		}
		return fmt.Sprintf("volume %q (configMap %q) needs the ConfigMap in the manifest (append `kubectl get configmap %s -o yaml`) or --volume %s=DIR", volName, name, name, volName), nil
	}
	data := map[string][]byte{}
	for k, v := range cm.BinaryData {
		data[k] = v
	}
	for k, v := range cm.Data {
		data[k] = []byte(v)
	}
	return writeKeys(dir, volName, "configMap", name, data, items, opt, 0o644)
}

// secretData finds a Secret's data: from the --secret file, else from the
// manifest stream. found is false when neither has it.
func (p *replayer) secretData(name string, items []corev1.KeyToPath) (map[string][]byte, bool, error) {
	if file := p.o.Secrets[name]; file != "" {
		raw, err := os.ReadFile(file)
		if err != nil {
			return nil, false, fmt.Errorf("reading --secret %s=%s: %w", name, file, err)
		}
		s, isObject, err := secretManifest(raw)
		if err != nil {
			return nil, false, fmt.Errorf("reading --secret %s=%s: %w", name, file, err)
		}
		if isObject {
			return secretKeys(s), true, nil
		}
		// A plain file is the content of the one key the volume asks
		// for, or of the dockerconfigjson key.
		key := corev1.DockerConfigJsonKey
		if keys := itemKeys(items); len(keys) == 1 {
			key = keys[0]
		}
		return map[string][]byte{key: raw}, true, nil
	}
	if s, ok := p.m.Secrets[name]; ok {
		return secretKeys(s), true, nil
	}
	return nil, false, nil
}

// secretManifest decodes raw as a v1 Secret when it is a Kubernetes object
// at all; a file of any other kind is an error rather than content, so a
// Secret with a typo never ends up as the bytes of config.json.
func secretManifest(raw []byte) (*corev1.Secret, bool, error) {
	var tm metav1.TypeMeta
	if yaml.Unmarshal(raw, &tm) != nil || tm.Kind == "" {
		return nil, false, nil
	}
	objs, err := Decode(raw)
	if err != nil {
		return nil, true, err
	}
	if len(objs) == 1 {
		if s, ok := objs[0].(*corev1.Secret); ok {
			return s, true, nil
		}
	}
	return nil, true, fmt.Errorf("%w: the file holds %s, not one v1 Secret; give a Secret manifest or a plain config.json", ErrBadManifest, tm.Kind)
}

// secretKeys merges data and stringData as the API server does.
func secretKeys(s *corev1.Secret) map[string][]byte {
	out := map[string][]byte{}
	for k, v := range s.Data {
		out[k] = v
	}
	for k, v := range s.StringData {
		out[k] = []byte(v)
	}
	return out
}

func itemKeys(items []corev1.KeyToPath) []string {
	seen := map[string]bool{}
	var keys []string
	for _, it := range items {
		if !seen[it.Key] {
			seen[it.Key] = true
			keys = append(keys, it.Key)
		}
	}
	return keys
}

// writeKeys writes data into dir: every key as a file of its name, or with
// items only the listed keys at their paths. A listed key that is missing
// fails the pod in the cluster, so it is a problem here too.
func writeKeys(dir, volName, kind, name string, data map[string][]byte, items []corev1.KeyToPath, opt bool, mode os.FileMode) (string, error) {
	type file struct {
		rel  string
		data []byte
	}
	var files []file
	if len(items) == 0 {
		keys := make([]string, 0, len(data))
		for k := range data {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			files = append(files, file{k, data[k]})
		}
	} else {
		for _, it := range items {
			v, ok := data[it.Key]
			if !ok {
				if opt {
					continue
				}
				return fmt.Sprintf("volume %q: %s %q has no key %q", volName, kind, name, it.Key), nil
			}
			files = append(files, file{it.Path, v})
		}
	}
	for _, f := range files {
		if !filepath.IsLocal(filepath.FromSlash(f.rel)) {
			return fmt.Sprintf("volume %q: %s %q puts a file at %q, outside the volume; fix the manifest", volName, kind, name, f.rel), nil
		}
		dst := filepath.Join(dir, filepath.FromSlash(f.rel))
		if err := os.MkdirAll(filepath.Dir(dst), 0o700); err != nil {
			return "", fmt.Errorf("creating %q: %w", filepath.Dir(dst), err)
		}
		if err := os.WriteFile(dst, f.data, mode); err != nil {
			return "", fmt.Errorf("writing %s %q key to %q: %w", kind, name, dst, err)
		}
	}
	return "", nil
}

// warnCredsStore notes a docker config that defers to a credential store:
// the executor image has no desktop, osxkeychain or pass helper, so such a
// config authenticates nothing inside it.
func (p *replayer) warnCredsStore(name string, cfg []byte) {
	var c struct {
		CredsStore string `json:"credsStore"`
	}
	if json.Unmarshal(cfg, &c) == nil && c.CredsStore != "" {
		p.r.Warnings = append(p.r.Warnings, fmt.Sprintf("the docker config for secret %q uses credsStore %q, which the executor image does not have; give a config.json with inline auths", name, c.CredsStore))
	}
}

func optional(b *bool) bool { return b != nil && *b }

func isTokenVolume(v *corev1.Volume) bool {
	if v.Projected == nil {
		return false
	}
	for _, s := range v.Projected.Sources {
		if s.ServiceAccountToken != nil {
			return true
		}
	}
	return false
}

func volumeType(v *corev1.Volume) string {
	b, err := json.Marshal(v.VolumeSource)
	if err != nil {
		return "unknown type"
	}
	var m map[string]json.RawMessage
	if json.Unmarshal(b, &m) != nil || len(m) == 0 {
		return "no source"
	}
	for k := range m {
		return k
	}
	return "unknown type"
}

func ensureFile(p string) error {
	f, err := os.OpenFile(p, os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return fmt.Errorf("creating digest file %q: %w", p, err)
	}
	return f.Close()
}

// Executor flags replay reads to decide what must be read-only and what
// the digest file is.
const (
	flagContext    = "context"
	flagDockerfile = "dockerfile"
	flagDigestFile = "digest-file"
)

// flagValues returns the values an argv gives a flag, in every form pflag
// accepts: --name=v, --name v, -s v, -s=v, -sv.
func flagValues(argv []string, long string, short byte) []string {
	var vals []string
	for i := 0; i < len(argv); i++ {
		a := argv[i]
		if a == "--" {
			break
		}
		if v, ok := strings.CutPrefix(a, "--"+long+"="); ok {
			vals = append(vals, v)
			continue
		}
		if a == "--"+long || (short != 0 && a == "-"+string(short)) {
			if i+1 < len(argv) {
				vals = append(vals, argv[i+1])
				i++
			}
			continue
		}
		if short != 0 && len(a) > 2 && a[0] == '-' && a[1] == short {
			vals = append(vals, strings.TrimPrefix(a[2:], "="))
		}
	}
	return vals
}

func lastFlag(argv []string, long string, short byte) (string, bool) {
	v := flagValues(argv, long, short)
	if len(v) == 0 {
		return "", false
	}
	return v[len(v)-1], true
}

// lockedPaths lists the container paths that must never be writable: the
// workspace, the build context, the Dockerfile and the docker config.
func lockedPaths(argv []string, workDir string) []string {
	locked := []string{spec.WorkspaceDir, dockerConfigDir}
	cwd := workDir
	if cwd == "" {
		cwd = spec.WorkspaceDir
	}
	ctx := spec.WorkspaceDir
	if v, ok := lastFlag(argv, flagContext, 'c'); ok {
		ctx = ""
		dir, isDir := strings.CutPrefix(v, "dir://")
		if isDir || !strings.Contains(v, "://") {
			ctx = dir
			if !path.IsAbs(ctx) {
				ctx = path.Join(cwd, ctx)
			}
			locked = append(locked, path.Clean(ctx))
		}
	}
	if v, ok := lastFlag(argv, flagDockerfile, 'f'); ok {
		switch {
		case path.IsAbs(v):
			locked = append(locked, path.Clean(v))
		case ctx != "":
			locked = append(locked, path.Join(ctx, v))
		}
	}
	return locked
}

// isLocked reports a mount target that holds, or lies inside, a locked path.
func isLocked(target string, locked []string) bool {
	for _, l := range locked {
		if _, ok := under(target, l); ok {
			return true
		}
		if _, ok := under(l, target); ok {
			return true
		}
	}
	return false
}

func writesDigestToTerminationLog(argv []string) bool {
	for _, v := range flagValues(argv, flagDigestFile, 0) {
		if path.Clean(v) == spec.TerminationLog {
			return true
		}
	}
	return false
}

// outputWarnings names executor outputs that point into a read-only mount:
// the manifest may have written them next to the context, which replay
// does not allow.
func outputWarnings(argv []string, mounts []plan.Mount, workDir string) []string {
	cwd := workDir
	if cwd == "" {
		cwd = spec.WorkspaceDir
	}
	var warns []string
	for _, f := range []string{"tar-path", "oci-layout-path", flagDigestFile, "image-name-with-digest-file", "image-name-tag-with-digest-file", "cache-dir", "cache-repo"} {
		for _, v := range flagValues(argv, f, 0) {
			p := v
			if f == "cache-repo" {
				var ok bool
				if p, ok = strings.CutPrefix(v, "oci:"); !ok {
					continue
				}
			}
			if !path.IsAbs(p) {
				p = path.Join(cwd, p)
			}
			for _, m := range mounts {
				if _, in := under(m.Target, p); in && m.ReadOnly {
					warns = append(warns, fmt.Sprintf("--%s=%s writes into the read-only mount at %s (replay never makes the context writable); the write will fail", f, v, m.Target))
				}
			}
		}
	}
	return warns
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
