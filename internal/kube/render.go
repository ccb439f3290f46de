package kube

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/kanikorun/kanikorun/internal/plan"
	"github.com/kanikorun/kanikorun/internal/spec"
)

// Labels kanikorun puts on the Job, its pods and its Secret. The
// app.kubernetes.io ones are Kubernetes' recommended labels: the
// application is kaniko, this Job is an instance of it, kanikorun manages
// it. RepositoryLabel lets `kubectl get jobs -l` find the builds of one
// image.
const (
	LabelName       = "app.kubernetes.io/name"
	LabelInstance   = "app.kubernetes.io/instance"
	LabelManagedBy  = "app.kubernetes.io/managed-by"
	RepositoryLabel = "kanikorun.io/repository"
	// AppName is the value of LabelName.
	AppName = "kaniko"
	// ManagerName is the value of LabelManagedBy.
	ManagerName = "kanikorun"
)

// Names of the pod's volumes. Replay does not depend on them: it maps
// volumes by their source, whatever their names.
const (
	workspaceVolume    = "workspace"
	dockerConfigVolume = "docker-config"
	dockerConfigDir    = "/kaniko/.docker"
	dockerConfigFile   = "config.json"
	buildSecretsVolume = "build-secrets"
)

// Rendered is what Render makes: the Job and, when asked for, the Secret
// with the registry credentials it mounts.
type Rendered struct {
	// Secret is the kubernetes.io/dockerconfigjson Secret; nil unless
	// JobOptions.WithSecret.
	Secret *corev1.Secret
	// ConfigMap holds the uploaded context with DeliverConfigMap; nil
	// otherwise (RenderBuild fills it).
	ConfigMap *corev1.ConfigMap
	// Context is the packed context of an upload (DeliverConfigMap or
	// DeliverStdin); nil otherwise. Close it when done.
	Context *PackedContext
	// BuildSecrets is the Opaque Secret with the build's --secret values
	// (BuildSecret); nil unless JobOptions.WithSecret and the build has
	// secrets. Without it the Job still mounts that Secret, which the
	// user creates (kubectl create secret generic).
	BuildSecrets *corev1.Secret
	// Job runs the executor once to completion.
	Job *batchv1.Job
	// Warnings name what will likely fail in the cluster although the
	// objects are valid, for the CLI to print on stderr.
	Warnings []string
}

// Objects returns the objects in apply order: the Secret the Job needs
// first, then the Job.
func (r *Rendered) Objects() []runtime.Object {
	var objs []runtime.Object
	if r.ConfigMap != nil {
		objs = append(objs, r.ConfigMap)
	}
	if r.Secret != nil {
		objs = append(objs, r.Secret)
	}
	if r.BuildSecrets != nil {
		objs = append(objs, r.BuildSecrets)
	}
	return append(objs, r.Job)
}

