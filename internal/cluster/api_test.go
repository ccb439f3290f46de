package cluster

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	authorizationv1 "k8s.io/api/authorization/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

// fakeAPI is an API server that answers the requests of api.go with
// canned objects and records what it was asked.
type fakeAPI struct {
	mu   sync.Mutex
	seen []string // "METHOD path?query accept"
	// body is the last request body, decoded with kanikorun's scheme.
	body any
}

func (f *fakeAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	f.seen = append(f.seen, r.Method+" "+r.URL.RequestURI()+" "+r.Header.Get("Accept"))
	if b, _ := io.ReadAll(r.Body); len(b) > 0 {
		f.body = fmt.Sprintf("undecodable %s body", r.Header.Get("Content-Type"))
		if obj, _, err := kubeAPI().codecs.UniversalDeserializer().Decode(b, nil, nil); err == nil {
			f.body = obj
		}
	}
	f.mu.Unlock()

	w.Header().Set("Content-Type", "application/json")
	job := batchv1.Job{TypeMeta: metav1.TypeMeta{APIVersion: "batch/v1", Kind: "Job"}, ObjectMeta: metav1.ObjectMeta{Name: "b", Namespace: "ci", ResourceVersion: "7"}}
	switch {
	case r.URL.Path == "/version":
		_, _ = io.WriteString(w, `{"major":"1","minor":"34","gitVersion":"v1.34.4"}`)
	case r.URL.Path == "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews":
		_ = json.NewEncoder(w).Encode(authorizationv1.SelfSubjectAccessReview{
			TypeMeta: metav1.TypeMeta{APIVersion: "authorization.k8s.io/v1", Kind: "SelfSubjectAccessReview"},
			Status:   authorizationv1.SubjectAccessReviewStatus{Allowed: true},
		})
	case r.URL.Path == "/apis/batch/v1/namespaces/ci/jobs" && r.URL.Query().Get("watch") == "true":
		job.ResourceVersion = "8"
		_ = json.NewEncoder(w).Encode(map[string]any{"type": "MODIFIED", "object": job})
	case r.URL.Path == "/apis/batch/v1/namespaces/ci/jobs/b":
		_ = json.NewEncoder(w).Encode(job)
	case r.URL.Path == "/api/v1/namespaces/ci/pods":
		_ = json.NewEncoder(w).Encode(corev1.PodList{
			TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "PodList"},
			Items:    []corev1.Pod{{ObjectMeta: metav1.ObjectMeta{Name: "b-1"}}},
		})
	case r.URL.Path == "/api/v1/namespaces/ci/pods/b-1/log":
		w.Header().Set("Content-Type", "text/plain")
		_, _ = io.WriteString(w, "INFO built\n")
	default:
		w.WriteHeader(http.StatusNotFound)
		_ = json.NewEncoder(w).Encode(metav1.Status{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Status"},
			Status: metav1.StatusFailure, Reason: metav1.StatusReasonNotFound, Code: http.StatusNotFound, Message: "not found"})
	}
}

func (f *fakeAPI) last() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.seen) == 0 {
		return ""
	}
	return f.seen[len(f.seen)-1]
}

