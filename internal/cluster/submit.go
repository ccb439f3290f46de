package cluster

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/kanikorun/kanikorun/internal/errs"
	"github.com/kanikorun/kanikorun/internal/kube"
	"github.com/kanikorun/kanikorun/internal/spec"
)

// SubmitOptions are one `kanikorun submit`.
type SubmitOptions struct {
	// Build is the build and how it becomes a Job, as for `kanikorun
	// job`; Build.Job.Delivery is settled by Submit (a claim only when
	// Build.Job.WorkspaceClaim is set, else an upload).
	Build kube.BuildOptions
	// Conn says which cluster and namespace.
	Conn Conn
	// Wait follows the build to its end; a context streamed to stdin
	// implies it.
	Wait bool
	// Timeout bounds the following (with Wait) as wait --timeout does:
	// ErrNotFinished once it expires, the Job left running. Zero follows
	// to the end.
	Timeout time.Duration
}

// Validate checks the options before anything is read.
func (o SubmitOptions) Validate() error {
	o.Build.Format = kube.FormatYAML
	if o.Build.Job.Namespace == "" {
		o.Build.Job.Namespace = "default" // only for validation
	}
	return o.Build.Validate()
}

// Submitted is what Submit created.
type Submitted struct {
	// Name and Namespace of the Job.
	Name, Namespace string
	// Delivery is how the context reaches the pod.
	Delivery kube.Delivery
	// Outcome is the build's end, with Wait.
	Outcome *Outcome
}

// Submit renders the Job exactly as `kanikorun job` does for the same
// options, creates it (strict field validation) suspended when what it
// owns is still to be created (the credentials Secret, the build's
// secrets' Secret, a new context ConfigMap), creates those with an ownerReference to it, so they are
// garbage-collected with it and exist before any pod starts, and resumes
// it. One line on w says how the
// context travels; with Wait (or a streamed context) it then follows the
// build, its logs on w.
func Submit(ctx context.Context, o SubmitOptions, w io.Writer) (*Submitted, error) {
	c, err := Connect(o.Conn)
	if err != nil {
		return nil, err
	}
	if o.Build.Job.Namespace == "" {
		o.Build.Job.Namespace = c.Namespace
	}
	c.Namespace = o.Build.Job.Namespace
	if o.Build.Job.Delivery == "" {
		o.Build.Job.Delivery = kube.DeliverUpload
		if o.Build.Job.WorkspaceClaim != "" {
			o.Build.Job.Delivery = kube.DeliverClaim
		}
	}
	r, err := kube.RenderBuild(ctx, o.Build, w)
	if err != nil {
		return nil, err
	}
	defer r.Context.Close()
	delivery := kube.DeliverClaim
	switch {
	case r.ConfigMap != nil:
		delivery = kube.DeliverConfigMap
	case r.Context != nil:
		delivery = kube.DeliverStdin
	case isRemote(r.Job):
		delivery = kube.DeliverRemote
	}
	wait := o.Wait
	switch delivery {
	case kube.DeliverRemote:
		fmt.Fprintf(w, "kanikorun: context: fetched by the executor itself (%s)\n", strings.TrimPrefix(r.Job.Spec.Template.Spec.Containers[0].Args[0], "--context="))
	case kube.DeliverClaim:
		fmt.Fprintf(w, "kanikorun: context: on claim %s\n", claimOf(r.Job))
	case kube.DeliverConfigMap:
		fmt.Fprintf(w, "kanikorun: context: uploaded as ConfigMap %s (%s, %d entries, .dockerignore applied)\n", r.ConfigMap.Name, kube.HumanSize(r.Context.Size), r.Context.Files)
	case kube.DeliverStdin:
		if !wait {
			fmt.Fprintf(w, "kanikorun: context: %s is more than a ConfigMap holds, so it is streamed to the executor's stdin; that implies --wait\n", kube.HumanSize(r.Context.Size))
		} else {
			fmt.Fprintf(w, "kanikorun: context: streamed to the executor's stdin (%s, more than a ConfigMap holds)\n", kube.HumanSize(r.Context.Size))
		}
		wait = true
	}

	// Suspended only while something its pod needs is still to be
	// created: an unchanged context's ConfigMap is there already (adopting
	// it after the Job exists recreates it should it vanish meanwhile; the
	// kubelet retries the mount), and a claim or a streamed context needs
	// nothing. Skipping the round trip keeps submit --wait level with
	// kubectl apply + wait.
	suspend := r.Secret != nil || r.BuildSecrets != nil
	if r.ConfigMap != nil {
		existing, err := c.configMaps().Get(ctx, r.ConfigMap.Name, metav1.GetOptions{})
		switch {
		case err == nil:
			suspend = suspend || existing.DeletionTimestamp != nil
		case apierrors.IsNotFound(err), apierrors.IsForbidden(err):
			// Forbidden: the create of the Job says what is missing first.
			suspend = true
		default:
			return nil, c.apiError(err, "get", "configmaps", r.ConfigMap.Name)
		}
	}
	job := r.Job.DeepCopy()
	if suspend {
		job.Spec.Suspend = ptr(true)
	}
	created, err := c.jobs().Create(ctx, job, metav1.CreateOptions{FieldValidation: "Strict"})
	if err != nil {
		return nil, c.createError(err, "jobs", job.Name)
	}
	owner := metav1.OwnerReference{
		APIVersion: "batch/v1", Kind: "Job", Name: created.Name, UID: created.UID,
		BlockOwnerDeletion: ptr(true),
	}
	undo := func(err error) (*Submitted, error) {
		fg := metav1.DeletePropagationForeground
		_ = c.jobs().Delete(context.WithoutCancel(ctx), created.Name, metav1.DeleteOptions{PropagationPolicy: &fg})
		return nil, err
	}
	for _, secret := range []*corev1.Secret{r.Secret, r.BuildSecrets} {
		if secret == nil {
			continue
		}
		s := secret.DeepCopy()
		s.Namespace = c.Namespace
		s.OwnerReferences = []metav1.OwnerReference{withController(owner)}
		if _, err := c.secrets().Create(ctx, s, metav1.CreateOptions{FieldValidation: "Strict"}); err != nil {
			return undo(c.createError(err, "secrets", s.Name))
		}
	}
	if r.ConfigMap != nil {
		reused, err := c.ensureConfigMap(ctx, r.ConfigMap, owner)
		if err != nil {
			return undo(err)
		}
		if reused {
			fmt.Fprintf(w, "kanikorun: context: unchanged since an earlier build; ConfigMap %s reused, nothing uploaded\n", r.ConfigMap.Name)
		}
	}
	if suspend {
		patch := []byte(`{"spec":{"suspend":false}}`)
		if _, err := c.jobs().Patch(ctx, created.Name, types.MergePatchType, patch, metav1.PatchOptions{}); err != nil {
			return undo(c.apiError(err, "patch", "jobs", created.Name))
		}
	}
	sub := &Submitted{Name: created.Name, Namespace: c.Namespace, Delivery: delivery}
	if !wait {
		return sub, nil
	}
	fo := FollowOptions{Logs: w, Timeout: o.Timeout}
	if delivery == kube.DeliverStdin {
		fo.Context = r.Context
	}
	out, err := c.Follow(ctx, created.Name, fo)
	sub.Outcome = out
	return sub, err
}

