package kube

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/strategicpatch"
	"sigs.k8s.io/yaml"
)

// ErrBadOverride marks an --overrides patch that cannot be applied or
// whose result is not a valid Job.
var ErrBadOverride = errors.New("bad override")

// applyOverrides applies a strategic-merge patch to the Job, as kubectl
// run --overrides --override-type=strategic does (no apiVersion or kind
// needed), and decodes the result strictly: an unknown field is an error,
// not silently dropped. The executor container's image, command and
// arguments must come out unchanged: they are the build, and the build is
// said with kanikorun's flags.
func applyOverrides(job *batchv1.Job, patch []byte) (*batchv1.Job, error) {
	pj, err := yaml.YAMLToJSON(patch)
	if err != nil {
		return nil, fmt.Errorf("%w: --overrides is not JSON or YAML: %s", ErrBadOverride, oneLine(err))
	}
	var obj map[string]any
	if err := json.Unmarshal(pj, &obj); err != nil || obj == nil {
		return nil, fmt.Errorf("%w: --overrides must be a JSON object, like '{\"spec\":{\"template\":{\"spec\":{\"hostNetwork\":true}}}}'", ErrBadOverride)
	}
	orig, err := json.Marshal(job)
	if err != nil {
		return nil, err
	}
	merged, err := strategicpatch.StrategicMergePatch(orig, pj, batchv1.Job{})
	if err != nil {
		return nil, fmt.Errorf("%w: applying --overrides: %s", ErrBadOverride, oneLine(err))
	}
	dec := json.NewDecoder(bytes.NewReader(merged))
	dec.DisallowUnknownFields()
	var out batchv1.Job
	if err := dec.Decode(&out); err != nil {
		return nil, fmt.Errorf("%w: the Job after --overrides is not valid: %s; check the field names against `kubectl explain job.spec`", ErrBadOverride, oneLine(err))
	}
	before, after := executor(job), executor(&out)
	if after == nil || !reflect.DeepEqual(before.Args, after.Args) || !reflect.DeepEqual(before.Command, after.Command) || before.Image != after.Image {
		return nil, fmt.Errorf("%w: --overrides may not change the executor container's image, command or arguments; pass them as kanikorun flags (or after --)", ErrBadOverride)
	}
	return &out, nil
}

// executor finds the executor container of a Job.
func executor(job *batchv1.Job) *corev1.Container {
	for i := range job.Spec.Template.Spec.Containers {
		if c := &job.Spec.Template.Spec.Containers[i]; c.Name == ContainerName {
			return c
		}
	}
	return nil
}
