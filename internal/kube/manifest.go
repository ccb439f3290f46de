package kube

import (
	"errors"
	"fmt"
	"sort"
	"strings"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Errors a caller of ReadManifest and Manifest.Plan can branch on.
var (
	// ErrNoWorkload marks a manifest without exactly one Job, Pod or
	// CronJob to replay.
	ErrNoWorkload = errors.New("no workload to replay")
	// ErrNoExecutor marks a pod in which no single container can be told
	// to be the executor.
	ErrNoExecutor = errors.New("no executor container")
)

// Manifest is the workload read from a manifest stream: the pod that runs
// the executor, with the Secrets and ConfigMaps that came along in the same
// stream (as in `kubectl get job,secret -o yaml`).
type Manifest struct {
	// Kind is the workload's kind: Job, Pod or CronJob.
	Kind string
	// Name is the workload's name, or its generateName prefix.
	Name string
	// Pod is the pod that runs the executor (a Job's or CronJob's
	// template, or the Pod's spec).
	Pod corev1.PodSpec
	// Secrets holds the stream's Secrets by name.
	Secrets map[string]*corev1.Secret
	// ConfigMaps holds the stream's ConfigMaps by name.
	ConfigMaps map[string]*corev1.ConfigMap
	// Ignored says what of the stream the replay leaves out, for the
	// caller to print after "ignoring ": the stream's other objects, e.g.
	// `v1 Service "web"`, and fields unknown to the k8s.io/api this binary
	// is built with, one line per object, e.g. `unknown fields in Job
	// "build-image": spec.futureKnob (newer than kanikorun's Kubernetes
	// API v1.37, or misspelt)`.
	Ignored []string
}

// ReadManifest reads a manifest stream (multi-document YAML, or JSON, or a
// v1 List) that holds one Job, Pod or CronJob. A manifest exported from a
// cluster newer than this binary's k8s.io/api carries fields these types
// do not have; replay must still run it, so such fields are dropped and
// listed in Ignored (DecodeLenient). Anything else is strict: a duplicated
// field, a wrong type or bad YAML is an ErrBadManifest.
func ReadManifest(data []byte) (*Manifest, error) {
	objs, unknown, err := DecodeLenient(data)
	if err != nil {
		return nil, err
	}
	m := &Manifest{Secrets: map[string]*corev1.Secret{}, ConfigMaps: map[string]*corev1.ConfigMap{}, Ignored: unknown}
	var workloads []string
	for _, o := range objs {
		switch v := o.(type) {
		case *batchv1.Job:
			m.Kind, m.Name, m.Pod = "Job", nameOf(v.ObjectMeta), v.Spec.Template.Spec
			workloads = append(workloads, fmt.Sprintf("Job %q", m.Name))
		case *batchv1.CronJob:
			m.Kind, m.Name, m.Pod = "CronJob", nameOf(v.ObjectMeta), v.Spec.JobTemplate.Spec.Template.Spec
			workloads = append(workloads, fmt.Sprintf("CronJob %q", m.Name))
		case *corev1.Pod:
			m.Kind, m.Name, m.Pod = "Pod", nameOf(v.ObjectMeta), v.Spec
			workloads = append(workloads, fmt.Sprintf("Pod %q", m.Name))
		case *corev1.Secret:
			m.Secrets[v.Name] = v
		case *corev1.ConfigMap:
			m.ConfigMaps[v.Name] = v
		case *metav1.PartialObjectMetadata:
			m.Ignored = append(m.Ignored, fmt.Sprintf("%s %s %q", v.APIVersion, v.Kind, nameOf(v.ObjectMeta)))
		default:
			gvk := o.GetObjectKind().GroupVersionKind()
			desc := fmt.Sprintf("%s %s", gvk.GroupVersion(), gvk.Kind)
			if mo, ok := o.(metav1.Object); ok {
				desc += fmt.Sprintf(" %q", mo.GetName())
			}
			m.Ignored = append(m.Ignored, desc)
		}
	}
	switch len(workloads) {
	case 0:
		return nil, fmt.Errorf("%w: the manifest holds no Job, Pod or CronJob; pass the file that runs the executor", ErrNoWorkload)
	case 1:
		return m, nil
	}
	return nil, fmt.Errorf("%w: the manifest holds %d workloads (%s); pass a file with only the one to replay", ErrNoWorkload, len(workloads), strings.Join(workloads, ", "))
}

func nameOf(m metav1.ObjectMeta) string {
	if m.Name != "" {
		return m.Name
	}
	return m.GenerateName
}

// Container returns the executor container: the one called name when name
// is given; otherwise the only container, or else the one container whose
// image names kaniko (or, failing that, the one naming an executor). Init
// containers are never chosen: they prepare, they do not build.
func (m *Manifest) Container(name string) (*corev1.Container, error) {
	cs := m.Pod.Containers
	if name != "" {
		for i := range cs {
			if cs[i].Name == name {
				return &cs[i], nil
			}
		}
		return nil, fmt.Errorf("%w: %s %q has no container %q; pick one of %s", ErrNoExecutor, m.Kind, m.Name, name, containerNames(cs))
	}
	switch len(cs) {
	case 0:
		return nil, fmt.Errorf("%w: %s %q has no containers", ErrNoExecutor, m.Kind, m.Name)
	case 1:
		return &cs[0], nil
	}
	for _, word := range []string{"kaniko", "executor"} {
		var hits []int
		for i := range cs {
			if strings.Contains(strings.ToLower(cs[i].Image), word) {
				hits = append(hits, i)
			}
		}
		if len(hits) == 1 {
			return &cs[hits[0]], nil
		}
		if len(hits) > 1 {
			break
		}
	}
	return nil, fmt.Errorf("%w: %s %q has %d containers (%s) and no single kaniko image among them; name the executor with --container", ErrNoExecutor, m.Kind, m.Name, len(cs), containerNames(cs))
}

func containerNames(cs []corev1.Container) string {
	names := make([]string, len(cs))
	for i, c := range cs {
		names[i] = fmt.Sprintf("%q", c.Name)
	}
	sort.Strings(names)
	return strings.Join(names, ", ")
}
