package main

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kanikorun/kanikorun/internal/kube"
	"github.com/kanikorun/kanikorun/internal/testbed"
	"github.com/kanikorun/kanikorun/internal/testbed/kubenode"
)

// The cluster tests run against a real single-node Kubernetes
// (internal/testbed/kubenode), started once for this package by the first
// of them. They run one after the other: they share the node, and
// KUBECONFIG.

// clusterExecutor is the stand-in executor's name inside the node.
const clusterExecutor = "kanikorun.local/executor:standin"

// hostNetwork lets the pod reach the test registry on 127.0.0.1.
const hostNetwork = `{"spec":{"template":{"spec":{"hostNetwork":true}}}}`

// clusterRegistry is an anonymous registry on 127.0.0.1 for cluster
// builds, and clusterBase a base image in it with /bin/sh for RUN steps.
var (
	clusterRegistry *testbed.Registry
	clusterBase     string
)

func requireCluster(t *testing.T) *kubenode.Node {
	t.Helper()
	n := kubenode.Require(t, func(ctx context.Context) ([]kubenode.Image, error) {
		img, err := testbed.StandIn(ctx)
		if err != nil {
			return nil, err
		}
		if clusterRegistry, err = testbed.StartRegistry("", ""); err != nil {
			return nil, err
		}
		if _, err := clusterRegistry.PushBase(ctx, "base:1", map[string]string{"bin/sh": "#!", "etc/base.txt": "from base\n"}, nil, nil); err != nil {
			return nil, err
		}
		clusterBase = clusterRegistry.Ref("base:1")
		return []kubenode.Image{{Ref: clusterExecutor, Image: img}}, nil
	})
	t.Setenv("KUBECONFIG", n.Kubeconfig)
	t.Setenv("DOCKER_CONFIG", t.TempDir())
	return n
}

var nsSeq int

// clusterNamespace makes a namespace of the test's own, so list sees only
// its builds; its Jobs are deleted at the end.
func clusterNamespace(t *testing.T, n *kubenode.Node) string {
	t.Helper()
	nsSeq++
	ns := fmt.Sprintf("t%d-%s", nsSeq, strings.ToLower(hex.EncodeToString([]byte(t.Name()))[:8]))
	ctx := context.Background()
	if _, err := n.Client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		// Pods need the namespace's default service account.
		if _, err := n.Client.CoreV1().ServiceAccounts(ns).Get(ctx, "default", metav1.GetOptions{}); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no default service account in", ns)
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Cleanup(func() { _ = n.DeleteJobs(context.Background(), ns) })
	return ns
}

// submitArgs are the flags every cluster build here needs.
func submitArgs(ns string, more ...string) []string {
	return append([]string{"submit", "-n", ns, "--executor-image", clusterExecutor, "--overrides", hostNetwork}, more...)
}

func imageDigest(t *testing.T, ref string) string {
	t.Helper()
	img, err := clusterRegistry.Image(ref)
	if err != nil {
		t.Fatal(err)
	}
	d, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return d.String()
}

// kanikorunCluster runs the CLI in-process with a deadline, so that a
// build stuck in the cluster fails its test instead of the test binary.
func kanikorunCluster(t *testing.T, args ...string) result {
	t.Helper()
	cliMu.Lock()
	defer cliMu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var out, errOut bytes.Buffer
	code := run(ctx, append([]string{"kanikorun"}, args...), strings.NewReader(""), &out, &errOut)
	return result{stdout: out.String(), stderr: errOut.String(), code: code}
}

func lines(s string) []string { return strings.Split(strings.TrimRight(s, "\n"), "\n") }

