package cluster

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kanikorun/kanikorun/internal/kube"
)

// Status reads the live Job: its state (the same logic as `status FILE`),
// attempts, digest and why it does not run.
func (c *Client) Status(ctx context.Context, name string) (*Outcome, error) {
	job, err := c.jobs().Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return nil, c.apiError(err, "get", "jobs", name)
	}
	return c.outcome(ctx, job), nil
}

// Wait waits for the Job's end without its logs; see Follow.
func (c *Client) Wait(ctx context.Context, name string, timeout time.Duration, notes io.Writer) (*Outcome, error) {
	return c.Follow(ctx, name, FollowOptions{Logs: notes, Timeout: timeout, Quiet: true})
}

// LogsOptions say which logs.
type LogsOptions struct {
	// Follow streams the latest attempt until it ends.
	Follow bool
	// AllAttempts prints every attempt, in order, each under a header;
	// else only the latest.
	AllAttempts bool
}

// Logs writes the executor's logs from the Job's pods in attempt order. A
// pod whose executor has not started says "not started yet: REASON".
func (c *Client) Logs(ctx context.Context, name string, o LogsOptions, w io.Writer) error {
	if _, err := c.jobs().Get(ctx, name, metav1.GetOptions{}); err != nil {
		return c.apiError(err, "get", "jobs", name)
	}
	list, err := c.pods().List(ctx, metav1.ListOptions{LabelSelector: jobNameLabel + "=" + name})
	if err != nil {
		return c.apiError(err, "list", "pods", name)
	}
	pods := list.Items
	sortPods(pods)
	if len(pods) == 0 {
		fmt.Fprintln(w, "not started yet: the Job has no pod yet")
		return nil
	}
	if !o.AllAttempts {
		pods = pods[len(pods)-1:]
	}
	for i := range pods {
		p := &pods[i]
		if o.AllAttempts {
			fmt.Fprintf(w, "--- attempt %d: pod %s\n", attemptOf(list.Items, p), p.Name)
		}
		st := executorStatus(p)
		if st == nil || (st.State.Running == nil && st.State.Terminated == nil) {
			why := whyNotRunning(p, nil)
			if why == "" {
				why = string(p.Status.Phase)
				if st != nil && st.State.Waiting != nil {
					why = st.State.Waiting.Reason
				}
			}
			fmt.Fprintf(w, "not started yet: %s\n", why)
			continue
		}
		follow := o.Follow && i == len(pods)-1
		rc, err := c.podLogs(p.Name, &corev1.PodLogOptions{Container: kube.ContainerName, Follow: follow}).Stream(ctx)
		if err != nil {
			return c.apiError(err, "get", "pods/log", p.Name)
		}
		_, err = io.Copy(w, rc)
		rc.Close()
		if err != nil {
			return err
		}
	}
	return nil
}

func attemptOf(sorted []corev1.Pod, p *corev1.Pod) int {
	for i := range sorted {
		if sorted[i].Name == p.Name {
			return i + 1
		}
	}
	return 0
}

// Entry is one build in the queue.
type Entry struct {
	Name        string        `json:"name"`
	State       kube.State    `json:"state"`
	Reason      string        `json:"reason,omitempty"`
	Attempts    int           `json:"attempts"`
	MaxAttempts int           `json:"maxAttempts"`
	Age         time.Duration `json:"age"`
	Duration    time.Duration `json:"duration,omitempty"`
	Destination string        `json:"destination,omitempty"`
	Digest      string        `json:"digest,omitempty"`
}

// List returns the builds kanikorun submitted in the namespace (by the
// managed-by label), oldest first.
func (c *Client) List(ctx context.Context) ([]Entry, error) {
	sel := kube.LabelManagedBy + "=" + kube.ManagerName
	jobs, err := c.jobs().List(ctx, metav1.ListOptions{LabelSelector: sel})
	if err != nil {
		return nil, c.apiError(err, "list", "jobs", "")
	}
	pods, err := c.pods().List(ctx, metav1.ListOptions{LabelSelector: sel})
	if err != nil {
		return nil, c.apiError(err, "list", "pods", "")
	}
	byJob := map[string][]corev1.Pod{}
	for _, p := range pods.Items {
		byJob[p.Labels[jobNameLabel]] = append(byJob[p.Labels[jobNameLabel]], p)
	}
	now := time.Now()
	var out []Entry
	items := jobs.Items
	sortJobs(items)
	for i := range items {
		j := &items[i]
		st := kube.JobStatus(j)
		e := Entry{Name: j.Name, State: st.State, Reason: st.Reason, Age: now.Sub(j.CreationTimestamp.Time).Round(time.Second), Destination: destinationOf(j)}
		if j.Spec.BackoffLimit != nil {
			e.MaxAttempts = int(*j.Spec.BackoffLimit) + 1
		}
		ps := byJob[j.Name]
		e.Attempts = attempts(j, len(ps))
		for k := range ps {
			if s := executorStatus(&ps[k]); s != nil && s.State.Terminated != nil && s.State.Terminated.ExitCode == 0 {
				e.Digest = strings.TrimSpace(s.State.Terminated.Message)
			}
		}
		if j.Status.StartTime != nil {
			end := now
			if j.Status.CompletionTime != nil {
				end = j.Status.CompletionTime.Time
			} else if st.State == kube.StateFailed {
				for _, cnd := range j.Status.Conditions {
					if cnd.Type == batchv1.JobFailed {
						end = cnd.LastTransitionTime.Time
					}
				}
			}
			e.Duration = end.Sub(j.Status.StartTime.Time).Round(time.Second)
		}
		out = append(out, e)
	}
	return out, nil
}

func sortJobs(jobs []batchv1.Job) {
	for i := 1; i < len(jobs); i++ {
		for k := i; k > 0 && (jobs[k].CreationTimestamp.Before(&jobs[k-1].CreationTimestamp) ||
			jobs[k].CreationTimestamp.Equal(&jobs[k-1].CreationTimestamp) && jobs[k].Name < jobs[k-1].Name); k-- {
			jobs[k], jobs[k-1] = jobs[k-1], jobs[k]
		}
	}
}

// destinationOf reads the first --destination of the executor's arguments.
func destinationOf(j *batchv1.Job) string {
	for _, c := range j.Spec.Template.Spec.Containers {
		if c.Name != kube.ContainerName {
			continue
		}
		for _, a := range c.Args {
			if d, ok := strings.CutPrefix(a, "--destination="); ok {
				return d
			}
		}
	}
	return ""
}

// Cancel deletes the Job in the foreground: its pods go first, then the
// Job, and the garbage collector takes its Secret and the ConfigMaps no
// other Job owns.
func (c *Client) Cancel(ctx context.Context, name string) error {
	fg := metav1.DeletePropagationForeground
	if err := c.jobs().Delete(ctx, name, metav1.DeleteOptions{PropagationPolicy: &fg}); err != nil {
		return c.apiError(err, "delete", "jobs", name)
	}
	return nil
}
