package kube

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strings"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"
)

// State is the one word a Job's status comes down to.
type State string

// The states of a Job, and the exit codes `kanikorun status` returns.
const (
	// StateComplete: the Complete condition is True. Exit code 0.
	StateComplete State = "Complete"
	// StateFailed: the Failed condition is True. Exit code 1.
	StateFailed State = "Failed"
	// StateSuspended: spec.suspend is set or Suspended is True. Exit code 2.
	StateSuspended State = "Suspended"
	// StateRunning: anything else, including a Job whose interim
	// SuccessCriteriaMet or FailureTarget condition is True while its pods
	// terminate. Exit code 2.
	StateRunning State = "Running"
)

// ErrNotAJob marks status input that does not hold exactly one Job.
var ErrNotAJob = errors.New("not a single Job")

// Status is a Job's state and the condition that decided it.
type Status struct {
	// Name is the Job's name.
	Name string
	// State is the Job's state.
	State State
	// Condition is the type of the condition that decided State; empty
	// when none did (a running Job without conditions, or spec.suspend
	// before the controller noticed it).
	Condition string
	// Reason is the deciding condition's reason, e.g. BackoffLimitExceeded.
	Reason string
	// Message is the deciding condition's message.
	Message string
	// ExitCode is 0 for Complete, 1 for Failed, 2 while not finished.
	ExitCode int
}

// String is the one line `kanikorun status` prints: the state, the interim
// condition when one decided a Running state, then reason and message.
func (s Status) String() string {
	var b strings.Builder
	b.WriteString(string(s.State))
	if s.Condition != "" && s.Condition != string(s.State) {
		fmt.Fprintf(&b, " (%s)", s.Condition)
	}
	if s.Reason != "" {
		b.WriteString(" " + s.Reason)
	}
	if s.Message != "" {
		b.WriteString(": " + s.Message)
	}
	return b.String()
}

// ParseStatus reads a Job (YAML or JSON: the object itself, `kubectl get job
// NAME -o json`, or a List holding one Job) and says what state it is in.
// Conditions are looked up by type, never by position: since Kubernetes
// 1.31 the first condition of a finished Job is usually the interim
// SuccessCriteriaMet or FailureTarget, so `(index .status.conditions 0).type`
// is not a status. Only Complete=True and Failed=True mean finished.
//
// Decoding is lenient (unlike ReadManifest): status from a newer cluster
// may carry fields this build does not know, and they do not matter here.
func ParseStatus(data []byte) (Status, error) {
	job, err := readJob(data)
	if err != nil {
		return Status{}, err
	}
	return JobStatus(job), nil
}

// JobStatus decides the state of a decoded Job; see ParseStatus.
func JobStatus(job *batchv1.Job) Status {
	st := Status{Name: job.Name}
	cond := func(t batchv1.JobConditionType) *batchv1.JobCondition {
		for i := range job.Status.Conditions {
			c := &job.Status.Conditions[i]
			if c.Type == t && c.Status == corev1.ConditionTrue {
				return c
			}
		}
		return nil
	}
	decide := func(s State, code int, c *batchv1.JobCondition) Status {
		st.State, st.ExitCode = s, code
		if c != nil {
			st.Condition, st.Reason, st.Message = string(c.Type), c.Reason, c.Message
		}
		return st
	}
	// Failed before Complete: the controller never sets both, and if a
	// broken object did, claiming success would be the worse mistake.
	if c := cond(batchv1.JobFailed); c != nil {
		return decide(StateFailed, 1, c)
	}
	if c := cond(batchv1.JobComplete); c != nil {
		return decide(StateComplete, 0, c)
	}
	// A Job just resumed (spec.suspend false) keeps Suspended=True until
	// the controller notices: it is running, not suspended.
	resumed := job.Spec.Suspend != nil && !*job.Spec.Suspend
	if c := cond(batchv1.JobSuspended); c != nil && !resumed {
		return decide(StateSuspended, 2, c)
	}
	if job.Spec.Suspend != nil && *job.Spec.Suspend {
		return decide(StateSuspended, 2, nil)
	}
	if c := cond(batchv1.JobFailureTarget); c != nil {
		return decide(StateRunning, 2, c)
	}
	if c := cond(batchv1.JobSuccessCriteriaMet); c != nil {
		return decide(StateRunning, 2, c)
	}
	return decide(StateRunning, 2, nil)
}

// readJob finds the one Job in status input, leniently.
func readJob(data []byte) (*batchv1.Job, error) {
	r := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(data)))
	var jobs []*batchv1.Job
	var others []string
	for {
		doc, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%w: reading the Job: %s", ErrBadManifest, oneLine(err))
		}
		if isEmptyDoc(doc) {
			continue
		}
		if err := collectJobs(doc, &jobs, &others); err != nil {
			return nil, err
		}
	}
	switch {
	case len(jobs) == 1:
		return jobs[0], nil
	case len(jobs) > 1:
		return nil, fmt.Errorf("%w: the input holds %d Jobs; pass one, like `kubectl get job NAME -o json`", ErrNotAJob, len(jobs))
	case len(others) > 0:
		return nil, fmt.Errorf("%w: the input holds %s and no Job; pass `kubectl get job NAME -o json`", ErrNotAJob, strings.Join(others, ", "))
	}
	return nil, fmt.Errorf("%w: the input is empty; pass `kubectl get job NAME -o json`", ErrNotAJob)
}

