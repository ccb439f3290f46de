// Package cluster is kanikorun's cluster backend: it sends the Job that
// internal/kube renders to the cluster of the user's kubeconfig with
// client-go (a client of its own for the few resources it uses, api.go),
// uploads the context, follows the build (watching, never
// polling), says why a build does not run, and reads, lists and cancels
// the builds kanikorun submitted.
package cluster

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
	"syscall"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
)

// Errors a caller can branch on; each comes with a hint in its message.
var (
	// ErrNoKubeconfig: no kubeconfig was found (nor KUBECONFIG, nor
	// --kubeconfig, nor ~/.kube/config), or it names no cluster.
	ErrNoKubeconfig = errors.New("no kubeconfig")
	// ErrUnreachable: the cluster's API server did not answer.
	ErrUnreachable = errors.New("cluster unreachable")
	// ErrForbidden: the user may not do what kanikorun needs.
	ErrForbidden = errors.New("forbidden")
	// ErrExists: an object of that name exists already.
	ErrExists = errors.New("already exists")
	// ErrNoNamespace: the namespace does not exist.
	ErrNoNamespace = errors.New("namespace not found")
	// ErrNoJob: no such Job.
	ErrNoJob = errors.New("job not found")
)

// Conn says which cluster and namespace: the kubeconfig as kubectl reads
// it (KUBECONFIG, else ~/.kube/config) with its current context, unless
// overridden.
type Conn struct {
	// Kubeconfig is a kubeconfig file (--kubeconfig); empty follows
	// KUBECONFIG and the default location.
	Kubeconfig string
	// Context is the kubeconfig context (--kube-context); empty is the
	// current one.
	Context string
	// Namespace (-n); empty is the context's namespace, else "default".
	Namespace string
}

// Client is a connection to one namespace of one cluster.
type Client struct {
	// Config is its REST configuration (attach needs it).
	Config *rest.Config
	// Namespace is where Jobs are created and read.
	Namespace string
	// core, batch and authz are the REST clients of the API groups
	// core/v1, batch/v1 and authorization/v1 (api.go).
	core, batch, authz rest.Interface
}

// Connect reads the kubeconfig. It does not contact the cluster.
func Connect(c Conn) (*Client, error) {
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	if c.Kubeconfig != "" {
		rules.ExplicitPath = c.Kubeconfig
	}
	overrides := &clientcmd.ConfigOverrides{CurrentContext: c.Context}
	if c.Namespace != "" {
		overrides.Context.Namespace = c.Namespace
	}
	cc := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, overrides)
	cfg, err := cc.ClientConfig()
	if err != nil {
		if clientcmd.IsEmptyConfig(err) {
			return nil, fmt.Errorf("%w: found no kubeconfig with a cluster; set KUBECONFIG, pass --kubeconfig FILE, or log in to your cluster (its CLI writes ~/.kube/config)", ErrNoKubeconfig)
		}
		return nil, fmt.Errorf("%w: reading the kubeconfig: %s; check --kubeconfig, --kube-context and KUBECONFIG", ErrNoKubeconfig, firstLine(err.Error()))
	}
	ns, _, err := cc.Namespace()
	if err != nil {
		return nil, fmt.Errorf("%w: reading the kubeconfig's namespace: %w", ErrNoKubeconfig, err)
	}
	cfg.UserAgent = "kanikorun"
	cfg.QPS, cfg.Burst = 50, 100
	cl := &Client{Config: cfg, Namespace: ns}
	if err := cl.restClients(); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrNoKubeconfig, err)
	}
	return cl, nil
}

// apiError turns an API error into one line with a hint. verb and
// resource say what kanikorun was doing ("create", "jobs"); name is the
// object's name.
func (c *Client) apiError(err error, verb, resource, name string) error {
	if err == nil {
		return nil
	}
	var ue *url.Error
	var oe *net.OpError
	switch {
	case apierrors.IsForbidden(err):
		return fmt.Errorf("%w: cannot %s %s in namespace %q: %s; ask your cluster admin for the Role in kanikorun's README (Jobs, Secrets, ConfigMaps, Pods, pods/log, pods/attach, Events)", ErrForbidden, verb, resource, c.Namespace, firstLine(err.Error()))
	case apierrors.IsAlreadyExists(err):
		return fmt.Errorf("%w: %s %q exists in namespace %q; pass --generate-name PREFIX for a fresh name each time, or another --name", ErrExists, strings.TrimSuffix(resource, "s"), name, c.Namespace)
	case apierrors.IsNotFound(err) && isNamespaceNotFound(err):
		return fmt.Errorf("%w: namespace %q does not exist; create it (kubectl create namespace %s) or pass -n NAMESPACE", ErrNoNamespace, c.Namespace, c.Namespace)
	case apierrors.IsNotFound(err) && resource == "jobs":
		return fmt.Errorf("%w: no Job %q in namespace %q; see kanikorun list", ErrNoJob, name, c.Namespace)
	case apierrors.IsUnauthorized(err):
		return fmt.Errorf("%w: the cluster refused the kubeconfig's credentials: %s; log in again", ErrForbidden, firstLine(err.Error()))
	case errors.As(err, &oe), errors.As(err, &ue), errors.Is(err, syscall.ECONNREFUSED):
		return fmt.Errorf("%w: %s at %s: %s; check that it runs and that --kube-context names it", ErrUnreachable, "the cluster's API server", c.Config.Host, firstLine(err.Error()))
	}
	return fmt.Errorf("%s %s %q: %w", verbing(verb), resource, name, err)
}

func isNamespaceNotFound(err error) bool {
	var se apierrors.APIStatus
	if errors.As(err, &se) {
		if d := se.Status().Details; d != nil && d.Kind == "namespaces" {
			return true
		}
	}
	return false
}

func verbing(v string) string {
	switch v {
	case "get":
		return "getting"
	case "create":
		return "creating"
	case "delete":
		return "deleting"
	case "list":
		return "listing"
	case "watch":
		return "watching"
	}
	return strings.TrimSuffix(v, "e") + "ing"
}

func firstLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}
