package cluster

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/tools/remotecommand"

	"github.com/kanikorun/kanikorun/internal/kube"
)

// jobNameLabel is the label the Job controller puts on its pods.
const jobNameLabel = "batch.kubernetes.io/job-name"

// ErrNotFinished: the build was still running when the wait ended.
var ErrNotFinished = errors.New("not finished")

// BuildFailed is a Job that ended Failed; Code is the executor's exit
// code in its last attempt (1 when none is known).
type BuildFailed struct {
	Code int
}

func (e *BuildFailed) Error() string { return "" }

// Outcome is what a Job came to, or has come to so far.
type Outcome struct {
	// Status is the Job's state, decided as for `kanikorun status FILE`.
	Status kube.Status
	// Attempts is how many pods the Job started; MaxAttempts is
	// backoffLimit + 1.
	Attempts, MaxAttempts int
	// Digest is the image digest from the executor's termination message.
	Digest string
	// ExitCode is the executor's exit code in the last finished attempt;
	// -1 when none finished.
	ExitCode int
	// Why says why the build is not running (or why it ended), with a
	// hint; empty when nothing is wrong.
	Why string
}

// String is the status line: the state line of `status FILE`, the
// attempts, and why.
func (o *Outcome) String() string {
	s := o.Status.String()
	if o.MaxAttempts > 0 {
		s += fmt.Sprintf(" (attempts %d of %d)", o.Attempts, o.MaxAttempts)
	}
	if o.Why != "" {
		s += "\n" + o.Why
	}
	return s
}

// FollowOptions say how to follow a build.
type FollowOptions struct {
	// Logs receives the executor's output and kanikorun's notes.
	Logs io.Writer
	// Context is fed to each attempt's stdin when the Job reads it from
	// there; nil otherwise.
	Context *kube.PackedContext
	// Timeout ends the wait with ErrNotFinished; zero waits for the end.
	Timeout time.Duration
	// Quiet leaves the logs out (kanikorun wait).
	Quiet bool
}

// Follow watches the Job until it is Complete or Failed: it streams each
// attempt's logs as soon as the executor starts, feeds a streamed context
// to each attempt, and says in one line why a pod does not run when it is
// stuck. It returns the outcome; a failed build comes with *BuildFailed,
// an expired Timeout with ErrNotFinished (and the reason it is pending).
func (c *Client) Follow(ctx context.Context, name string, o FollowOptions) (*Outcome, error) {
	if o.Logs == nil {
		o.Logs = io.Discard
	}
	// Log streams, the stdin feed and the diagnosis all write here.
	o.Logs = &syncWriter{w: o.Logs}
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	if o.Timeout > 0 {
		var c2 context.CancelFunc
		wctx, c2 = context.WithTimeout(wctx, o.Timeout)
		defer c2()
	}
	f := &follower{c: c, name: name, o: o, streamed: map[string]bool{}, attached: map[string]bool{}}
	job, err := c.jobs().Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return nil, c.apiError(err, "get", "jobs", name)
	}
	ended := func() (*Outcome, error) {
		out := c.outcome(context.WithoutCancel(ctx), job)
		if ctx.Err() != nil {
			return out, ctx.Err()
		}
		return out, ErrNotFinished
	}
	// Watches start at resourceVersion 0 (the watch cache's state, no
	// round trip to etcd): an unset one asks for a consistent read, which
	// an etcd without progress notifications can hold up for seconds.
	jw, err := c.jobs().Watch(wctx, metav1.ListOptions{
		FieldSelector: fields.OneTermEqualSelector("metadata.name", name).String(), ResourceVersion: job.ResourceVersion,
	})
	if err != nil {
		if wctx.Err() != nil {
			return ended()
		}
		return nil, c.apiError(err, "watch", "jobs", name)
	}
	defer jw.Stop()
	pw, err := c.pods().Watch(wctx, metav1.ListOptions{LabelSelector: jobNameLabel + "=" + name, ResourceVersion: "0"})
	if err != nil {
		if wctx.Err() != nil {
			return ended()
		}
		return nil, c.apiError(err, "watch", "pods", name)
	}
	defer pw.Stop()
	ew, err := c.events().Watch(wctx, metav1.ListOptions{FieldSelector: "involvedObject.kind=Pod", ResourceVersion: "0"})
	if err != nil {
		ew = watch.NewEmptyWatch() // events are a nicety
	}
	defer ew.Stop()

	pods := map[string]*corev1.Pod{}
	events := map[string][]corev1.Event{}
	lastWhy := ""
	for !finished(job) {
		select {
		case <-wctx.Done():
			return ended()
		case ev, ok := <-jw.ResultChan():
			if !ok && wctx.Err() != nil {
				return ended()
			}
			if !ok {
				if jw, err = c.rewatchJob(wctx, name); err != nil {
					if wctx.Err() != nil {
						return ended()
					}
					return nil, err
				}
				continue
			}
			if j, isJob := ev.Object.(*batchv1.Job); isJob {
				if ev.Type == watch.Deleted {
					return nil, fmt.Errorf("%w: Job %q was deleted while kanikorun waited (kanikorun cancel?)", ErrNoJob, name)
				}
				job = j
			}
		case ev, ok := <-pw.ResultChan():
			if !ok && wctx.Err() != nil {
				return ended()
			}
			if !ok {
				if pw, err = c.pods().Watch(wctx, metav1.ListOptions{LabelSelector: jobNameLabel + "=" + name, ResourceVersion: "0"}); err != nil {
					if wctx.Err() != nil {
						return ended()
					}
					return nil, c.apiError(err, "watch", "pods", name)
				}
				continue
			}
			p, isPod := ev.Object.(*corev1.Pod)
			if !isPod {
				continue
			}
			pods[p.Name] = p
			f.pod(wctx, p)
		case ev, ok := <-ew.ResultChan():
			if !ok {
				ew = watch.NewEmptyWatch()
				continue
			}
			if e, isEvent := ev.Object.(*corev1.Event); isEvent {
				// Kept by pod name even before the pod is seen (the watch
				// starts with the namespace's events); only warnings matter.
				if e.Type == corev1.EventTypeWarning && strings.HasPrefix(e.InvolvedObject.Name, name+"-") {
					events[e.InvolvedObject.Name] = append(events[e.InvolvedObject.Name], *e)
				}
			}
		}
		if why := whyNotRunning(latestPod(pods), events); why != "" && why != lastWhy && !o.Quiet {
			fmt.Fprintf(o.Logs, "kanikorun: %s\n", why)
			lastWhy = why
		} else if why == "" {
			lastWhy = ""
		}
	}
	// The last attempt's log stream ends with its container.
	f.wait(5 * time.Second)
	out := c.outcome(ctx, job)
	if out.Status.State == kube.StateFailed {
		// The executor's own code when an attempt's failure ended the
		// Job; 1 when the cluster ended it (deadline, deletion).
		code := out.ExitCode
		if r := out.Status.Reason; code <= 0 || r != batchv1.JobReasonBackoffLimitExceeded && r != batchv1.JobReasonPodFailurePolicy {
			code = 1
		}
		return out, &BuildFailed{Code: code}
	}
	return out, nil
}