func TestClusterSubmitWaitConfigMapUpload(t *testing.T) {
	n := requireCluster(t)
	ns := clusterNamespace(t, n)
	ctxDir := buildContext(t, map[string]string{
		"Dockerfile":    "FROM " + clusterBase + "\nCOPY hello.txt /hello.txt\n",
		"hello.txt":     "hello from the cluster\n",
		"secret.txt":    "never leaves the machine\n",
		".dockerignore": "secret.txt\n",
	})
	dest := clusterRegistry.Ref("cm/app:1")
	r := kanikorunCluster(t, append(submitArgs(ns, "--name", "cm-1", "--wait", "-t", dest), ctxDir)...)
	if r.code != 0 {
		t.Fatal(r)
	}
	if !strings.Contains(r.stderr, "context: uploaded as ConfigMap kanikorun-context-") || strings.Contains(r.stderr, "context: sent") {
		t.Errorf("no delivery line:\n%s", r)
	}
	out := lines(r.stdout)
	if out[0] != "cm-1" || out[len(out)-1] != imageDigest(t, dest) {
		t.Errorf("stdout = %q, want the Job name first and the digest %s last", out, imageDigest(t, dest))
	}
	img, _ := clusterRegistry.Image(dest)
	files, err := testbed.Files(img)
	if err != nil {
		t.Fatal(err)
	}
	if files["hello.txt"] != "hello from the cluster\n" {
		t.Errorf("image files = %v", files)
	}

	ctx := context.Background()
	cms, err := n.Client.CoreV1().ConfigMaps(ns).List(ctx, metav1.ListOptions{LabelSelector: kube.LabelManagedBy + "=kanikorun"})
	if err != nil || len(cms.Items) != 1 {
		t.Fatalf("ConfigMaps = %v, %v", cms, err)
	}
	cm := cms.Items[0]
	names := tarNames(t, cm.BinaryData[kube.UploadKey])
	if names["secret.txt"] || !names["hello.txt"] || !names["Dockerfile"] || !names[".dockerignore"] {
		t.Errorf("uploaded tar holds %v; .dockerignore must keep secret.txt out", names)
	}
	job1, _ := n.Client.BatchV1().Jobs(ns).Get(ctx, "cm-1", metav1.GetOptions{})
	if len(cm.OwnerReferences) != 1 || cm.OwnerReferences[0].UID != job1.UID {
		t.Errorf("ConfigMap owners = %+v, want Job cm-1", cm.OwnerReferences)
	}
	if job1.Spec.Template.Spec.Containers[0].TerminationMessagePolicy != corev1.TerminationMessageFallbackToLogsOnError {
		t.Error("the Job does not fall back to logs for its termination message")
	}

	// The same context again: nothing uploaded, the second Job another
	// owner; cancelling the first leaves the ConfigMap to the second.
	r = kanikorunCluster(t, append(submitArgs(ns, "--name", "cm-2", "--wait", "-t", dest), ctxDir)...)
	if r.code != 0 || !strings.Contains(r.stderr, "reused, nothing uploaded") {
		t.Fatalf("second submit of an unchanged context:\n%s", r)
	}
	got, _ := n.Client.CoreV1().ConfigMaps(ns).Get(ctx, cm.Name, metav1.GetOptions{})
	if len(got.OwnerReferences) != 2 {
		t.Errorf("owners after reuse = %+v, want both Jobs", got.OwnerReferences)
	}
	if r := kanikorunCluster(t, "cancel", "-n", ns, "cm-1"); r.code != 0 {
		t.Fatal(r)
	}
	waitGone(t, func() error { _, err := n.Client.BatchV1().Jobs(ns).Get(ctx, "cm-1", metav1.GetOptions{}); return err })
	time.Sleep(time.Second)
	if _, err := n.Client.CoreV1().ConfigMaps(ns).Get(ctx, cm.Name, metav1.GetOptions{}); err != nil {
		t.Errorf("the ConfigMap went with one of its two owners: %v", err)
	}
	if r := kanikorunCluster(t, "cancel", "-n", ns, "cm-2"); r.code != 0 {
		t.Fatal(r)
	}
	waitGone(t, func() error {
		_, err := n.Client.CoreV1().ConfigMaps(ns).Get(ctx, cm.Name, metav1.GetOptions{})
		return err
	})
}

func tarNames(t *testing.T, data []byte) map[string]bool {
	t.Helper()
	gz, err := gzip.NewReader(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(gz)
	names := map[string]bool{}
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return names
		}
		if err != nil {
			t.Fatal(err)
		}
		names[h.Name] = true
	}
}

