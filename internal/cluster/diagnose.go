package cluster

import (
	"fmt"
	"regexp"
	"strings"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
)

// whyNotRunning says, in one line with a hint, why a build's pod has not
// started its executor (or why it stopped), from the pod's status and its
// Events; "" when it runs or nothing is known.
func whyNotRunning(p *corev1.Pod, events map[string][]corev1.Event) string {
	if p == nil {
		return ""
	}
	if p.Status.Reason == "Evicted" {
		return fmt.Sprintf("evicted: %s; hint: the node ran short of resources; an eviction does not use up a retry", oneLineMsg(p.Status.Message))
	}
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodScheduled && c.Status == corev1.ConditionFalse && c.Reason == corev1.PodReasonUnschedulable {
			if strings.Contains(c.Message, "unbound") && strings.Contains(c.Message, "PersistentVolumeClaim") {
				return fmt.Sprintf("pending: the workspace claim is not bound: %s; hint: check `kubectl get pvc` and --workspace-claim", oneLineMsg(c.Message))
			}
			if strings.Contains(c.Message, "persistentvolumeclaim") && strings.Contains(c.Message, "not found") {
				return fmt.Sprintf("pending: %s; hint: create the claim or pass another --workspace-claim", oneLineMsg(c.Message))
			}
			return fmt.Sprintf("unschedulable: %s; hint: no node fits the pod: check --cpu, --memory and the node selector or tolerations of --overrides", oneLineMsg(c.Message))
		}
	}
	if st := executorStatus(p); st != nil {
		if w := st.State.Waiting; w != nil {
			switch w.Reason {
			case "ErrImagePull", "ImagePullBackOff", "InvalidImageName", "ErrImageNeverPull":
				return fmt.Sprintf("the executor image cannot be pulled (%s): %s; hint: check --executor-image, and give the pod an image pull secret with --overrides", w.Reason, oneLineMsg(w.Message))
			case "CreateContainerConfigError", "CreateContainerError":
				return fmt.Sprintf("the executor cannot start (%s): %s; hint: create the missing Secret or ConfigMap in namespace %s", w.Reason, oneLineMsg(w.Message), p.Namespace)
			}
		}
		if t := st.State.Terminated; t != nil && t.Reason == "OOMKilled" {
			return "OOMKilled: the executor ran out of memory; hint: raise --memory"
		}
	}
	if p.Status.Phase == corev1.PodPending {
		evs := events[p.Name]
		for i := len(evs) - 1; i >= 0; i-- {
			e := evs[i]
			if e.Type != corev1.EventTypeWarning {
				continue
			}
			switch e.Reason {
			case "FailedMount":
				return fmt.Sprintf("a volume cannot be mounted: %s; hint: create the missing Secret, ConfigMap or claim in namespace %s", oneLineMsg(e.Message), p.Namespace)
			case "FailedScheduling":
				return fmt.Sprintf("unschedulable: %s; hint: no node fits the pod: check --cpu, --memory and --overrides", oneLineMsg(e.Message))
			case "Failed", "FailedCreatePodSandBox":
				return fmt.Sprintf("pending: %s", oneLineMsg(e.Message))
			}
		}
	}
	return ""
}

// whyFailed explains a Failed Job: its reason as Kubernetes spells it,
// the last attempt's exit code and the last lines it logged (the
// termination message under FallbackToLogsOnError).
func whyFailed(job *batchv1.Job, pods []corev1.Pod) string {
	var last *corev1.Pod
	if len(pods) > 0 {
		last = &pods[len(pods)-1]
	}
	reason, message := "", ""
	for _, c := range job.Status.Conditions {
		if c.Type == batchv1.JobFailed && c.Status == corev1.ConditionTrue {
			reason, message = c.Reason, c.Message
		}
	}
	var b strings.Builder
	switch reason {
	case batchv1.JobReasonBackoffLimitExceeded:
		b.WriteString("every attempt failed; hint: see kanikorun logs " + job.Name + " --all-attempts")
	case batchv1.JobReasonPodFailurePolicy:
		if name, code, ok := deletedPod(message, pods); ok {
			// kaniko installs no signal handler: as PID 1 the SIGTERM of
			// a deletion leaves the Go runtime to exit with 2.
			return fmt.Sprintf("the executor's pod %s was deleted while it ran (kubectl delete pod), and the executor exited %s, which the Job takes for a RUN step's own code, so it ended at once; hint: submit the build again (an eviction, as by kubectl drain, is retried instead)", name, code)
		}
		b.WriteString("a RUN step failed with its own exit code, which another attempt would repeat, so the Job ended at once; hint: fix the step")
	case batchv1.JobReasonDeadlineExceeded:
		b.WriteString("the Job ran out of time; hint: raise --active-deadline")
	default:
		b.WriteString("the build failed")
	}
	if last != nil {
		if why := whyNotRunning(last, nil); why != "" {
			b.WriteString("; last attempt: " + why)
		} else if st := executorStatus(last); st != nil && st.State.Terminated != nil {
			t := st.State.Terminated
			fmt.Fprintf(&b, "; last attempt exited %d", t.ExitCode)
			if msg := lastLine(t.Message); msg != "" {
				b.WriteString(": " + msg)
			}
		}
	}
	return b.String()
}

// failJobMessage is how the Job controller names the pod and the exit
// code that matched a FailJob rule.
var failJobMessage = regexp.MustCompile(`for pod [^/\s]+/(\S+) failed with exit code (\d+)`)

// deletedPod reports the pod and exit code that ended the Job by its
// podFailurePolicy when that pod was deleted (it is gone, or going): a
// deleted executor's exit code is not a RUN step's.
func deletedPod(message string, pods []corev1.Pod) (name, code string, ok bool) {
	m := failJobMessage.FindStringSubmatch(message)
	if m == nil {
		return "", "", false
	}
	for i := range pods {
		if pods[i].Name == m[1] {
			return m[1], m[2], pods[i].DeletionTimestamp != nil
		}
	}
	return m[1], m[2], true
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return strings.TrimSpace(lines[len(lines)-1])
}

func oneLineMsg(s string) string {
	return strings.Join(strings.Fields(s), " ")
}