func (c *Client) rewatchJob(ctx context.Context, name string) (watch.Interface, error) {
	w, err := c.jobs().Watch(ctx, metav1.ListOptions{FieldSelector: fields.OneTermEqualSelector("metadata.name", name).String(), ResourceVersion: "0"})
	if err != nil {
		return nil, c.apiError(err, "watch", "jobs", name)
	}
	return w, nil
}

func finished(job *batchv1.Job) bool {
	st := kube.JobStatus(job).State
	return st == kube.StateComplete || st == kube.StateFailed
}

// follower streams logs and feeds stdin, once per pod.
type follower struct {
	c        *Client
	name     string
	o        FollowOptions
	mu       sync.Mutex
	streamed map[string]bool
	attached map[string]bool
	wg       sync.WaitGroup
}

func (f *follower) pod(ctx context.Context, p *corev1.Pod) {
	st := executorStatus(p)
	if st == nil {
		return
	}
	started := st.State.Running != nil || st.State.Terminated != nil
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.o.Context != nil && st.State.Running != nil && !f.attached[p.Name] {
		f.attached[p.Name] = true
		go f.attach(ctx, p.Name)
	}
	if started && !f.streamed[p.Name] && !f.o.Quiet {
		f.streamed[p.Name] = true
		f.wg.Add(1)
		go func() {
			defer f.wg.Done()
			rc, err := f.c.podLogs(p.Name, &corev1.PodLogOptions{Container: kube.ContainerName, Follow: true}).Stream(ctx)
			if err != nil {
				fmt.Fprintf(f.o.Logs, "kanikorun: reading the logs of %s: %s\n", p.Name, firstLine(err.Error()))
				return
			}
			defer rc.Close()
			_, _ = io.Copy(f.o.Logs, rc)
		}()
	}
}