// Render builds the Job that runs b in a cluster: the same executor
// arguments as the local run (spec.Build.Args over PodLayout), the
// workspace claim read-only at /workspace, credentials from a Secret or a
// claim, the digest in the termination message.
//
// dockerConfig is the {"auths":{...}} JSON for the emitted Secret; it is
// read only with JobOptions.WithSecret and never appears in errors.
// Render does not touch the file system: validate b first.
//
// Choices made here, each for a reason:
//   - restartPolicy Never: a failed build gets a fresh pod (and a fresh
//     file system), counted against backoffLimit; podFailurePolicy needs it.
//   - podFailurePolicy ignores pods failed by a DisruptionTarget condition
//     (eviction, preemption, node drain) so disruptions do not use up the
//     retries. An exit code other than 1 is a RUN step's own code (kaniko
//     exits 1 for everything else, registry hiccups included): the build
//     would fail the same way again, so a FailJob rule ends the Job at
//     once. 137 and 143 (killed: OOM, a signal) still retry.
//   - terminationMessagePolicy FallbackToLogsOnError: the digest file is
//     the message of a build that succeeds, the last log lines that of one
//     that fails, so the reason is in the Job's pods without their logs.
//   - securityContext: kaniko must be root (runAsUser 0) to unpack base
//     images and run RUN steps; it keeps the runtime's default
//     capabilities (dropping ALL breaks chown and setuid in builds) but is
//     not privileged, cannot gain privileges, and uses the RuntimeDefault
//     seccomp profile as a local Docker run does. This passes the
//     "baseline" Pod Security profile; "restricted" rejects any root pod.
//   - CPU and memory are set as request and limit alike: with both given
//     the pod is in the Guaranteed QoS class, the last to be evicted, and a
//     build is never OOM-killed for using what it asked for.
//   - Without a service account the pod does not mount the API token:
//     kaniko never talks to the Kubernetes API.
func Render(b *spec.Build, o JobOptions, dockerConfig []byte) (*Rendered, error) {
	if err := o.Validate(); err != nil {
		return nil, err
	}
	if err := localOnly(b); err != nil {
		return nil, err
	}
	if o.Delivery == DeliverConfigMap && o.UploadConfigMap == "" && b.RemoteContext == "" {
		return nil, invalid("a context uploaded in a ConfigMap needs the ConfigMap's name; RenderBuild packs the context and names it")
	}
	layout, err := podLayout(b, o)
	if err != nil {
		return nil, err
	}
	labels := jobLabels(b, o)

	container := corev1.Container{
		Name:                     ContainerName,
		Image:                    b.ExecutorImage,
		Args:                     b.Args(layout),
		TerminationMessagePath:   spec.TerminationLog,
		TerminationMessagePolicy: corev1.TerminationMessageFallbackToLogsOnError,
		SecurityContext: &corev1.SecurityContext{
			RunAsUser:                ptr(int64(0)),
			Privileged:               ptr(false),
			AllowPrivilegeEscalation: ptr(false),
			SeccompProfile:           &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
		},
	}
	if err := setResources(&container, o); err != nil {
		return nil, err
	}
	volumes := deliveryVolumes(&container, b, o)
	switch {
	case o.CredentialsClaim != "":
		volumes = append(volumes, corev1.Volume{
			Name: dockerConfigVolume,
			VolumeSource: corev1.VolumeSource{PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{
				ClaimName: o.CredentialsClaim,
				ReadOnly:  true,
			}},
		})
		container.VolumeMounts = append(container.VolumeMounts, corev1.VolumeMount{
			Name:      dockerConfigVolume,
			MountPath: spec.DockerConfigPath,
			SubPath:   dockerConfigFile,
			ReadOnly:  true,
		})
	case o.SecretName() != "":
		// Without items the file would be named .dockerconfigjson and
		// kaniko would push unauthenticated.
		volumes = append(volumes, corev1.Volume{
			Name: dockerConfigVolume,
			VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{
				SecretName: o.SecretName(),
				Items:      []corev1.KeyToPath{{Key: corev1.DockerConfigJsonKey, Path: dockerConfigFile}},
			}},
		})
		container.VolumeMounts = append(container.VolumeMounts, corev1.VolumeMount{
			Name:      dockerConfigVolume,
			MountPath: dockerConfigDir,
			ReadOnly:  true,
		})
	}

	if len(b.Secrets) > 0 {
		// The fork reads each secret at spec.SecretsDir/ID, as locally;
		// items name every key, so a key missing from the Secret stops
		// the pod instead of a build running without it.
		items := make([]corev1.KeyToPath, 0, len(b.Secrets))
		for _, s := range b.Secrets {
			items = append(items, corev1.KeyToPath{Key: s.ID, Path: s.ID})
		}
		volumes = append(volumes, corev1.Volume{
			Name: buildSecretsVolume,
			VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{
				SecretName: o.BuildSecretName(),
				Items:      items,
			}},
		})
		container.VolumeMounts = append(container.VolumeMounts, corev1.VolumeMount{
			Name:      buildSecretsVolume,
			MountPath: spec.SecretsDir,
			ReadOnly:  true,
		})
	}

	if b.MovesKanikoDir() {
		for _, m := range container.VolumeMounts {
			if m.MountPath == spec.KanikoDir || strings.HasPrefix(m.MountPath, spec.KanikoDir+"/") {
				return nil, b.KanikoDirError("in the Job, which mounts " + m.Name + " at " + m.MountPath)
			}
		}
	}

	podSpec := corev1.PodSpec{
		RestartPolicy: corev1.RestartPolicyNever,
		Containers:    []corev1.Container{container},
		Volumes:       volumes,
	}
	if o.ServiceAccount != "" {
		podSpec.ServiceAccountName = o.ServiceAccount
	} else {
		podSpec.AutomountServiceAccountToken = ptr(false)
	}

	job := &batchv1.Job{
		TypeMeta:   metav1.TypeMeta{APIVersion: "batch/v1", Kind: "Job"},
		ObjectMeta: objectMeta(o, labels),
		Spec: batchv1.JobSpec{
			BackoffLimit: ptr(o.backoffLimit()),
			PodFailurePolicy: &batchv1.PodFailurePolicy{Rules: []batchv1.PodFailurePolicyRule{{
				Action: batchv1.PodFailurePolicyActionIgnore,
				OnPodConditions: []batchv1.PodFailurePolicyOnPodConditionsPattern{{
					Type:   corev1.DisruptionTarget,
					Status: corev1.ConditionTrue,
				}},
			}, {
				Action: batchv1.PodFailurePolicyActionFailJob,
				OnExitCodes: &batchv1.PodFailurePolicyOnExitCodesRequirement{
					ContainerName: ptr(ContainerName),
					Operator:      batchv1.PodFailurePolicyOnExitCodesOpNotIn,
					Values:        retriedExitCodes,
				},
			}}},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec:       podSpec,
			},
		},
	}
	if o.ActiveDeadline != 0 {
		s, _ := wholeSeconds("--active-deadline", o.ActiveDeadline, false)
		job.Spec.ActiveDeadlineSeconds = &s
	}
	if o.TTLAfterFinished != nil {
		s, _ := wholeSeconds("--ttl-after-finished", *o.TTLAfterFinished, true)
		job.Spec.TTLSecondsAfterFinished = ptr(int32(s))
	}

	if len(o.Overrides) > 0 {
		if job, err = applyOverrides(job, o.Overrides); err != nil {
			return nil, err
		}
	}
	r := &Rendered{Job: job}
	if o.WithSecret {
		if err := checkDockerConfig(dockerConfig); err != nil {
			return nil, err
		}
		meta := objectMeta(o, labels)
		meta.Name, meta.GenerateName = o.SecretName(), ""
		r.Secret = &corev1.Secret{
			TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Secret"},
			ObjectMeta: meta,
			Type:       corev1.SecretTypeDockerConfigJson,
			Data:       map[string][]byte{corev1.DockerConfigJsonKey: append([]byte(nil), dockerConfig...)},
		}
	}
	return r, nil
}

