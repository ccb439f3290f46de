package cluster

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"time"

	authorizationv1 "k8s.io/api/authorization/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	"k8s.io/apimachinery/pkg/types"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	"k8s.io/apimachinery/pkg/version"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/util/flowcontrol"
)

// This file is kanikorun's own small Kubernetes client: the few resources
// it uses, on client-go's REST clients, with requests built the way the
// generated clientset k8s.io/client-go/kubernetes and its generic typed
// clients (gentype) build them. The clientset itself is not linked: its scheme package
// registers every API group of Kubernetes at init, which every kanikorun
// command paid for, lint and build too (~3 ms). TestNoClientset keeps it
// out.

// apiTypes are the types of the API groups kanikorun talks to (core/v1,
// batch/v1, authorization/v1) and the metav1 options sent as query
// parameters.
type apiTypes struct {
	scheme *runtime.Scheme
	codecs serializer.CodecFactory
	params runtime.ParameterCodec
}

// kubeAPI builds the types on first use, not at init: commands that never
// reach a cluster do not pay for them.
var kubeAPI = sync.OnceValue(func() *apiTypes {
	s := runtime.NewScheme()
	// The parameter codec encodes the metav1 options (GetOptions,
	// ListOptions...) for the group version of the request: each group's
	// AddToScheme registers them under its version, and this line, as in
	// client-go's scheme package, under the bare "v1" whatever a group
	// does.
	metav1.AddToGroupVersion(s, schema.GroupVersion{Version: "v1"})
	utilruntime.Must(corev1.AddToScheme(s))
	utilruntime.Must(batchv1.AddToScheme(s))
	utilruntime.Must(authorizationv1.AddToScheme(s))
	return &apiTypes{scheme: s, codecs: serializer.NewCodecFactory(s), params: runtime.NewParameterCodec(s)}
})

// restClients makes the REST client of each API group from the
// kubeconfig's configuration, sharing one HTTP client and one rate limiter
// as the clientset's groups do.
func (c *Client) restClients() error {
	cfg := *c.Config
	if cfg.RateLimiter == nil && cfg.QPS > 0 {
		cfg.RateLimiter = flowcontrol.NewTokenBucketRateLimiter(cfg.QPS, cfg.Burst)
	}
	hc, err := rest.HTTPClientFor(&cfg)
	if err != nil {
		return err
	}
	t := kubeAPI()
	for _, g := range []struct {
		client  *rest.Interface
		gv      schema.GroupVersion
		apiPath string
	}{
		{&c.core, corev1.SchemeGroupVersion, "/api"},
		{&c.batch, batchv1.SchemeGroupVersion, "/apis"},
		{&c.authz, authorizationv1.SchemeGroupVersion, "/apis"},
	} {
		gcfg := cfg
		gcfg.GroupVersion = &g.gv
		gcfg.APIPath = g.apiPath
		gcfg.NegotiatedSerializer = rest.CodecFactoryForGeneratedClient(t.scheme, t.codecs).WithoutConversion()
		if gcfg.UserAgent == "" {
			gcfg.UserAgent = rest.DefaultKubernetesUserAgent()
		}
		rc, err := rest.RESTClientForConfigAndClient(&gcfg, hc)
		if err != nil {
			return err
		}
		*g.client = rc
	}
	return nil
}

// resources is the typed client of one resource (T, listed as L) in one
// namespace: the calls kanikorun makes, each built as client-go's generic
// typed client (gentype) builds it, protobuf preferred, as the
// clientset's clients do. gentype itself is not used: its fake client
// links client-go's testing package, and with it the managed-fields,
// OpenAPI and structured-merge-diff packages and their init, which every
// command paid for.
type resources[T object, L runtime.Object] struct {
	rc        rest.Interface
	resource  string
	namespace string
	newObject func() T
	newList   func() L
}

// object is a resource with object metadata (a name, a namespace).
type object interface {
	runtime.Object
	metav1.Object
}

func resourcesOf[E, LE any, T interface {
	*E
	object
}, L interface {
	*LE
	runtime.Object
}](rc rest.Interface, resource, namespace string) resources[T, L] {
	return resources[T, L]{rc: rc, resource: resource, namespace: namespace,
		newObject: func() T { return new(E) }, newList: func() L { return new(LE) }}
}

func (r resources[T, L]) request(req *rest.Request) *rest.Request {
	return req.UseProtobufAsDefaultIfPreferred(true).NamespaceIfScoped(r.namespace, r.namespace != "").Resource(r.resource)
}

func (r resources[T, L]) Get(ctx context.Context, name string, o metav1.GetOptions) (T, error) {
	out := r.newObject()
	err := r.request(r.rc.Get()).Name(name).VersionedParams(&o, kubeAPI().params).Do(ctx).Into(out)
	return out, err
}

func (r resources[T, L]) List(ctx context.Context, o metav1.ListOptions) (L, error) {
	out := r.newList()
	err := r.request(r.rc.Get()).VersionedParams(&o, kubeAPI().params).Timeout(listTimeout(o)).Do(ctx).Into(out)
	return out, err
}