// waitGone waits until get reports NotFound.
func waitGone(t *testing.T, get func() error) {
	t.Helper()
	deadline := time.Now().Add(45 * time.Second)
	for {
		err := get()
		if apierrors.IsNotFound(err) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("still there after 45 s (err %v)", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func TestClusterSubmitStreamsLargeContextToStdin(t *testing.T) {
	n := requireCluster(t)
	ns := clusterNamespace(t, n)
	big := make([]byte, 3<<20) // incompressible: more than a ConfigMap holds
	_, _ = rand.Read(big)
	ctxDir := buildContext(t, map[string]string{"Dockerfile": "FROM " + clusterBase + "\nCOPY big.bin /big.bin\n"})
	if err := os.WriteFile(filepath.Join(ctxDir, "big.bin"), big, 0o644); err != nil {
		t.Fatal(err)
	}
	dest := clusterRegistry.Ref("stdin/app:1")
	r := kanikorunCluster(t, append(submitArgs(ns, "--name", "big", "-t", dest), ctxDir)...)
	if r.code != 0 {
		t.Fatal(r)
	}
	if !strings.Contains(r.stderr, "streamed to the executor's stdin; that implies --wait") {
		t.Errorf("no stdin delivery line:\n%s", r)
	}
	if lines(r.stdout)[len(lines(r.stdout))-1] != imageDigest(t, dest) {
		t.Errorf("stdout %q does not end with the digest", r.stdout)
	}
	img, _ := clusterRegistry.Image(dest)
	files, _ := testbed.Files(img)
	if files["big.bin"] != string(big) {
		t.Errorf("big.bin in the image has %d bytes, want %d", len(files["big.bin"]), len(big))
	}
	job, err := n.Client.BatchV1().Jobs(ns).Get(context.Background(), "big", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	c := job.Spec.Template.Spec.Containers[0]
	if !c.Stdin || !c.StdinOnce || c.Args[0] != "--context=tar://stdin" {
		t.Errorf("container stdin=%v once=%v args=%q", c.Stdin, c.StdinOnce, c.Args)
	}
}

func TestClusterSubmitWithClaim(t *testing.T) {
	n := requireCluster(t)
	ns := clusterNamespace(t, n)
	ctx := context.Background()
	root := t.TempDir()
	writeTree(t, filepath.Join(root, "app"), map[string]string{
		"Dockerfile": "FROM " + clusterBase + "\nCOPY a.txt /a.txt\n",
		"a.txt":      "from the claim\n",
	})
	pvName := "pv-" + ns
	hostPath := corev1.HostPathDirectory
	_, err := n.Client.CoreV1().PersistentVolumes().Create(ctx, &corev1.PersistentVolume{
		ObjectMeta: metav1.ObjectMeta{Name: pvName},
		Spec: corev1.PersistentVolumeSpec{
			Capacity:                      corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Gi")},
			AccessModes:                   []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			PersistentVolumeReclaimPolicy: corev1.PersistentVolumeReclaimRetain,
			StorageClassName:              "manual",
			PersistentVolumeSource:        corev1.PersistentVolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: root, Type: &hostPath}},
		},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = n.Client.CoreV1().PersistentVolumes().Delete(context.Background(), pvName, metav1.DeleteOptions{})
	})
	sc := "manual"
	if _, err := n.Client.CoreV1().PersistentVolumeClaims(ns).Create(ctx, &corev1.PersistentVolumeClaim{
		ObjectMeta: metav1.ObjectMeta{Name: "kaniko-workspace"},
		Spec: corev1.PersistentVolumeClaimSpec{
			AccessModes:      []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			StorageClassName: &sc,
			VolumeName:       pvName,
			Resources:        corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Gi")}},
		},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	dest := clusterRegistry.Ref("claim/app:1")
	r := kanikorunCluster(t, append(submitArgs(ns, "--name", "claim", "--wait", "--workspace-claim", "kaniko-workspace", "-t", dest), filepath.Join(root, "app"))...)
	if r.code != 0 {
		t.Fatal(r)
	}
	if !strings.Contains(r.stderr, "context: on claim kaniko-workspace") {
		t.Errorf("no claim delivery line:\n%s", r)
	}
	if lines(r.stdout)[len(lines(r.stdout))-1] != imageDigest(t, dest) {
		t.Errorf("stdout %q does not end with the digest", r.stdout)
	}
	// `job` prints exactly what submit created, minus suspend and status.
	jr := kanikorunCluster(t, "job", "-n", ns, "--name", "claim", "--executor-image", clusterExecutor, "--overrides", hostNetwork, "-t", dest, "-o", "json", filepath.Join(root, "app"))
	if jr.code != 0 {
		t.Fatal(jr)
	}
	var printed batchv1.Job
	if err := json.Unmarshal([]byte(jr.stdout), &printed); err != nil {
		t.Fatal(err)
	}
	live, _ := n.Client.BatchV1().Jobs(ns).Get(ctx, "claim", metav1.GetOptions{})
	if fmt.Sprint(printed.Spec.Template.Spec.Containers[0].Args) != fmt.Sprint(live.Spec.Template.Spec.Containers[0].Args) {
		t.Errorf("job printed args %q, submit created %q", printed.Spec.Template.Spec.Containers[0].Args, live.Spec.Template.Spec.Containers[0].Args)
	}
}

func TestClusterAsyncSubmitThenWaitStatusLogsList(t *testing.T) {
	n := requireCluster(t)
	ns := clusterNamespace(t, n)
	ctxDir := buildContext(t, map[string]string{"Dockerfile": "FROM " + clusterBase + "\nRUN echo building\n"})
	dest := clusterRegistry.Ref("async/app:1")
	r := kanikorunCluster(t, append(submitArgs(ns, "--generate-name", "async-", "-t", dest), ctxDir)...)
	if r.code != 0 {
		t.Fatal(r)
	}
	name := strings.TrimSpace(r.stdout)
	if !strings.HasPrefix(name, "async-") || strings.Contains(name, "\n") {
		t.Fatalf("submit printed %q, want the generated Job name alone", r.stdout)
	}
	w := kanikorunCluster(t, "wait", "-n", ns, name, "--timeout", "60s")
	if w.code != 0 || !strings.HasPrefix(w.stdout, "Complete") || lines(w.stdout)[len(lines(w.stdout))-1] != imageDigest(t, dest) {
		t.Fatalf("wait:\n%s", w)
	}
	s := kanikorunCluster(t, "status", "-n", ns, name)
	if s.code != 0 || !strings.HasPrefix(s.stdout, "Complete") || !strings.Contains(s.stdout, "(attempts 1 of 4)") {
		t.Errorf("status NAME:\n%s", s)
	}
	l := kanikorunCluster(t, "logs", "-n", ns, name)
	if l.code != 0 || !strings.Contains(l.stdout, "kanikorun-standin argv") || !strings.Contains(l.stdout, "building") {
		t.Errorf("logs:\n%s", l)
	}
	ls := kanikorunCluster(t, "list", "-n", ns)
	if ls.code != 0 || !strings.Contains(ls.stdout, name) || !strings.Contains(ls.stdout, "Complete") || !strings.Contains(ls.stdout, imageDigest(t, dest)) {
		t.Errorf("list:\n%s", ls)
	}
}

func TestClusterFailingBuildExhaustsBackoffLimit(t *testing.T) {
	n := requireCluster(t)
	ns := clusterNamespace(t, n)
	// Exit 1 is also kaniko's own failure code, so it is retried.
	ctxDir := buildContext(t, map[string]string{"Dockerfile": "FROM " + clusterBase + "\nRUN echo about to fail\nRUN exit 1\n"})
	start := time.Now()
	r := kanikorunCluster(t, append(submitArgs(ns, "--name", "flaky", "--wait", "--backoff-limit", "1", "-t", clusterRegistry.Ref("fail/app:1")), ctxDir)...)
	if r.code != 1 {
		t.Fatalf("want exit 1:\n%s", r)
	}
	if !strings.Contains(r.stderr, "Failed BackoffLimitExceeded") || !strings.Contains(r.stderr, "(attempts 2 of 2)") {
		t.Errorf("no BackoffLimitExceeded after two attempts:\n%s", r)
	}
	if strings.Count(r.stderr, "\nabout to fail\n") != 2 {
		t.Errorf("want the logs of both attempts streamed:\n%s", r)
	}
	t.Logf("failing build with backoffLimit 1: %s", time.Since(start).Round(100*time.Millisecond))
	s := kanikorunCluster(t, "status", "-n", ns, "flaky")
	if s.code != 1 || !strings.HasPrefix(s.stdout, "Failed BackoffLimitExceeded") || !strings.Contains(s.stdout, "last attempt exited 1") {
		t.Errorf("status:\n%s", s)
	}
	l := kanikorunCluster(t, "logs", "-n", ns, "--all-attempts", "flaky")
	if l.code != 0 || !strings.Contains(l.stdout, "--- attempt 1: pod flaky-") || !strings.Contains(l.stdout, "--- attempt 2: pod flaky-") ||
		strings.Count(l.stdout, "\nabout to fail\n") != 2 || strings.Index(l.stdout, "attempt 1") > strings.Index(l.stdout, "attempt 2") {
		t.Errorf("logs --all-attempts:\n%s", l)
	}
}

func TestClusterPodFailurePolicyEndsDeterministicFailure(t *testing.T) {
	n := requireCluster(t)
	ns := clusterNamespace(t, n)
	ctxDir := buildContext(t, map[string]string{"Dockerfile": "FROM " + clusterBase + "\nRUN exit 3\n"})
	r := kanikorunCluster(t, append(submitArgs(ns, "--name", "det", "--wait", "--backoff-limit", "3", "-t", clusterRegistry.Ref("det/app:1")), ctxDir)...)
	if r.code != 3 {
		t.Fatalf("want the RUN step's exit code 3:\n%s", r)
	}
	if !strings.Contains(r.stderr, "Failed PodFailurePolicy") || !strings.Contains(r.stderr, "(attempts 1 of 4)") {
		t.Errorf("the Job did not end at once by its podFailurePolicy:\n%s", r)
	}
}

// A pod evicted through the Eviction API, as a node drain evicts it, gets
// the DisruptionTarget condition, which the Job's podFailurePolicy ignores:
// the build runs again without using up a retry, so with --backoff-limit 0
// it still completes.
func TestClusterEvictedPodIsRetriedNotCounted(t *testing.T) {
	n := requireCluster(t)
	ns := clusterNamespace(t, n)
	ctx := context.Background()
	ctxDir := buildContext(t, map[string]string{"Dockerfile": "FROM " + clusterBase + "\nRUN sleep 3\n"})
	dest := clusterRegistry.Ref("evict/app:1")
	r := kanikorunCluster(t, append(submitArgs(ns, "--name", "evicted", "--backoff-limit", "0", "-t", dest), ctxDir)...)
	if r.code != 0 {
		t.Fatal(r)
	}
	first := runningPod(t, n, ns, "evicted")
	now := int64(0)
	if err := n.Client.PolicyV1().Evictions(ns).Evict(ctx, &policyv1.Eviction{
		ObjectMeta:    metav1.ObjectMeta{Name: first, Namespace: ns},
		DeleteOptions: &metav1.DeleteOptions{GracePeriodSeconds: &now},
	}); err != nil {
		t.Fatalf("evicting %s: %v", first, err)
	}
	w := kanikorunCluster(t, "wait", "-n", ns, "evicted", "--timeout", "120s")
	if w.code != 0 || !strings.HasPrefix(w.stdout, "Complete") || lines(w.stdout)[len(lines(w.stdout))-1] != imageDigest(t, dest) {
		t.Fatalf("wait after the eviction of %s, with no retry left:\n%s", first, w)
	}
	pods, err := n.Client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: "batch.kubernetes.io/job-name=evicted"})
	if err != nil {
		t.Fatal(err)
	}
	var succeeded []string
	for _, p := range pods.Items {
		if p.Status.Phase == corev1.PodSucceeded {
			succeeded = append(succeeded, p.Name)
		}
	}
	if len(succeeded) != 1 || succeeded[0] == first {
		t.Errorf("succeeded pods %v, want one other than the evicted %s", succeeded, first)
	}
}

// A pod deleted by hand (kubectl delete pod) gets no DisruptionTarget
// condition, and the executor, PID 1 without a signal handler, exits 2 on
// the SIGTERM (the stand-in as kaniko does): the Job's podFailurePolicy
// takes that for a RUN step's code and ends the Job. wait and status say
// the pod was deleted, not that a step failed, and still count the
// deleted pod as an attempt although it is gone from the list.
func TestClusterDeletedPodSaysSo(t *testing.T) {
	n := requireCluster(t)
	ns := clusterNamespace(t, n)
	ctx := context.Background()
	ctxDir := buildContext(t, map[string]string{"Dockerfile": "FROM " + clusterBase + "\nRUN sleep 30\n"})
	r := kanikorunCluster(t, append(submitArgs(ns, "--name", "deleted", "--backoff-limit", "1", "-t", clusterRegistry.Ref("deleted/app:1")), ctxDir)...)
	if r.code != 0 {
		t.Fatal(r)
	}
	first := runningPod(t, n, ns, "deleted")
	now := int64(0)
	if err := n.Client.CoreV1().Pods(ns).Delete(ctx, first, metav1.DeleteOptions{GracePeriodSeconds: &now}); err != nil {
		t.Fatalf("deleting %s: %v", first, err)
	}
	w := kanikorunCluster(t, "wait", "-n", ns, "deleted", "--timeout", "120s")
	// The deleted pod's own exit code is gone with it: the failure's 1.
	if w.code != 1 || !strings.HasPrefix(w.stdout, "Failed PodFailurePolicy") || !strings.Contains(w.stdout, "pod "+first+" was deleted while it ran") {
		t.Fatalf("wait after the deletion of %s, want exit 1 and why:\n%s", first, w)
	}
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		// The Job controller lets the deleted pod go once it has
		// counted it.
		pods, err := n.Client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: "batch.kubernetes.io/job-name=deleted"})
		if err == nil && len(pods.Items) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the deleted pod %s stays", first)
		}
	}
	s := kanikorunCluster(t, "status", "-n", ns, "deleted")
	if s.code != 1 || !strings.Contains(s.stdout, "(attempts 1 of 2)") || !strings.Contains(s.stdout, "was deleted while it ran") {
		t.Errorf("status once the deleted pod is gone, want attempts 1 of 2 and why:\n%s", s)
	}
}