// retriedExitCodes are the executor exit codes worth another attempt:
// success, kaniko's own failures (1), and a kill (137 OOM or SIGKILL, 143
// SIGTERM). Every other code is a RUN step's and ends the Job.
var retriedExitCodes = []int32{0, 1, 137, 143}

// podLayout is PodLayout for the Job's way of delivering the context.
func podLayout(b *spec.Build, o JobOptions) (spec.Layout, error) {
	if b.RemoteContext != "" {
		return spec.Layout{ContextURL: b.RemoteContext, Dockerfile: b.RemoteDockerfile, DigestFile: spec.TerminationLog}, nil
	}
	switch o.Delivery {
	case DeliverConfigMap, DeliverStdin:
		rel, ok := b.DockerfileInContext()
		if !ok {
			return spec.Layout{}, fmt.Errorf("%w: %q is not under %q and only the context is uploaded; move the Dockerfile into the context", ErrDockerfileOutsideContext, b.Dockerfile, b.Context)
		}
		url := stdinContext
		if o.Delivery == DeliverConfigMap {
			url = "tar://" + uploadTarPath
		}
		// kaniko unpacks a tar context and finds a relative Dockerfile
		// in it.
		return spec.Layout{ContextURL: url, Dockerfile: rel, DigestFile: spec.TerminationLog}, nil
	}
	return PodLayout(b, o.WorkspacePath)
}

