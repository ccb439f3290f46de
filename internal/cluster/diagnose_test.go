package cluster

import (
	"strings"
	"testing"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func pod(mod func(p *corev1.Pod)) *corev1.Pod {
	p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "b-1", Namespace: "ci"}, Status: corev1.PodStatus{Phase: corev1.PodPending,
		ContainerStatuses: []corev1.ContainerStatus{{Name: "kaniko"}}}}
	mod(p)
	return p
}

func TestWhyNotRunning(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		pod    *corev1.Pod
		events []corev1.Event
		want   []string
	}{
		{"running", pod(func(p *corev1.Pod) {
			p.Status.Phase = corev1.PodRunning
			p.Status.ContainerStatuses[0].State.Running = &corev1.ContainerStateRunning{}
		}), nil, nil},
		{"unschedulable", pod(func(p *corev1.Pod) {
			p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodScheduled, Status: corev1.ConditionFalse, Reason: "Unschedulable", Message: "0/1 nodes are available: 1 Insufficient memory."}}
		}), nil, []string{"unschedulable: 0/1 nodes are available: 1 Insufficient memory.", "hint:", "--memory"}},
		{"unbound claim", pod(func(p *corev1.Pod) {
			p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodScheduled, Status: corev1.ConditionFalse, Reason: "Unschedulable", Message: "0/1 nodes are available: pod has unbound immediate PersistentVolumeClaims."}}
		}), nil, []string{"the workspace claim is not bound", "kubectl get pvc"}},
		{"image", pod(func(p *corev1.Pod) {
			p.Status.ContainerStatuses[0].State.Waiting = &corev1.ContainerStateWaiting{Reason: "ImagePullBackOff", Message: "Back-off pulling image \"x\""}
		}), nil, []string{"the executor image cannot be pulled (ImagePullBackOff)", "--executor-image"}},
		{"config error", pod(func(p *corev1.Pod) {
			p.Status.ContainerStatuses[0].State.Waiting = &corev1.ContainerStateWaiting{Reason: "CreateContainerConfigError", Message: "secret \"regcred\" not found"}
		}), nil, []string{`secret "regcred" not found`, "create the missing Secret or ConfigMap in namespace ci"}},
		{"failed mount", pod(func(*corev1.Pod) {}), []corev1.Event{
			{Type: corev1.EventTypeNormal, Reason: "Scheduled"},
			{Type: corev1.EventTypeWarning, Reason: "FailedMount", Message: "MountVolume.SetUp failed for volume \"docker-config\" : secret \"regcred\" not found"},
		}, []string{"a volume cannot be mounted", `secret "regcred" not found`}},
		{"oom", pod(func(p *corev1.Pod) {
			p.Status.Phase = corev1.PodFailed
			p.Status.ContainerStatuses[0].State.Terminated = &corev1.ContainerStateTerminated{Reason: "OOMKilled", ExitCode: 137}
		}), nil, []string{"OOMKilled", "raise --memory"}},
		{"evicted", pod(func(p *corev1.Pod) {
			p.Status.Phase, p.Status.Reason, p.Status.Message = corev1.PodFailed, "Evicted", "The node was low on resource: memory."
		}), nil, []string{"evicted: The node was low on resource: memory.", "does not use up a retry"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := whyNotRunning(tc.pod, map[string][]corev1.Event{"b-1": tc.events})
			if len(tc.want) == 0 && got != "" {
				t.Errorf("why = %q, want nothing", got)
			}
			for _, w := range tc.want {
				if !strings.Contains(got, w) {
					t.Errorf("why = %q, want it to say %q", got, w)
				}
			}
			if strings.Contains(got, "\n") {
				t.Errorf("why is more than one line: %q", got)
			}
		})
	}
}

func TestWhyFailed(t *testing.T) {
	t.Parallel()
	job := &batchv1.Job{ObjectMeta: metav1.ObjectMeta{Name: "b"}, Status: batchv1.JobStatus{Conditions: []batchv1.JobCondition{
		{Type: batchv1.JobFailureTarget, Status: corev1.ConditionTrue, Reason: "PodFailurePolicy"},
		{Type: batchv1.JobFailed, Status: corev1.ConditionTrue, Reason: "PodFailurePolicy"},
	}}}
	last := pod(func(p *corev1.Pod) {
		p.Status.Phase = corev1.PodFailed
		p.Status.ContainerStatuses[0].State.Terminated = &corev1.ContainerStateTerminated{ExitCode: 3, Message: "INFO step\nerror building image: exit status 3\n"}
	})
	job.Status.Conditions[1].Message = "Container kaniko for pod ns/" + last.Name + " failed with exit code 3 matching FailJob rule at index 1"
	got := whyFailed(job, []corev1.Pod{*last})
	for _, w := range []string{"a RUN step failed with its own exit code", "last attempt exited 3: error building image: exit status 3"} {
		if !strings.Contains(got, w) {
			t.Errorf("whyFailed = %q, want %q", got, w)
		}
	}

	// The pod that matched the rule was deleted: gone from the list, or
	// still there with a deletion timestamp.
	job.Status.Conditions[1].Message = "Container kaniko for pod ns/b-gone failed with exit code 2 matching FailJob rule at index 1"
	deleting := *last
	deleting.Name = "b-gone"
	deleting.DeletionTimestamp = &metav1.Time{}
	for name, pods := range map[string][]corev1.Pod{"gone": {*last}, "deleting": {*last, deleting}} {
		got := whyFailed(job, pods)
		if !strings.Contains(got, "pod b-gone was deleted while it ran") || !strings.Contains(got, "exited 2") || strings.Contains(got, "fix the step") {
			t.Errorf("%s: whyFailed = %q, want it to say the pod was deleted", name, got)
		}
	}
}