// createError is apiError for a create: a strict-validation refusal is the
// user's to fix.
func (c *Client) createError(err error, resource, name string) error {
	if apierrors.IsBadRequest(err) || apierrors.IsInvalid(err) {
		return errs.Mark(fmt.Errorf("the cluster refused %s %q: %s", resource, name, firstLine(err.Error())), spec.ErrUsage)
	}
	return c.apiError(err, "create", resource, name)
}

// ensureConfigMap creates the context's ConfigMap, or, when the same
// content is there already (it is named by its hash), adds the Job as
// another owner, so it lives as long as any Job that reads it.
func (c *Client) ensureConfigMap(ctx context.Context, cm *corev1.ConfigMap, owner metav1.OwnerReference) (reused bool, err error) {
	api := c.configMaps()
	for attempt := 0; attempt < 30; attempt++ {
		existing, err := api.Get(ctx, cm.Name, metav1.GetOptions{})
		switch {
		case apierrors.IsNotFound(err):
			n := cm.DeepCopy()
			n.Namespace = c.Namespace
			n.OwnerReferences = []metav1.OwnerReference{owner}
			if _, err := api.Create(ctx, n, metav1.CreateOptions{FieldValidation: "Strict"}); err != nil {
				if apierrors.IsAlreadyExists(err) {
					continue
				}
				return false, c.createError(err, "configmaps", cm.Name)
			}
			return false, nil
		case err != nil:
			return false, c.apiError(err, "get", "configmaps", cm.Name)
		case existing.DeletionTimestamp != nil:
			// Its last owner went; wait for it to go before uploading anew.
			time.Sleep(200 * time.Millisecond)
			continue
		}
		existing.OwnerReferences = append(existing.OwnerReferences, owner)
		if _, err := api.Update(ctx, existing, metav1.UpdateOptions{FieldValidation: "Strict"}); err != nil {
			if apierrors.IsConflict(err) || apierrors.IsNotFound(err) {
				continue
			}
			return false, c.apiError(err, "update", "configmaps", cm.Name)
		}
		return true, nil
	}
	return false, fmt.Errorf("ConfigMap %q kept changing while kanikorun adopted it; submit again", cm.Name)
}

func withController(o metav1.OwnerReference) metav1.OwnerReference {
	o.Controller = ptr(true)
	return o
}

func isRemote(job *batchv1.Job) bool {
	for _, c := range job.Spec.Template.Spec.Containers {
		for _, a := range c.Args {
			if v, ok := strings.CutPrefix(a, "--context="); ok {
				return spec.IsRemoteContext(v)
			}
		}
	}
	return false
}

func claimOf(job *batchv1.Job) string {
	for _, v := range job.Spec.Template.Spec.Volumes {
		if v.PersistentVolumeClaim != nil {
			return v.PersistentVolumeClaim.ClaimName
		}
	}
	return "?"
}

func ptr[T any](v T) *T { return &v }