// deliveryVolumes mounts the context the way o delivers it.
func deliveryVolumes(c *corev1.Container, b *spec.Build, o JobOptions) []corev1.Volume {
	if b.RemoteContext != "" {
		return nil
	}
	switch o.Delivery {
	case DeliverStdin:
		// Each attempt's container gets the stream once, through attach.
		c.Stdin, c.StdinOnce = true, true
		return nil
	case DeliverConfigMap:
		c.VolumeMounts = append(c.VolumeMounts, corev1.VolumeMount{Name: uploadVolume, MountPath: uploadDir, ReadOnly: true})
		return []corev1.Volume{{
			Name: uploadVolume,
			VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{
				LocalObjectReference: corev1.LocalObjectReference{Name: o.UploadConfigMap},
				Items:                []corev1.KeyToPath{{Key: UploadKey, Path: UploadKey}},
			}},
		}}
	}
	c.VolumeMounts = append(c.VolumeMounts, corev1.VolumeMount{Name: workspaceVolume, MountPath: spec.WorkspaceDir, ReadOnly: true})
	return []corev1.Volume{{
		Name: workspaceVolume,
		VolumeSource: corev1.VolumeSource{PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{
			ClaimName: o.workspaceClaim(),
			ReadOnly:  true,
		}},
	}}
}

// UploadConfigMap is the ConfigMap that carries a packed context.
func UploadConfigMap(p *PackedContext, namespace string) *corev1.ConfigMap {
	return &corev1.ConfigMap{
		TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "ConfigMap"},
		ObjectMeta: metav1.ObjectMeta{
			Name:      p.ConfigMapName(),
			Namespace: namespace,
			Labels:    map[string]string{LabelName: AppName, LabelManagedBy: ManagerName},
		},
		BinaryData: map[string][]byte{UploadKey: p.Bytes()},
	}
}

// BuildSecret is the Opaque Secret the Job mounts at spec.SecretsDir:
// one key per --secret id, holding values (read on this machine by the
// caller). It carries the Job's labels and namespace.
func BuildSecret(b *spec.Build, o JobOptions, values map[string][]byte) *corev1.Secret {
	meta := objectMeta(o, jobLabels(b, o))
	meta.Name, meta.GenerateName = o.BuildSecretName(), ""
	data := make(map[string][]byte, len(b.Secrets))
	for _, s := range b.Secrets {
		data[s.ID] = append([]byte(nil), values[s.ID]...)
	}
	return &corev1.Secret{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Secret"},
		ObjectMeta: meta,
		Type:       corev1.SecretTypeOpaque,
		Data:       data,
	}
}

// CreateSecretCommand is the kubectl line that creates the Job's build
// Secret from this machine's files and variables: it names them, never
// their values.
func CreateSecretCommand(b *spec.Build, o JobOptions) string {
	w := []string{"kubectl", "create", "secret", "generic", o.BuildSecretName()}
	if o.Namespace != "" {
		w = append(w, "-n", o.Namespace)
	}
	for i, a := range w {
		w[i] = plan.ShellQuote(a)
	}
	for _, s := range b.Secrets {
		if s.Env != "" {
			w = append(w, `--from-literal=`+s.ID+`="$`+s.Env+`"`)
		} else {
			w = append(w, plan.ShellQuote("--from-file="+s.ID+"="+s.File))
		}
	}
	return strings.Join(w, " ")
}

// localOnly refuses the outputs that only make sense on this machine.
func localOnly(b *spec.Build) error {
	switch {
	case b.Outputs.TarPath != "":
		return LocalOnly("tar")
	case b.Outputs.Load:
		return LocalOnly("load")
	case b.Outputs.DigestFile != "":
		return LocalOnly("digest-file")
	case b.Outputs.IIDFile != "":
		return LocalOnly("iidfile")
	case b.Outputs.MetadataFile != "":
		return LocalOnly("metadata-file")
	}
	return nil
}

// localOnlyFlags are the flags of a local build that mean nothing for a
// Job, with what to do instead: the one wording of every refusal.
var localOnlyFlags = map[string]string{
	"tar":           "--tar writes a file on this machine and a Job has none; push with --destination or run kanikorun build",
	"load":          "--load loads into the local Docker daemon and a Job has none; push with --destination or run kanikorun build",
	"digest-file":   "--digest-file writes a file on this machine; a Job reports the digest as its pod's termination message, so drop the flag",
	"iidfile":       "--iidfile writes a file on this machine; a Job reports the digest as its pod's termination message, so drop the flag",
	"metadata-file": "--metadata-file writes a file on this machine; a Job reports the digest as its pod's termination message, so drop the flag",
	"dry-run":       "--dry-run is for local builds; a Job is printed, not run: drop it",
	"network":       "--network is the local container's; a pod has the cluster's network: drop it",
	"timeout":       "--timeout bounds a local build; bound the Job with --active-deadline instead",
	"executor-pull": "--executor-pull says when the local daemon pulls the executor; the kubelet pulls it for a pod: drop it",
	"quiet":         "--quiet is for local builds; a Job is printed, not run: drop it",
	"progress":      "--progress is for local builds; a Job's executor always logs plain text, for kubectl logs: drop it",
}