// collectJobs sorts one YAML document into Jobs and descriptions of what
// else it holds. Decoding goes through encoding/json directly so that a
// value of the wrong type is reported by field and JSON kind, never with
// the Go type it was meant for ("struct { v1.TypeMeta ...").
func collectJobs(doc []byte, jobs *[]*batchv1.Job, others *[]string) error {
	js, err := yaml.YAMLToJSON(doc)
	if err != nil {
		return fmt.Errorf("%w: reading the Job: %s; pass `kubectl get job NAME -o json`", ErrBadManifest, oneLine(err))
	}
	if jsonKind(js) == "a string" {
		// A Dockerfile, a log or a typo'd file name read as YAML.
		*others = append(*others, "plain text")
		return nil
	}
	return collectJSON(js, jobs, others)
}

func collectJSON(js []byte, jobs *[]*batchv1.Job, others *[]string) error {
	var obj map[string]json.RawMessage
	if json.Unmarshal(js, &obj) != nil || obj == nil {
		*others = append(*others, jsonKind(js))
		return nil
	}
	var kind, apiVersion string
	for _, f := range []struct {
		name string
		dst  *string
	}{{"kind", &kind}, {"apiVersion", &apiVersion}} {
		if raw, ok := obj[f.name]; ok && json.Unmarshal(raw, f.dst) != nil {
			return fmt.Errorf("%w: reading the Job: field %q holds %s where a string belongs; pass `kubectl get job NAME -o json`", ErrBadManifest, f.name, jsonKind(raw))
		}
	}
	switch {
	case kind == "Job" && strings.HasPrefix(apiVersion, "batch/"):
		return decodeJob(js, jobs)
	case kind == "List" || kind == "JobList":
		var items []json.RawMessage
		if raw, ok := obj["items"]; ok && json.Unmarshal(raw, &items) != nil {
			return fmt.Errorf("%w: reading the Job: field \"items\" of the %s holds %s where a list belongs; pass `kubectl get job NAME -o json`", ErrBadManifest, kind, jsonKind(raw))
		}
		for _, item := range items {
			if kind == "JobList" {
				// Items of a typed list carry no kind of their own.
				if err := decodeJob(item, jobs); err != nil {
					return err
				}
				continue
			}
			if err := collectJSON(item, jobs, others); err != nil {
				return err
			}
		}
	case kind == "":
		*others = append(*others, "an object without kind")
	default:
		*others = append(*others, "a "+kind)
	}
	return nil
}

// decodeJob decodes one Job, naming a mistyped field by its path.
func decodeJob(js []byte, jobs *[]*batchv1.Job) error {
	var j batchv1.Job
	err := json.Unmarshal(js, &j)
	var te *json.UnmarshalTypeError
	switch {
	case err == nil:
		*jobs = append(*jobs, &j)
		return nil
	case errors.As(err, &te) && te.Field != "":
		return fmt.Errorf("%w: reading the Job: field %q holds %s where %s belongs; pass `kubectl get job NAME -o json`", ErrBadManifest, te.Field, jsonValueKind(te.Value), goKind(te.Type))
	case errors.As(err, &te):
		return fmt.Errorf("%w: reading the Job: it is %s, not an object; pass `kubectl get job NAME -o json`", ErrBadManifest, jsonValueKind(te.Value))
	}
	return fmt.Errorf("%w: reading the Job: %s; pass `kubectl get job NAME -o json`", ErrBadManifest, oneLine(err))
}

// jsonKind names the kind of a JSON value for users.
func jsonKind(js []byte) string {
	s := bytes.TrimSpace(js)
	if len(s) == 0 {
		return "nothing"
	}
	switch s[0] {
	case '{':
		return "an object"
	case '[':
		return "a list"
	case '"':
		return "a string"
	case 't', 'f':
		return "true or false"
	case 'n':
		return "null"
	}
	return "a number"
}

// jsonValueKind turns json.UnmarshalTypeError's Value into jsonKind's words.
func jsonValueKind(v string) string {
	switch {
	case v == "object":
		return "an object"
	case v == "array":
		return "a list"
	case v == "string":
		return "a string"
	case v == "bool":
		return "true or false"
	case v == "number" || strings.HasPrefix(v, "number "):
		return "a number"
	}
	return "a value"
}

// goKind says what JSON a Go type takes, in words without Go type names.
func goKind(t reflect.Type) string {
	if t == nil {
		return "another value"
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.Struct, reflect.Map:
		return "an object"
	case reflect.Slice, reflect.Array:
		return "a list"
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64,
		reflect.Float32, reflect.Float64:
		return "a number"
	}
	return "another value"
}