func (r resources[T, L]) Watch(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
	o.Watch = true
	return r.request(r.rc.Get()).VersionedParams(&o, kubeAPI().params).Timeout(listTimeout(o)).Watch(ctx)
}

func (r resources[T, L]) Create(ctx context.Context, obj T, o metav1.CreateOptions) (T, error) {
	out := r.newObject()
	err := r.request(r.rc.Post()).VersionedParams(&o, kubeAPI().params).Body(obj).Do(ctx).Into(out)
	return out, err
}

func (r resources[T, L]) Update(ctx context.Context, obj T, o metav1.UpdateOptions) (T, error) {
	out := r.newObject()
	err := r.request(r.rc.Put()).Name(obj.GetName()).VersionedParams(&o, kubeAPI().params).Body(obj).Do(ctx).Into(out)
	return out, err
}

func (r resources[T, L]) Delete(ctx context.Context, name string, o metav1.DeleteOptions) error {
	return r.request(r.rc.Delete()).Name(name).Body(&o).Do(ctx).Error()
}

func (r resources[T, L]) Patch(ctx context.Context, name string, pt types.PatchType, data []byte, o metav1.PatchOptions) (T, error) {
	out := r.newObject()
	err := r.request(r.rc.Patch(pt)).Name(name).VersionedParams(&o, kubeAPI().params).Body(data).Do(ctx).Into(out)
	return out, err
}

// listTimeout is the server-side timeout a list or watch asks for, which
// the request also waits for at most.
func listTimeout(o metav1.ListOptions) time.Duration {
	if o.TimeoutSeconds == nil {
		return 0
	}
	return time.Duration(*o.TimeoutSeconds) * time.Second
}

func (c *Client) jobs() resources[*batchv1.Job, *batchv1.JobList] {
	return resourcesOf[batchv1.Job, batchv1.JobList](c.batch, "jobs", c.Namespace)
}

func (c *Client) pods() resources[*corev1.Pod, *corev1.PodList] {
	return resourcesOf[corev1.Pod, corev1.PodList](c.core, "pods", c.Namespace)
}

func (c *Client) events() resources[*corev1.Event, *corev1.EventList] {
	return resourcesOf[corev1.Event, corev1.EventList](c.core, "events", c.Namespace)
}

func (c *Client) configMaps() resources[*corev1.ConfigMap, *corev1.ConfigMapList] {
	return resourcesOf[corev1.ConfigMap, corev1.ConfigMapList](c.core, "configmaps", c.Namespace)
}

func (c *Client) secrets() resources[*corev1.Secret, *corev1.SecretList] {
	return resourcesOf[corev1.Secret, corev1.SecretList](c.core, "secrets", c.Namespace)
}

// podLogs is the request for a pod's log, as the clientset's GetLogs:
// Stream it.
func (c *Client) podLogs(pod string, o *corev1.PodLogOptions) *rest.Request {
	return c.core.Get().Namespace(c.Namespace).Resource("pods").Name(pod).SubResource("log").
		VersionedParams(o, kubeAPI().params)
}

// podAttach is the request to attach to a pod's container; its URL is
// for remotecommand.
func (c *Client) podAttach(pod string, o *corev1.PodAttachOptions) *rest.Request {
	return c.core.Post().Namespace(c.Namespace).Resource("pods").Name(pod).SubResource("attach").
		VersionedParams(o, kubeAPI().params)
}

// ServerVersion asks the API server for its version, as `kubectl version`
// does.
func (c *Client) ServerVersion(ctx context.Context) (*version.Info, error) {
	body, err := c.core.Get().AbsPath("/version").Do(ctx).Raw()
	if err != nil {
		return nil, err
	}
	var v version.Info
	if err := json.Unmarshal(body, &v); err != nil {
		return nil, fmt.Errorf("reading the server's version: %w", err)
	}
	return &v, nil
}

// Allowed asks the cluster with a SelfSubjectAccessReview whether the
// kubeconfig's user may verb the resource (with its subresource, in its
// API group; "" is core) in the namespace.
func (c *Client) Allowed(ctx context.Context, group, resource, subresource, verb string) (bool, error) {
	review := &authorizationv1.SelfSubjectAccessReview{
		Spec: authorizationv1.SelfSubjectAccessReviewSpec{ResourceAttributes: &authorizationv1.ResourceAttributes{
			Namespace: c.Namespace, Group: group, Resource: resource, Subresource: subresource, Verb: verb,
		}},
	}
	res := &authorizationv1.SelfSubjectAccessReview{}
	err := c.authz.Post().UseProtobufAsDefaultIfPreferred(true).Resource("selfsubjectaccessreviews").
		VersionedParams(&metav1.CreateOptions{}, kubeAPI().params).Body(review).Do(ctx).Into(res)
	if err != nil {
		return false, err
	}
	return res.Status.Allowed, nil
}
