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
	if !strings.Contains(r.stderr, "context: uploaded as ConfigMap kanikorun-context-") {
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
	waitGone(t, func() error { _, err := n.Client.CoreV1().ConfigMaps(ns).Get(ctx, cm.Name, metav1.GetOptions{}); return err })
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
	t.Cleanup(func() { _ = n.Client.CoreV1().PersistentVolumes().Delete(context.Background(), pvName, metav1.DeleteOptions{}) })
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