// connectFake connects to a fakeAPI through a kubeconfig, as the CLI does.
func connectFake(t *testing.T) (*Client, *fakeAPI) {
	t.Helper()
	f := &fakeAPI{}
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	kc := filepath.Join(t.TempDir(), "config")
	cfg := fmt.Sprintf("apiVersion: v1\nkind: Config\ncurrent-context: dev\ncontexts:\n- name: dev\n  context: {cluster: c, user: u, namespace: ci}\nclusters:\n- name: c\n  cluster: {server: %q}\nusers:\n- name: u\n  user: {token: t0k3n}\n", srv.URL)
	if err := os.WriteFile(kc, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := Connect(Conn{Kubeconfig: kc})
	if err != nil {
		t.Fatal(err)
	}
	return c, f
}

const protobufFirst = "application/vnd.kubernetes.protobuf,application/json"

// TestAPIRequests checks that each call of api.go asks what the
// clientset's counterpart asks: the path, the options as query
// parameters, protobuf preferred for objects.
func TestAPIRequests(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	for _, tc := range []struct {
		name string
		call func(c *Client) error
		want string
	}{
		{"get job", func(c *Client) error {
			j, err := c.jobs().Get(ctx, "b", metav1.GetOptions{})
			if err == nil && j.ResourceVersion != "7" {
				err = fmt.Errorf("job %+v", j.ObjectMeta)
			}
			return err
		}, "GET /apis/batch/v1/namespaces/ci/jobs/b " + protobufFirst},
		{"watch job", func(c *Client) error {
			w, err := c.jobs().Watch(ctx, metav1.ListOptions{FieldSelector: "metadata.name=b", ResourceVersion: "7"})
			if err != nil {
				return err
			}
			defer w.Stop()
			select {
			case ev := <-w.ResultChan():
				if j, ok := ev.Object.(*batchv1.Job); !ok || j.ResourceVersion != "8" || ev.Type != "MODIFIED" {
					return fmt.Errorf("event %s %T", ev.Type, ev.Object)
				}
			case <-time.After(10 * time.Second):
				return fmt.Errorf("no event")
			}
			return nil
		}, "GET /apis/batch/v1/namespaces/ci/jobs?fieldSelector=metadata.name%3Db&resourceVersion=7&watch=true " + protobufFirst},
		{"list pods", func(c *Client) error {
			l, err := c.pods().List(ctx, metav1.ListOptions{LabelSelector: jobNameLabel + "=b"})
			if err == nil && (len(l.Items) != 1 || l.Items[0].Name != "b-1") {
				err = fmt.Errorf("pods %+v", l.Items)
			}
			return err
		}, "GET /api/v1/namespaces/ci/pods?labelSelector=batch.kubernetes.io%2Fjob-name%3Db " + protobufFirst},
		{"patch job", func(c *Client) error {
			_, err := c.jobs().Patch(ctx, "b", types.MergePatchType, []byte(`{"spec":{"suspend":false}}`), metav1.PatchOptions{})
			return err
		}, "PATCH /apis/batch/v1/namespaces/ci/jobs/b " + protobufFirst},
		{"delete job", func(c *Client) error {
			fg := metav1.DeletePropagationForeground
			return c.jobs().Delete(ctx, "b", metav1.DeleteOptions{PropagationPolicy: &fg})
		}, "DELETE /apis/batch/v1/namespaces/ci/jobs/b " + protobufFirst},
		{"logs", func(c *Client) error {
			rc, err := c.podLogs("b-1", &corev1.PodLogOptions{Container: "kaniko", Follow: true}).Stream(ctx)
			if err != nil {
				return err
			}
			defer rc.Close()
			b, err := io.ReadAll(rc)
			if err == nil && string(b) != "INFO built\n" {
				err = fmt.Errorf("log %q", b)
			}
			return err
		}, "GET /api/v1/namespaces/ci/pods/b-1/log?container=kaniko&follow=true application/json, */*"},
		{"version", func(c *Client) error {
			v, err := c.ServerVersion(ctx)
			if err == nil && v.GitVersion != "v1.34.4" {
				err = fmt.Errorf("version %+v", v)
			}
			return err
		}, "GET /version application/json, */*"},
		{"not found", func(c *Client) error {
			if _, err := c.configMaps().Get(ctx, "gone", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
				return fmt.Errorf("error %v, want NotFound", err)
			}
			return nil
		}, "GET /api/v1/namespaces/ci/configmaps/gone " + protobufFirst},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c, f := connectFake(t)
			if err := tc.call(c); err != nil {
				t.Fatal(err)
			}
			if got := f.last(); got != tc.want {
				t.Errorf("asked\n %s\nwant\n %s", got, tc.want)
			}
		})
	}
}

// TestAllowed checks the SelfSubjectAccessReview doctor sends: in the
// client's namespace, encoded so that the server can read it.
func TestAllowed(t *testing.T) {
	t.Parallel()
	c, f := connectFake(t)
	ok, err := c.Allowed(t.Context(), "", "pods", "attach", "create")
	if err != nil || !ok {
		t.Fatalf("Allowed = %v, %v", ok, err)
	}
	if got, want := f.last(), "POST /apis/authorization.k8s.io/v1/selfsubjectaccessreviews "+protobufFirst; got != want {
		t.Errorf("asked %s, want %s", got, want)
	}
	review, isReview := f.body.(*authorizationv1.SelfSubjectAccessReview)
	if !isReview {
		t.Fatalf("body = %v", f.body)
	}
	want := authorizationv1.ResourceAttributes{Namespace: "ci", Resource: "pods", Subresource: "attach", Verb: "create"}
	if a := review.Spec.ResourceAttributes; a == nil || *a != want {
		t.Errorf("attributes = %+v, want %+v", a, want)
	}
}

// TestAttachURL checks the attach request's URL, which remotecommand
// dials.
func TestAttachURL(t *testing.T) {
	t.Parallel()
	c, _ := connectFake(t)
	u := c.podAttach("b-1", &corev1.PodAttachOptions{Container: "kaniko", Stdin: true}).URL()
	if got, want := u.RequestURI(), "/api/v1/namespaces/ci/pods/b-1/attach?container=kaniko&stdin=true"; got != want {
		t.Errorf("attach URL = %s, want %s", got, want)
	}
	if !strings.HasPrefix(u.String(), c.Config.Host) {
		t.Errorf("attach URL %s is not on %s", u, c.Config.Host)
	}
}