// runningPod waits for the Job's pod to run and returns its name.
func runningPod(t *testing.T, n *kubenode.Node, ns, job string) string {
	t.Helper()
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		pods, err := n.Client.CoreV1().Pods(ns).List(context.Background(), metav1.ListOptions{LabelSelector: "batch.kubernetes.io/job-name=" + job})
		if err == nil && len(pods.Items) == 1 && pods.Items[0].Status.Phase == corev1.PodRunning {
			return pods.Items[0].Name
		}
		if time.Now().After(deadline) {
			t.Fatalf("the pod of Job %s never ran", job)
		}
	}
}

// An executor over its --memory limit is OOM-killed by the node's kernel
// (the stand-in's RUN alloc touches the memory a compiler would): the
// Job's status names it and the flag that helps.
func TestClusterOOMKilledSaysRaiseMemory(t *testing.T) {
	n := requireCluster(t)
	ns := clusterNamespace(t, n)
	ctxDir := buildContext(t, map[string]string{"Dockerfile": "FROM " + clusterBase + "\nRUN alloc 512\n"})
	r := kanikorunCluster(t, append(submitArgs(ns, "--name", "oom", "--wait", "--backoff-limit", "0", "--memory", "64Mi", "--no-push"), ctxDir)...)
	if r.code != 137 {
		t.Fatalf("want the killed executor's exit code 137:\n%s", r)
	}
	if !strings.Contains(r.stderr, "Failed BackoffLimitExceeded") || !strings.Contains(r.stderr, "OOMKilled: the executor ran out of memory; hint: raise --memory") {
		t.Errorf("--wait does not say the executor was OOM-killed:\n%s", r)
	}
	s := kanikorunCluster(t, "status", "-n", ns, "oom")
	if s.code != 1 || !strings.HasPrefix(s.stdout, "Failed BackoffLimitExceeded") || !strings.Contains(s.stdout, "last attempt: OOMKilled") {
		t.Errorf("status of an OOM-killed build:\n%s", s)
	}
}

