package kube

import (
	"errors"
	"fmt"
	"path"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/util/validation"
)

// Defaults of JobOptions, chosen to match the seed's cluster recipe.
const (
	// DefaultJobName is the Job's name when neither Name nor GenerateName
	// is set.
	DefaultJobName = "build-image"
	// DefaultWorkspaceClaim is the PersistentVolumeClaim that holds the
	// build context when WorkspaceClaim is empty.
	DefaultWorkspaceClaim = "kaniko-workspace"
	// DefaultBackoffLimit is how often a failed build pod is retried when
	// BackoffLimit is nil.
	DefaultBackoffLimit int32 = 3
	// ContainerName is the name of the executor container in the Job.
	ContainerName = "kaniko"
	// generateNameSuffixLen is how many random characters the API server
	// appends to a generateName prefix.
	generateNameSuffixLen = 5
)

// Errors a caller can branch on.
var (
	// ErrInvalidOptions marks a JobOptions value the Job cannot be built
	// from (a bad name, conflicting credentials, a bad quantity).
	ErrInvalidOptions = errors.New("invalid job options")
	// ErrLocalOnly marks what exists only for a local run: outputs on
	// this machine (--tar, --load, a host --digest-file) and the local
	// container's flags (--dry-run, --network, ...).
	ErrLocalOnly = errors.New("local build only")
	// ErrDockerfileOutsideContext marks a Dockerfile the pod cannot see:
	// a Job has only the workspace claim.
	ErrDockerfileOutsideContext = errors.New("dockerfile outside the build context")
)

// JobOptions say how a build becomes a Job: the Kubernetes-only choices that
// a spec.Build does not carry. The zero value is usable: every empty field
// takes the default its comment names.
type JobOptions struct {
	// Name is the Job's name, a DNS-1123 label. Empty means
	// DefaultJobName, unless GenerateName is set.
	Name string
	// GenerateName asks the API server to name the Job from this prefix
	// plus a random suffix, so every `kubectl create` makes a new Job
	// (`kubectl apply` needs a fixed Name). Excludes Name.
	GenerateName string
	// Namespace of the Job (and Secret); empty leaves it to kubectl's
	// current context.
	Namespace string
	// WorkspaceClaim is the PersistentVolumeClaim that holds the build
	// context; it is mounted read-only at /workspace. Empty means
	// DefaultWorkspaceClaim.
	WorkspaceClaim string
	// WorkspacePath is the context's directory inside the claim, a relative
	// slash-separated path ("." for the claim's root). Empty means the base
	// name of the context directory on the host.
	WorkspacePath string
	// CredentialsSecret names a kubernetes.io/dockerconfigjson Secret,
	// mounted with its .dockerconfigjson key as config.json in
	// /kaniko/.docker. With WithSecret it is also the emitted Secret's name.
	CredentialsSecret string
	// CredentialsClaim names a PersistentVolumeClaim holding a config.json
	// at its root, mounted with subPath config.json at
	// /kaniko/.docker/config.json (the seed's recipe). Excludes
	// CredentialsSecret and WithSecret.
	CredentialsClaim string
	// WithSecret also emits the dockerconfigjson Secret, filled from the
	// bytes given to Render. The output then contains credentials: the CLI
	// must say so on stderr. The Secret is named CredentialsSecret, or
	// "<job name>-docker-config".
	WithSecret bool
	// BackoffLimit is how many times a failed pod is retried; nil means
	// DefaultBackoffLimit.
	BackoffLimit *int32
	// ActiveDeadline bounds the whole Job, retries included; zero means no
	// bound. Whole seconds only.
	ActiveDeadline time.Duration
	// TTLAfterFinished lets the cluster delete the Job this long after it
	// finished; nil keeps finished Jobs, zero deletes them at once. Whole
	// seconds only.
	TTLAfterFinished *time.Duration
	// CPU is the executor's CPU as a Kubernetes quantity ("1", "500m");
	// empty sets none. It is used as request and limit alike, see Render.
	CPU string
	// Memory is the executor's memory as a Kubernetes quantity ("2Gi");
	// empty sets none. It is used as request and limit alike.
	Memory string
	// ServiceAccount runs the pod as this service account (for example one
	// bound to a cloud identity for ECR or GCR); empty uses the
	// namespace's default account without mounting its token.
	ServiceAccount string
	// Delivery is how the context reaches the pod; empty means
	// DeliverClaim (WorkspaceClaim and WorkspacePath).
	Delivery Delivery
	// UploadConfigMap names the ConfigMap holding the context's gzip tar
	// with DeliverConfigMap (PackedContext.ConfigMapName).
	UploadConfigMap string
	// Overrides is a strategic-merge patch (JSON or YAML) applied to the
	// rendered Job, as kubectl's --override-type=strategic; the result is
	// strictly decoded, and the executor's arguments cannot change.
	Overrides []byte
}

// JobName returns the name the Job gets: Name, the default, or, with
// GenerateName, the prefix (the API server appends the rest).
func (o JobOptions) JobName() string {
	switch {
	case o.Name != "":
		return o.Name
	case o.GenerateName != "":
		return o.GenerateName
	}
	return DefaultJobName
}

// SecretName returns the name of the credentials Secret the Job mounts, or
// "" when it mounts none.
func (o JobOptions) SecretName() string {
	if o.CredentialsSecret != "" {
		return o.CredentialsSecret
	}
	if o.WithSecret {
		return strings.TrimSuffix(o.JobName(), "-") + "-docker-config"
	}
	return ""
}

// BuildSecretName returns the name of the Opaque Secret holding the
// build's --secret values (key = id), "<job name>-secrets": the Job
// mounts it whenever the build has secrets, and --with-secret emits it.
func (o JobOptions) BuildSecretName() string {
	return strings.TrimSuffix(o.JobName(), "-") + "-secrets"
}

