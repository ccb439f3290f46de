package kube

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
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
	if c := cond(batchv1.JobSuspended); c != nil {
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

func collectJobs(doc []byte, jobs *[]*batchv1.Job, others *[]string) error {
	var head struct {
		metav1.TypeMeta `json:",inline"`
		Items           []runtime.RawExtension `json:"items"`
	}
	if err := yaml.Unmarshal(doc, &head); err != nil {
		return fmt.Errorf("%w: reading the Job: %s", ErrBadManifest, oneLine(err))
	}
	switch {
	case head.Kind == "Job" && strings.HasPrefix(head.APIVersion, "batch/"):
		var j batchv1.Job
		if err := yaml.Unmarshal(doc, &j); err != nil {
			return fmt.Errorf("%w: reading the Job: %s", ErrBadManifest, oneLine(err))
		}
		*jobs = append(*jobs, &j)
	case head.Kind == "List" || head.Kind == "JobList":
		for _, it := range head.Items {
			item := it.Raw
			if head.Kind == "JobList" {
				// Items of a typed list carry no kind of their own.
				var j batchv1.Job
				if err := yaml.Unmarshal(item, &j); err != nil {
					return fmt.Errorf("%w: reading the Job: %s", ErrBadManifest, oneLine(err))
				}
				*jobs = append(*jobs, &j)
				continue
			}
			if err := collectJobs(item, jobs, others); err != nil {
				return err
			}
		}
	case head.Kind == "":
		*others = append(*others, "an object without kind")
	default:
		*others = append(*others, "a "+head.Kind)
	}
	return nil
}