func TestClusterSaysWhyNotRunning(t *testing.T) {
	n := requireCluster(t)
	ns := clusterNamespace(t, n)
	ctxDir := buildContext(t, map[string]string{"Dockerfile": "FROM " + clusterBase + "\n"})
	dest := clusterRegistry.Ref("why/app:1")

	r := kanikorunCluster(t, append(submitArgs(ns, "--name", "nowhere", "-t", dest,
		"--overrides", `{"spec":{"template":{"spec":{"nodeSelector":{"disk":"none-such"}}}}}`), ctxDir)...)
	if r.code != 0 {
		t.Fatal(r)
	}
	w := kanikorunCluster(t, "wait", "-n", ns, "--timeout", "3s", "nowhere")
	if w.code != 2 || !strings.Contains(w.stdout, "unschedulable:") || !strings.Contains(w.stdout, "node affinity/selector") || !strings.Contains(w.stdout, "hint:") {
		t.Errorf("wait --timeout on an unschedulable build:\n%s", w)
	}
	l := kanikorunCluster(t, "logs", "-n", ns, "nowhere")
	if l.code != 0 || !strings.HasPrefix(l.stdout, "not started yet: unschedulable") {
		t.Errorf("logs of a pod that never started:\n%s", l)
	}

	r = kanikorunCluster(t, append(submitArgs(ns, "--name", "nosecret", "-t", dest, "--credentials-secret", "missing-creds"), ctxDir)...)
	if r.code != 0 {
		t.Fatal(r)
	}
	w = kanikorunCluster(t, "wait", "-n", ns, "--timeout", "6s", "nosecret")
	if w.code != 2 || !strings.Contains(w.stdout, `secret "missing-creds" not found`) || !strings.Contains(w.stdout, "hint: create the missing Secret") {
		t.Errorf("wait --timeout on a build missing its Secret:\n%s", w)
	}
	s := kanikorunCluster(t, "status", "-n", ns, "nosecret")
	if s.code != 2 || !strings.HasPrefix(s.stdout, "Running") || !strings.Contains(s.stdout, "missing-creds") {
		t.Errorf("status of a build missing its Secret:\n%s", s)
	}
}