// attach streams the context to the executor's stdin; stdinOnce closes it
// at the end of the stream.
func (f *follower) attach(ctx context.Context, pod string) {
	req := f.c.podAttach(pod, &corev1.PodAttachOptions{Container: kube.ContainerName, Stdin: true})
	exec, err := remotecommand.NewSPDYExecutor(f.c.Config, "POST", req.URL())
	if err != nil {
		fmt.Fprintf(f.o.Logs, "kanikorun: attaching to %s: %s\n", pod, firstLine(err.Error()))
		return
	}
	rc, err := f.o.Context.Open()
	if err != nil {
		fmt.Fprintf(f.o.Logs, "kanikorun: reading the packed context: %s\n", err)
		return
	}
	defer rc.Close()
	start := time.Now()
	if err := exec.StreamWithContext(ctx, remotecommand.StreamOptions{Stdin: rc}); err != nil {
		if ctx.Err() == nil {
			fmt.Fprintf(f.o.Logs, "kanikorun: streaming the context to %s: %s\n", pod, firstLine(err.Error()))
		}
		return
	}
	d := time.Since(start)
	mib := float64(f.o.Context.Size) / (1 << 20)
	fmt.Fprintf(f.o.Logs, "kanikorun: context: sent %.1f MiB to %s in %s (%.1f MiB/s)\n", mib, pod, d.Round(time.Millisecond), mib/d.Seconds())
}

func (f *follower) wait(limit time.Duration) {
	done := make(chan struct{})
	go func() { f.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(limit):
	}
}

func executorStatus(p *corev1.Pod) *corev1.ContainerStatus {
	for i := range p.Status.ContainerStatuses {
		if p.Status.ContainerStatuses[i].Name == kube.ContainerName {
			return &p.Status.ContainerStatuses[i]
		}
	}
	return nil
}

func latestPod(pods map[string]*corev1.Pod) *corev1.Pod {
	var latest *corev1.Pod
	for _, p := range pods {
		if latest == nil || p.CreationTimestamp.After(latest.CreationTimestamp.Time) ||
			p.CreationTimestamp.Equal(&latest.CreationTimestamp) && p.Name > latest.Name {
			latest = p
		}
	}
	return latest
}

// attempts is how many times the Job has run its pod: the pods it still
// has, or its own count where that is more, since a deleted pod (kubectl
// delete pod) still counts against the backoff limit but is gone from
// the list.
func attempts(job *batchv1.Job, pods int) int {
	return max(pods, int(job.Status.Succeeded+job.Status.Failed+job.Status.Active))
}

// sortPods orders pods by attempt: creation time, then name.
func sortPods(pods []corev1.Pod) {
	sort.SliceStable(pods, func(i, j int) bool {
		a, b := pods[i].CreationTimestamp, pods[j].CreationTimestamp
		if !a.Equal(&b) {
			return a.Before(&b)
		}
		return pods[i].Name < pods[j].Name
	})
}

// outcome reads the Job's pods for the attempts, the digest and the exit
// code, and the events for why it does not run.
func (c *Client) outcome(ctx context.Context, job *batchv1.Job) *Outcome {
	out := &Outcome{Status: kube.JobStatus(job), ExitCode: -1}
	if job.Spec.BackoffLimit != nil {
		out.MaxAttempts = int(*job.Spec.BackoffLimit) + 1
	}
	list, err := c.pods().List(ctx, metav1.ListOptions{LabelSelector: jobNameLabel + "=" + job.Name})
	if err != nil {
		out.Attempts = int(job.Status.Succeeded + job.Status.Failed + job.Status.Active)
		return out
	}
	pods := list.Items
	sortPods(pods)
	out.Attempts = attempts(job, len(pods))
	for i := range pods {
		st := executorStatus(&pods[i])
		if st == nil || st.State.Terminated == nil {
			continue
		}
		t := st.State.Terminated
		out.ExitCode = int(t.ExitCode)
		if t.ExitCode == 0 && strings.HasPrefix(strings.TrimSpace(t.Message), "sha256:") {
			out.Digest = strings.TrimSpace(t.Message)
		}
	}
	var last *corev1.Pod
	if len(pods) > 0 {
		last = &pods[len(pods)-1]
	}
	switch {
	case out.Status.State == kube.StateFailed:
		out.Why = whyFailed(job, pods)
	case out.Status.State != kube.StateComplete && last != nil:
		evs, _ := c.events().List(ctx, metav1.ListOptions{
			FieldSelector: fields.AndSelectors(fields.OneTermEqualSelector("involvedObject.name", last.Name), fields.OneTermEqualSelector("involvedObject.kind", "Pod")).String(),
		})
		var events map[string][]corev1.Event
		if evs != nil {
			events = map[string][]corev1.Event{last.Name: evs.Items}
		}
		out.Why = whyNotRunning(last, events)
	case out.Status.State == kube.StateRunning && last == nil && job.Spec.Suspend != nil && !*job.Spec.Suspend:
		out.Why = "no pod yet: the Job controller has not started one; hint: check that kube-controller-manager runs"
	}
	return out
}

// syncWriter serialises writes from the goroutines of one Follow.
type syncWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}