// LocalOnlyFlags lists the local build flags a Job refuses, sorted.
func LocalOnlyFlags() []string {
	names := make([]string, 0, len(localOnlyFlags))
	for n := range localOnlyFlags {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// LocalOnly is the refusal of the local build flag name (without dashes)
// given for a Job; it wraps ErrLocalOnly.
func LocalOnly(name string) error {
	reason, ok := localOnlyFlags[name]
	if !ok {
		reason = "--" + name + " is for local builds: drop it"
	}
	return fmt.Errorf("%w: %s", ErrLocalOnly, reason)
}

func objectMeta(o JobOptions, labels map[string]string) metav1.ObjectMeta {
	m := metav1.ObjectMeta{Namespace: o.Namespace, Labels: labels}
	if o.GenerateName != "" {
		m.GenerateName = o.GenerateName
	} else {
		m.Name = o.JobName()
	}
	return m
}

func jobLabels(b *spec.Build, o JobOptions) map[string]string {
	l := map[string]string{
		LabelName:      AppName,
		LabelManagedBy: ManagerName,
	}
	// With generateName the instance's name is not known yet; the Job
	// controller labels the pods with the real one (job-name).
	if o.GenerateName == "" {
		l[LabelInstance] = o.JobName()
	}
	if dests := b.Destinations; len(dests) > 0 {
		if v := RepositoryLabelValue(dests[0]); v != "" {
			l[RepositoryLabel] = v
		}
	}
	return l
}

// RepositoryLabelValue turns an image reference into a valid label value
// naming its repository: registry and path with '/' as '_' and ':' as '-',
// cut to the last 63 characters (the repository's own name is the part
// worth keeping). It returns "" for a reference it cannot parse.
func RepositoryLabelValue(ref string) string {
	r, err := name.ParseReference(ref, name.WeakValidation)
	if err != nil {
		return ""
	}
	v := strings.NewReplacer("/", "_", ":", "-").Replace(r.Context().Name())
	var sb strings.Builder
	for _, c := range v {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '-', c == '_', c == '.':
			sb.WriteRune(c)
		default:
			sb.WriteByte('-')
		}
	}
	v = sb.String()
	if len(v) > validation.LabelValueMaxLength {
		v = v[len(v)-validation.LabelValueMaxLength:]
	}
	v = strings.TrimFunc(v, func(c rune) bool {
		return !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9')
	})
	if len(validation.IsValidLabelValue(v)) > 0 {
		return ""
	}
	return v
}

func setResources(c *corev1.Container, o JobOptions) error {
	list := corev1.ResourceList{}
	for _, r := range []struct {
		name corev1.ResourceName
		flag string
		v    string
	}{{corev1.ResourceCPU, "--cpu", o.CPU}, {corev1.ResourceMemory, "--memory", o.Memory}} {
		q, err := quantity(r.flag, r.v)
		if err != nil {
			return err
		}
		if q != nil {
			list[r.name] = *q
		}
	}
	if len(list) > 0 {
		c.Resources.Requests = list
		c.Resources.Limits = list.DeepCopy()
	}
	return nil
}

// checkDockerConfig makes sure the Secret gets a docker config, without
// ever quoting its content.
func checkDockerConfig(b []byte) error {
	if len(b) == 0 {
		return fmt.Errorf("%w: --with-secret needs the resolved credentials, and none were given; log in to the registry or drop --with-secret", ErrInvalidOptions)
	}
	var cfg struct {
		Auths map[string]json.RawMessage `json:"auths"`
	}
	if err := json.Unmarshal(b, &cfg); err != nil || cfg.Auths == nil {
		return fmt.Errorf("%w: the credentials for --with-secret are not a docker config with an \"auths\" object", ErrInvalidOptions)
	}
	return nil
}

func ptr[T any](v T) *T { return &v }