func TestClusterSaysWhyItFailedOrWaits(t *testing.T) {
	n := requireCluster(t)
	ns := clusterNamespace(t, n)
	ctxDir := buildContext(t, map[string]string{"Dockerfile": "FROM " + clusterBase + "\nRUN sleep 60\n"})
	dest := clusterRegistry.Ref("why2/app:1")

	// An executor image the node cannot pull.
	r := kanikorunCluster(t, "submit", "-n", ns, "--name", "nopull", "--executor-image", "kanikorun.invalid/executor:none", "--overrides", hostNetwork, "-t", dest, ctxDir)
	if r.code != 0 {
		t.Fatal(r)
	}
	w := kanikorunCluster(t, "wait", "-n", ns, "--timeout", "8s", "nopull")
	if w.code != 2 || !strings.Contains(w.stdout, "the executor image cannot be pulled") || !strings.Contains(w.stdout, "hint: check --executor-image") {
		t.Errorf("wait on an image that cannot be pulled:\n%s", w)
	}

	// A claim that is not bound.
	sc := "none"
	if _, err := n.Client.CoreV1().PersistentVolumeClaims(ns).Create(context.Background(), &corev1.PersistentVolumeClaim{
		ObjectMeta: metav1.ObjectMeta{Name: "unbound"},
		Spec: corev1.PersistentVolumeClaimSpec{
			AccessModes:      []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			StorageClassName: &sc,
			Resources:        corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Gi")}},
		},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	r = kanikorunCluster(t, append(submitArgs(ns, "--name", "noclaim", "--workspace-claim", "unbound", "-t", dest), ctxDir)...)
	if r.code != 0 {
		t.Fatal(r)
	}
	w = kanikorunCluster(t, "wait", "-n", ns, "--timeout", "4s", "noclaim")
	if w.code != 2 || !strings.Contains(w.stdout, "the workspace claim is not bound") {
		t.Errorf("wait on an unbound claim:\n%s", w)
	}

	// The deadline.
	r = kanikorunCluster(t, append(submitArgs(ns, "--name", "late", "--wait", "--active-deadline", "2s", "-t", dest), ctxDir)...)
	if r.code != 1 || !strings.Contains(r.stderr, "Failed DeadlineExceeded") || !strings.Contains(r.stderr, "hint: raise --active-deadline") {
		t.Errorf("a build past its deadline:\n%s", r)
	}
}

func TestClusterCancelTakesPodsSecretAndConfigMap(t *testing.T) {
	n := requireCluster(t)
	ns := clusterNamespace(t, n)
	ctx := context.Background()
	cfg := t.TempDir()
	if err := os.WriteFile(filepath.Join(cfg, "config.json"), []byte(`{"auths":{"`+clusterRegistry.Addr+`":{"auth":"dTpw"}}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	ctxDir := buildContext(t, map[string]string{"Dockerfile": "FROM " + clusterBase + "\nRUN sleep 60\n", "cancel-me.txt": "x"})
	r := kanikorunCluster(t, append(submitArgs(ns, "--name", "long", "--with-secret", "--docker-config", cfg, "-t", clusterRegistry.Ref("cancel/app:1")), ctxDir)...)
	if r.code != 0 {
		t.Fatal(r)
	}
	// Wait for the executor to run, so there is a pod to take.
	runningPod(t, n, ns, "long")
	secrets, _ := n.Client.CoreV1().Secrets(ns).List(ctx, metav1.ListOptions{LabelSelector: kube.LabelManagedBy + "=kanikorun"})
	cms, _ := n.Client.CoreV1().ConfigMaps(ns).List(ctx, metav1.ListOptions{LabelSelector: kube.LabelManagedBy + "=kanikorun"})
	if len(secrets.Items) != 1 || len(cms.Items) != 1 {
		t.Fatalf("want one Secret and one ConfigMap, got %d and %d", len(secrets.Items), len(cms.Items))
	}
	if c := kanikorunCluster(t, "cancel", "-n", ns, "long"); c.code != 0 {
		t.Fatal(c)
	}
	waitGone(t, func() error { _, err := n.Client.BatchV1().Jobs(ns).Get(ctx, "long", metav1.GetOptions{}); return err })
	waitGone(t, func() error {
		_, err := n.Client.CoreV1().Secrets(ns).Get(ctx, secrets.Items[0].Name, metav1.GetOptions{})
		return err
	})
	waitGone(t, func() error {
		_, err := n.Client.CoreV1().ConfigMaps(ns).Get(ctx, cms.Items[0].Name, metav1.GetOptions{})
		return err
	})
	pods, _ := n.Client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: "batch.kubernetes.io/job-name=long"})
	if len(pods.Items) != 0 {
		t.Errorf("pods left after cancel: %d", len(pods.Items))
	}
	if c := kanikorunCluster(t, "cancel", "-n", ns, "long"); c.code == 0 || !strings.Contains(c.stderr, `no Job "long"`) {
		t.Errorf("cancelling a Job that is gone:\n%s", c)
	}
}

func TestClusterListShowsTheQueue(t *testing.T) {
	n := requireCluster(t)
	ns := clusterNamespace(t, n)
	ok := buildContext(t, map[string]string{"Dockerfile": "FROM " + clusterBase + "\n"})
	bad := buildContext(t, map[string]string{"Dockerfile": "FROM " + clusterBase + "\nRUN exit 4\n"})
	slow := buildContext(t, map[string]string{"Dockerfile": "FROM " + clusterBase + "\nRUN sleep 60\n"})
	dest := clusterRegistry.Ref("queue/app:1")
	for _, b := range []struct {
		name, dir string
		code      int
	}{{"q-ok", ok, 0}, {"q-bad", bad, 4}} {
		if r := kanikorunCluster(t, append(submitArgs(ns, "--name", b.name, "--wait", "-t", dest), b.dir)...); r.code != b.code {
			t.Fatalf("%s:\n%s", b.name, r)
		}
	}
	if r := kanikorunCluster(t, append(submitArgs(ns, "--name", "q-slow", "-t", dest), slow)...); r.code != 0 {
		t.Fatal(r)
	}
	// Something that is not kanikorun's stays out of the list.
	if _, err := n.Client.BatchV1().Jobs(ns).Create(context.Background(), &batchv1.Job{
		ObjectMeta: metav1.ObjectMeta{Name: "not-mine"},
		Spec: batchv1.JobSpec{Suspend: new(bool), Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{
			RestartPolicy: corev1.RestartPolicyNever, Containers: []corev1.Container{{Name: "c", Image: clusterExecutor}}}}},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	r := kanikorunCluster(t, "list", "-n", ns, "-o", "json")
	if r.code != 0 {
		t.Fatal(r)
	}
	var entries []struct {
		Name, State, Reason, Destination, Digest string
		Attempts, MaxAttempts                    int
	}
	if err := json.Unmarshal([]byte(r.stdout), &entries); err != nil {
		t.Fatal(err, r.stdout)
	}
	want := map[string]string{"q-ok": "Complete", "q-bad": "Failed", "q-slow": "Running"}
	if len(entries) != 3 {
		t.Fatalf("list = %+v, want the three kanikorun builds", entries)
	}
	for _, e := range entries {
		if want[e.Name] != e.State || e.Destination != dest {
			t.Errorf("entry %+v, want state %s and destination %s", e, want[e.Name], dest)
		}
		if e.Name == "q-ok" && e.Digest != imageDigest(t, dest) && !strings.HasPrefix(e.Digest, "sha256:") {
			t.Errorf("q-ok digest %q", e.Digest)
		}
		if e.Name == "q-bad" && e.Reason != "PodFailurePolicy" {
			t.Errorf("q-bad reason %q", e.Reason)
		}
	}
	table := kanikorunCluster(t, "list", "-n", ns)
	if table.code != 0 || !strings.HasPrefix(table.stdout, "NAME") || len(lines(table.stdout)) != 4 {
		t.Errorf("list table:\n%s", table)
	}
}

func TestClusterRefusals(t *testing.T) {
	n := requireCluster(t)
	ns := clusterNamespace(t, n)
	ctxDir := buildContext(t, map[string]string{"Dockerfile": "FROM " + clusterBase + "\n"})
	dest := clusterRegistry.Ref("refuse/app:1")

	// A patch naming a field the Job does not have is refused, not dropped.
	r := kanikorunCluster(t, append(submitArgs(ns, "--name", "bad-override", "-t", dest, "--overrides", `{"spec":{"template":{"spec":{"hostNetwrk":true}}}}`), ctxDir)...)
	if r.code != 2 || !strings.Contains(r.stderr, "unknown field") {
		t.Errorf("a misspelt override:\n%s", r)
	}
	r = kanikorunCluster(t, append(submitArgs(ns, "--name", "argv-override", "-t", dest, "--overrides",
		`{"spec":{"template":{"spec":{"containers":[{"name":"kaniko","args":["--no-push"]}]}}}}`), ctxDir)...)
	if r.code != 2 || !strings.Contains(r.stderr, "may not change the executor container's") {
		t.Errorf("an override of the executor's arguments:\n%s", r)
	}

	// A name taken.
	if r := kanikorunCluster(t, append(submitArgs(ns, "--name", "twice", "-t", dest), ctxDir)...); r.code != 0 {
		t.Fatal(r)
	}
	r = kanikorunCluster(t, append(submitArgs(ns, "--name", "twice", "-t", dest), ctxDir)...)
	if r.code != 125 || !strings.Contains(r.stderr, `job "twice" exists`) || !strings.Contains(r.stderr, "--generate-name") {
		t.Errorf("a second Job of the same name:\n%s", r)
	}

	// A namespace that does not exist.
	r = kanikorunCluster(t, append(submitArgs("no-such-ns", "--name", "x", "-t", dest), ctxDir)...)
	if r.code != 125 || !strings.Contains(r.stderr, `namespace "no-such-ns" does not exist`) {
		t.Errorf("a missing namespace:\n%s", r)
	}

	// A user without rights: the verb and resource are named.
	t.Setenv("KUBECONFIG", n.NoRightsKubeconfig)
	r = kanikorunCluster(t, append(submitArgs(ns, "--name", "nope", "-t", dest), ctxDir)...)
	if r.code != 125 || !strings.Contains(r.stderr, "forbidden: cannot create jobs") || !strings.Contains(r.stderr, "Role in kanikorun's README") {
		t.Errorf("a user without rights:\n%s", r)
	}
	if r := kanikorunCluster(t, "list", "-n", ns); r.code != 125 || !strings.Contains(r.stderr, "forbidden: cannot list jobs") {
		t.Errorf("list without rights:\n%s", r)
	}

	// Unreachable.
	t.Setenv("KUBECONFIG", writeKubeconfig(t, "https://127.0.0.1:1"))
	if r := kanikorunCluster(t, "list"); r.code != 125 || !strings.Contains(r.stderr, "cluster unreachable") {
		t.Errorf("an unreachable cluster:\n%s", r)
	}
}

func writeKubeconfig(t *testing.T, server string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "kubeconfig")
	cfg := "apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster:\n    server: " + server + "\n    insecure-skip-tls-verify: true\nusers:\n- name: u\n  user:\n    token: t\ncontexts:\n- name: c\n  context: {cluster: c, user: u}\ncurrent-context: c\n"
	if err := os.WriteFile(p, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// submit creates what job prints: with --secret and --with-secret, the
// build secrets' Secret too, owned by the Job, before any pod starts.
func TestClusterSubmitCreatesBuildSecrets(t *testing.T) {
	n := requireCluster(t)
	ns := clusterNamespace(t, n)
	ctxDir := buildContext(t, map[string]string{"Dockerfile": "FROM " + clusterBase + "\nRUN --mount=type=secret,id=tok true\n"})
	secretFile := filepath.Join(t.TempDir(), "tok")
	if err := os.WriteFile(secretFile, []byte("s3cr3t-value"), 0o600); err != nil {
		t.Fatal(err)
	}
	r := kanikorunCluster(t, append(submitArgs(ns, "--name", "withsecrets", "--no-push", "--executor-flavor", "fork",
		"--with-secret", "--secret", "id=tok,src="+secretFile), ctxDir)...)
	if r.code != 0 || strings.TrimSpace(r.stdout) != "withsecrets" {
		t.Fatal(r)
	}
	if strings.Contains(r.stdout+r.stderr, "s3cr3t-value") {
		t.Errorf("submit shows the secret's value:\n%s", r)
	}
	ctx := context.Background()
	job, err := n.Client.BatchV1().Jobs(ns).Get(ctx, "withsecrets", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	s, err := n.Client.CoreV1().Secrets(ns).Get(ctx, "withsecrets-secrets", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if string(s.Data["tok"]) != "s3cr3t-value" || len(s.OwnerReferences) != 1 || s.OwnerReferences[0].UID != job.UID {
		t.Errorf("build secrets' Secret: data %q, owners %+v (Job %s)", s.Data["tok"], s.OwnerReferences, job.UID)
	}
	if job.Spec.Suspend != nil && *job.Spec.Suspend {
		t.Error("the Job was left suspended")
	}
	mounted := false
	for _, v := range job.Spec.Template.Spec.Volumes {
		if v.Secret != nil && v.Secret.SecretName == "withsecrets-secrets" {
			mounted = true
		}
	}
	if !mounted {
		t.Errorf("the Job does not mount withsecrets-secrets: %+v", job.Spec.Template.Spec.Volumes)
	}

	// Without --with-secret, submit (as job) creates no Secret and says
	// how to create it.
	r = kanikorunCluster(t, append(submitArgs(ns, "--name", "nosecrets", "--no-push", "--executor-flavor", "fork",
		"--secret", "id=tok,src="+secretFile), ctxDir)...)
	if r.code != 0 || !strings.Contains(r.stderr, "kubectl create secret generic nosecrets-secrets") {
		t.Errorf("submit without --with-secret:\n%s", r)
	}
}

// submit --timeout bounds --wait alone; local-only flags are refused as
// job refuses them.
func TestClusterSubmitTimeoutAndLocalFlags(t *testing.T) {
	n := requireCluster(t)
	ns := clusterNamespace(t, n)
	ctxDir := buildContext(t, map[string]string{"Dockerfile": "FROM " + clusterBase + "\n"})
	if r := kanikorunCluster(t, append(submitArgs(ns, "--name", "t1", "--no-push", "--timeout", "5s"), ctxDir)...); r.code != 2 || !strings.Contains(r.stderr, "--timeout bounds submit --wait") {
		t.Errorf("submit --timeout without --wait:\n%s", r)
	}
	if r := kanikorunCluster(t, append(submitArgs(ns, "--name", "t2", "--no-push", "--dry-run"), ctxDir)...); r.code != 2 || !strings.Contains(r.stderr, "local build only") {
		t.Errorf("submit --dry-run:\n%s", r)
	}
	// A build that cannot be scheduled: --wait --timeout gives up with 2.
	r := kanikorunCluster(t, append(submitArgs(ns, "--name", "t3", "--no-push", "--wait", "--timeout", "3s",
		"--overrides", `{"spec":{"template":{"spec":{"hostNetwork":true,"nodeSelector":{"kanikorun.io/none":"x"}}}}}`), ctxDir)...)
	if r.code != 2 || strings.TrimSpace(r.stdout) != "t3" {
		t.Errorf("submit --wait --timeout on an unschedulable build:\n%s", r)
	}
}

// doctor's cluster checks against the real node: the admin may do
// everything submit needs; the user without rights is told which are
// missing, with a hint.
func TestClusterDoctor(t *testing.T) {
	n := requireCluster(t)
	ns := clusterNamespace(t, n)
	ctxDir := buildContext(t, map[string]string{"Dockerfile": "FROM " + clusterBase + "\n"})
	checks := func(kubeconfig string) map[string]map[string]string {
		t.Helper()
		r := kanikorunCluster(t, "doctor", "-o", "json", "--no-push", "--executor-image", clusterExecutor, "--kubeconfig", kubeconfig, "-n", ns, ctxDir)
		var rep struct {
			Checks []map[string]string `json:"checks"`
		}
		if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
			t.Fatalf("doctor -o json: %v\n%s", err, r)
		}
		m := map[string]map[string]string{}
		for _, c := range rep.Checks {
			m[c["name"]] = c
		}
		return m
	}
	admin := checks(n.Kubeconfig)
	if c := admin["cluster"]; c["status"] != "ok" || !strings.Contains(c["detail"], "Kubernetes v1.") {
		t.Errorf("admin: cluster check %v", c)
	}
	if c := admin["cluster rights"]; c["status"] != "ok" || !strings.Contains(c["detail"], ns) {
		t.Errorf("admin: rights check %v", c)
	}
	nobody := checks(n.NoRightsKubeconfig)
	if c := nobody["cluster"]; c["status"] != "ok" {
		t.Errorf("no rights: cluster check %v", c)
	}
	c := nobody["cluster rights"]
	if c["status"] != "fail" || !strings.Contains(c["detail"], "create jobs.batch") || !strings.Contains(c["detail"], "get pods/log") ||
		!strings.Contains(c["detail"], "create pods/attach") || !strings.Contains(c["hint"], "Role in kanikorun's README") {
		t.Errorf("no rights: rights check %v", c)
	}
	unreachable := checks(writeKubeconfig(t, "https://127.0.0.1:1"))
	if c := unreachable["cluster"]; c["status"] != "fail" || c["hint"] == "" {
		t.Errorf("unreachable: cluster check %v", c)
	}
	if _, ok := unreachable["cluster rights"]; ok {
		t.Error("unreachable: rights checked anyway")
	}
}
