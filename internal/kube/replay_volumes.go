package kube

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"

	"github.com/kanikorun/kanikorun/creds"
	"github.com/kanikorun/kanikorun/internal/plan"
	"github.com/kanikorun/kanikorun/internal/tmpdir"
)

// replayer carries the state of one Plan call.
type replayer struct {
	m *Manifest
	o ReplayOptions
	r *Replay
	// done caches the host directory made for a volume, so a volume
	// mounted twice is written once.
	done map[string]string
	// planned holds, in a dry run, every path a real run would write under
	// DryRunDir (true for files, false for directories), so mounts and
	// subPaths are checked as if they had been written.
	planned map[string]bool
	// ctxDir and dockerfile are where the executor reads the build
	// context and the Dockerfile in the container (see podPaths).
	ctxDir, dockerfile string
	// configs are the docker config.json files of Secrets that defer to a
	// credential helper; Plan resolves them on the host once every mount,
	// and so the Dockerfile, is known.
	configs []dockerConfig
}

// dockerConfig is one Secret key holding a docker config.json that needs
// the host's credential helpers.
type dockerConfig struct {
	secret string // the Secret's name
	dst    string // the file replay wrote it to
	raw    []byte
}

func (p *replayer) tempDir() (string, error) {
	if p.o.DryRun {
		return DryRunDir, nil
	}
	if p.r.tmp == nil {
		// Private, absolute (bind mounts need that), and locked while this
		// process lives: a later run removes what a killed one left,
		// Secrets included.
		dir, err := tmpdir.New(p.o.TempDir, "kanikorun-replay-")
		if err != nil {
			return "", fmt.Errorf("replay files: %w", err)
		}
		p.r.tmp = dir
	}
	return p.r.tmp.Path, nil
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
	if pvc := vol.PersistentVolumeClaim; pvc != nil && p.o.Volumes[vol.Name] == "" {
		if hint := p.claimHint(pvc.ClaimName, src, path.Clean(vm.MountPath)); hint != "" && !slices.Contains(p.r.Warnings, hint) {
			p.r.Warnings = append(p.r.Warnings, hint)
		}
	}
	// The daemon would create a missing source as an empty directory,
	// turning a missing config.json into a directory kaniko cannot read.
	if !p.exists(src) {
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
		dir, problem := p.materialise(vol.Name, "emptyDir", func(string) (string, error) { return "", nil })
		return dir, false, problem
	case vs.Secret != nil:
		dir, problem := p.materialise(vol.Name, fmt.Sprintf("secret %q", vs.Secret.SecretName), func(dir string) (string, error) {
			return p.writeSecret(dir, vol.Name, vs.Secret.SecretName, vs.Secret.Items, optional(vs.Secret.Optional))
		})
		return dir, true, problem
	case vs.ConfigMap != nil:
		dir, problem := p.materialise(vol.Name, fmt.Sprintf("configMap %q", vs.ConfigMap.Name), func(dir string) (string, error) {
			return p.writeConfigMap(dir, vol.Name, vs.ConfigMap.Name, vs.ConfigMap.Items, optional(vs.ConfigMap.Optional))
		})
		return dir, true, problem
	case vs.Projected != nil:
		dir, problem := p.materialise(vol.Name, "projected", func(dir string) (string, error) {
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
// problems too, so the user sees every mapping issue in one go. In a dry
// run the directory is DryRunDir/volumes/NAME, nothing is written, and a
// note says what the placeholder stands for, describing the volume's source
// as what says, e.g. `secret "regcred"`.
func (p *replayer) materialise(volName, what string, fill func(dir string) (string, error)) (string, string) {
	if dir, ok := p.done[volName]; ok {
		return dir, ""
	}
	tmp, err := p.tempDir()
	if err != nil {
		return "", err.Error()
	}
	dir := filepath.Join(tmp, "volumes", volName)
	if err := p.mkdir(dir); err != nil {
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
	if p.o.DryRun {
		note, verb := fmt.Sprintf("%s stands for volume %q (%s", dir, volName, what), "made"
		if files := p.plannedFiles(dir); len(files) > 0 {
			note, verb = note+": "+strings.Join(files, ", "), "written"
		}
		p.r.Notes = append(p.r.Notes, note+"), "+verb+" only when the replay runs")
	}
	return dir, ""
}

// mkdir makes a directory, or plans it in a dry run.
func (p *replayer) mkdir(dir string) error {
	if !p.o.DryRun {
		return os.MkdirAll(dir, 0o700)
	}
	for d := dir; d != DryRunDir && d != "." && d != "/"; d = filepath.Dir(d) {
		if _, ok := p.planned[d]; !ok {
			p.planned[d] = false
		}
	}
	return nil
}

// put writes a file of a materialised volume, or plans it in a dry run.
func (p *replayer) put(dst string, data []byte, mode os.FileMode) error {
	if err := p.mkdir(filepath.Dir(dst)); err != nil {
		return fmt.Errorf("creating %q: %w", filepath.Dir(dst), err)
	}
	if p.o.DryRun {
		p.planned[dst] = true
		return nil
	}
	return os.WriteFile(dst, data, mode)
}

// exists reports whether a mount source exists or, for a dry run's
// placeholder, would exist in a real run.
func (p *replayer) exists(src string) bool {
	if p.o.DryRun && strings.HasPrefix(src, DryRunDir+"/") {
		_, ok := p.planned[src]
		return ok
	}
	_, err := os.Stat(src)
	return err == nil
}

// plannedFiles lists the files a dry run planned under dir, relative to
// it, sorted.
func (p *replayer) plannedFiles(dir string) []string {
	var files []string
	for f, isFile := range p.planned {
		if rel, ok := strings.CutPrefix(f, dir+"/"); ok && isFile {
			files = append(files, rel)
		}
	}
	sort.Strings(files)
	return files
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
	return p.writeKeys(dir, volName, "secret", name, data, items, opt, 0o600)
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
	return p.writeKeys(dir, volName, "configMap", name, data, items, opt, 0o644)
}

// secretData finds a Secret's data: from the --secret file, else from the
// manifest stream. found is false when neither has it.
func (p *replayer) secretData(name string, items []corev1.KeyToPath) (map[string][]byte, bool, error) {
	if file := p.o.Secrets[name]; file != "" {
		raw, err := os.ReadFile(file)
		if err != nil {
			return nil, false, fmt.Errorf("reading --secret %s=%s: %w", name, file, err)
		}
		s, unknown, isObject, err := secretManifest(raw)
		if err != nil {
			return nil, false, fmt.Errorf("reading --secret %s=%s: %w", name, file, err)
		}
		if isObject {
			data := secretKeys(s)
			if len(unknown) > 0 {
				// A newer cluster's extra field is harmless; a misspelt
				// data or stringData is not, and shows as the keys
				// missing: then the unknown field is the error to report.
				if !hasKeys(data, items) {
					return nil, false, fmt.Errorf("reading --secret %s=%s: %w: %s", name, file, ErrBadManifest, strings.Join(unknown, "; "))
				}
				for _, u := range unknown {
					p.r.Warnings = append(p.r.Warnings, fmt.Sprintf("--secret %s=%s: ignoring %s", name, file, u))
				}
			}
			return data, true, nil
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
// Secret with a typo never ends up as the bytes of config.json. Like the
// manifest, it may come from a newer cluster: unknown fields are dropped
// and named in unknown (DecodeLenient).
func secretManifest(raw []byte) (s *corev1.Secret, unknown []string, isObject bool, err error) {
	var tm metav1.TypeMeta
	if yaml.Unmarshal(raw, &tm) != nil || tm.Kind == "" {
		return nil, nil, false, nil
	}
	objs, unknown, err := DecodeLenient(raw)
	if err != nil {
		return nil, nil, true, err
	}
	if len(objs) == 1 {
		if s, ok := objs[0].(*corev1.Secret); ok {
			return s, unknown, true, nil
		}
	}
	return nil, nil, true, fmt.Errorf("%w: the file holds %s, not one v1 Secret; give a Secret manifest or a plain config.json", ErrBadManifest, tm.Kind)
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

// hasKeys reports whether data holds what a volume asks for: every key
// its items name, or, without items, anything at all.
func hasKeys(data map[string][]byte, items []corev1.KeyToPath) bool {
	if len(items) == 0 {
		return len(data) > 0
	}
	for _, k := range itemKeys(items) {
		if _, ok := data[k]; !ok {
			return false
		}
	}
	return true
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
func (p *replayer) writeKeys(dir, volName, kind, name string, data map[string][]byte, items []corev1.KeyToPath, opt bool, mode os.FileMode) (string, error) {
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
		if err := p.put(dst, f.data, mode); err != nil {
			return "", fmt.Errorf("writing %s %q key to %q: %w", kind, name, dst, err)
		}
		if kind == "secret" && !p.o.DryRun {
			p.r.secrets = append(p.r.secrets, f.data)
		}
		if kind == "secret" && creds.UsesHelpers(f.data) {
			p.configs = append(p.configs, dockerConfig{secret: name, dst: dst, raw: f.data})
		}
	}
	return "", nil
}

// claimHint returns a hint when a --claim directory (src, mounted at
// target) looks like the build context itself rather than the claim
// holding it: the context lies below target, src has no such directory,
// yet src holds the Dockerfile the arguments name directly. The user meant
// the parent directory, and the executor would fail on a missing context.
func (p *replayer) claimHint(claim, src, target string) string {
	rel, ok := under(target, p.ctxDir)
	if !ok || rel == "." {
		return ""
	}
	dfRel, ok := under(p.ctxDir, p.dockerfile)
	if !ok || dfRel == "." {
		return ""
	}
	if _, err := os.Stat(filepath.Join(src, filepath.FromSlash(rel))); err == nil {
		return ""
	}
	if st, err := os.Stat(filepath.Join(src, filepath.FromSlash(dfRel))); err != nil || st.IsDir() {
		return ""
	}
	return fmt.Sprintf("--claim %s points at %q, which looks like the build context itself: it holds %q but no %q; pass its parent directory (the pod reads the context from %s)", claim, p.o.Claims[claim], dfRel, rel, p.ctxDir)
}

// ResolveCredentials gives every Secret's docker config.json that defers
// to credsStore or credHelpers the treatment a build's config gets: the
// helpers run on the host for regs, the registries the build touches (the
// preparation step's list: the executor flags and the Dockerfile's
// images), and the file replay wrote is replaced by the inline result. The
// executor image has none of the host's helpers, so the raw file would
// fail there with "docker-credential-... not found". Secrets reach only
// that private file. A push registry whose helper fails is an error
// wrapping creds.ErrPushCredentials.
func (r *Replay) ResolveCredentials(ctx context.Context, regs []creds.Registry, image string) error {
	for _, c := range r.configs {
		origin := fmt.Sprintf("secret %q", c.secret)
		res, err := creds.ResolveDockerConfig(ctx, c.raw, origin, regs, image)
		if res != nil {
			for _, w := range res.Warnings {
				r.Warnings = append(r.Warnings, origin+": "+w)
			}
		}
		if err != nil {
			return fmt.Errorf("resolving the docker config of %s on the host: %w", origin, err)
		}
		if r.dryRun {
			r.Notes = append(r.Notes, fmt.Sprintf("%s will hold the docker config of %s with its credential helpers resolved on the host (inline auths only)", c.dst, origin))
			continue
		}
		out, err := res.ConfigJSON()
		if err != nil {
			return fmt.Errorf("resolving the docker config of %s: %w", origin, err)
		}
		if err := os.WriteFile(c.dst, out, 0o600); err != nil {
			return fmt.Errorf("writing the resolved docker config of %s to %q: %w", origin, c.dst, err)
		}
	}
	return nil
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