func (o JobOptions) workspaceClaim() string {
	if o.WorkspaceClaim != "" {
		return o.WorkspaceClaim
	}
	return DefaultWorkspaceClaim
}

func (o JobOptions) backoffLimit() int32 {
	if o.BackoffLimit != nil {
		return *o.BackoffLimit
	}
	return DefaultBackoffLimit
}

// Validate checks the options before anything is rendered, so that no
// invalid name reaches the printed YAML. It reports the first problem as
// one line that says what to do.
func (o JobOptions) Validate() error {
	if o.Name != "" && o.GenerateName != "" {
		return invalid("--name and --generate-name exclude each other; pass one")
	}
	if o.Name != "" {
		// A Job's name is also the value of the job-name label on its
		// pods, so the API server holds it to a label's 63 characters.
		if errs := validation.IsDNS1123Label(o.Name); len(errs) > 0 {
			return invalid("job name %q: %s; use lowercase letters, digits and '-'", o.Name, errs[0])
		}
	}
	if o.GenerateName != "" {
		probe := o.GenerateName + strings.Repeat("x", generateNameSuffixLen)
		if errs := validation.IsDNS1123Label(probe); len(errs) > 0 {
			return invalid("generate-name prefix %q: %s (with the %d random characters the server adds); use lowercase letters, digits and '-'", o.GenerateName, errs[0], generateNameSuffixLen)
		}
	}
	if o.Namespace != "" {
		if errs := validation.IsDNS1123Label(o.Namespace); len(errs) > 0 {
			return invalid("namespace %q: %s", o.Namespace, errs[0])
		}
	}
	names := []struct{ what, flag, v string }{
		{"workspace claim", "--workspace-claim", o.WorkspaceClaim},
		{"credentials secret", "--credentials-secret", o.CredentialsSecret},
		{"credentials claim", "--credentials-claim", o.CredentialsClaim},
		{"service account", "--service-account", o.ServiceAccount},
	}
	for _, n := range names {
		if n.v == "" {
			continue
		}
		if errs := validation.IsDNS1123Subdomain(n.v); len(errs) > 0 {
			return invalid("%s %q: %s; fix %s", n.what, n.v, errs[0], n.flag)
		}
	}
	if o.WithSecret {
		if errs := validation.IsDNS1123Subdomain(o.SecretName()); len(errs) > 0 {
			return invalid("secret name %q: %s; pass --credentials-secret NAME", o.SecretName(), errs[0])
		}
	}
	if o.CredentialsClaim != "" && (o.CredentialsSecret != "" || o.WithSecret) {
		return invalid("--credentials-claim excludes --credentials-secret and --with-secret; pass one way to get credentials")
	}
	if _, err := cleanWorkspacePath(o.WorkspacePath); err != nil {
		return err
	}
	if o.BackoffLimit != nil && *o.BackoffLimit < 0 {
		return invalid("backoff limit %d is negative; pass 0 or more", *o.BackoffLimit)
	}
	if o.ActiveDeadline != 0 {
		if _, err := wholeSeconds("--active-deadline", o.ActiveDeadline, false); err != nil {
			return err
		}
	}
	if o.TTLAfterFinished != nil {
		if _, err := wholeSeconds("--ttl-after-finished", *o.TTLAfterFinished, true); err != nil {
			return err
		}
	}
	switch o.Delivery {
	case "", DeliverClaim, DeliverStdin, DeliverUpload, DeliverRemote:
	case DeliverConfigMap:
		// Empty until RenderBuild has packed the context.
		if errs := validation.IsDNS1123Subdomain(o.UploadConfigMap); o.UploadConfigMap != "" && len(errs) > 0 {
			return invalid("upload ConfigMap name %q: %s", o.UploadConfigMap, errs[0])
		}
	default:
		return invalid("unknown context delivery %q", o.Delivery)
	}
	for _, q := range []struct{ flag, v string }{{"--cpu", o.CPU}, {"--memory", o.Memory}} {
		if _, err := quantity(q.flag, q.v); err != nil {
			return err
		}
	}
	return nil
}

func invalid(format string, a ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrInvalidOptions}, a...)...)
}

// cleanWorkspacePath checks a --workspace-path value and returns it clean;
// "" stays "" (the caller derives the default).
func cleanWorkspacePath(p string) (string, error) {
	if p == "" {
		return "", nil
	}
	c := path.Clean(p)
	if path.IsAbs(c) || c == ".." || strings.HasPrefix(c, "../") || strings.Contains(p, `\`) {
		return "", invalid("workspace path %q must be a relative path inside the claim, like my-build or . for its root", p)
	}
	return c, nil
}

// wholeSeconds converts a duration flag to the API's seconds.
func wholeSeconds(flag string, d time.Duration, zeroOK bool) (int64, error) {
	switch {
	case d < 0 || (d == 0 && !zeroOK):
		return 0, invalid("%s %s must be positive", flag, d)
	case d%time.Second != 0:
		return 0, invalid("%s %s is not a whole number of seconds; round it, like %s", flag, d, d.Round(time.Second))
	}
	return int64(d / time.Second), nil
}

// quantity parses a resource flag; "" is no quantity.
func quantity(flag, v string) (*resource.Quantity, error) {
	if v == "" {
		return nil, nil
	}
	q, err := resource.ParseQuantity(v)
	if err != nil {
		return nil, invalid("%s %q is not a Kubernetes quantity (%v); write it like 500m, 2 or 4Gi", flag, v, err)
	}
	if q.Sign() <= 0 {
		return nil, invalid("%s %q must be positive", flag, v)
	}
	return &q, nil
}
