package kube

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/kanikorun/kanikorun/creds"
	"github.com/kanikorun/kanikorun/internal/errs"
	"github.com/kanikorun/kanikorun/internal/lint"
	"github.com/kanikorun/kanikorun/internal/prepare"
	"github.com/kanikorun/kanikorun/internal/spec"
)

// BuildOptions are one `kanikorun job`: the build, and how it becomes a
// Job.
type BuildOptions struct {
	// Prepare says what to build; its Mode is lint.Job whatever it says.
	Prepare prepare.Options
	// Job says how the build becomes a Job.
	Job JobOptions
	// Format is the output format: FormatYAML or FormatJSON.
	Format string
}

// Validate checks the options before anything is read; errors wrap
// spec.ErrUsage.
func (o BuildOptions) Validate() error {
	if o.Format != FormatYAML && o.Format != FormatJSON {
		return errs.Mark(fmt.Errorf("invalid --output %q: use yaml or json", o.Format), spec.ErrUsage)
	}
	if err := o.Job.Validate(); err != nil {
		return errs.Mark(err, spec.ErrUsage)
	}
	o.Prepare.Mode = lint.Job
	return o.Prepare.Validate()
}

// pack packs the context for an upload and settles how it is delivered:
// DeliverUpload becomes DeliverConfigMap when the tar fits one, else
// DeliverStdin; DeliverConfigMap that does not fit is an error. It returns
// nil for a claim.
func pack(b *spec.Build, o *JobOptions) (*PackedContext, error) {
	if b.RemoteContext != "" {
		o.Delivery = DeliverRemote
		return nil, nil
	}
	if o.Delivery != DeliverUpload && o.Delivery != DeliverConfigMap && o.Delivery != DeliverStdin {
		return nil, nil
	}
	rel, ok := b.DockerfileInContext()
	if !ok {
		return nil, fmt.Errorf("%w: %q is not under %q and only the context is uploaded; move the Dockerfile into the context", ErrDockerfileOutsideContext, b.Dockerfile, b.Context)
	}
	p, err := PackContext(b.Context, rel)
	if err != nil {
		return nil, err
	}
	fits := p.Bytes() != nil
	switch {
	case o.Delivery == DeliverConfigMap && !fits:
		p.Close()
		return nil, errs.Mark(fmt.Errorf("%w: the context is %s as a gzip tar, more than a ConfigMap holds (1 MiB); use kanikorun submit, which streams it, or put it on a claim with --workspace-claim", ErrInvalidOptions, HumanSize(p.Size)), spec.ErrUsage)
	case o.Delivery == DeliverUpload && fits:
		o.Delivery = DeliverConfigMap
	case o.Delivery == DeliverUpload:
		o.Delivery = DeliverStdin
	}
	if o.Delivery == DeliverConfigMap {
		o.UploadConfigMap = p.ConfigMapName()
	}
	return p, nil
}

// kanikoDirRefusal is Render's refusal of a --kaniko-dir that the Job o
// (its delivery settled by pack) mounts something under /kaniko for.
func kanikoDirRefusal(b *spec.Build, o JobOptions) error {
	if _, err := Render(b, o, nil); errors.Is(err, spec.ErrKanikoDirMoved) {
		return err
	}
	return nil
}

// HumanSize writes a byte count for people (the context messages of job
// and submit).
func HumanSize(n int64) string {
	switch {
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}

// RenderBuild prepares the build for a Job, shows the preflight and the
// warnings on w, resolves the credentials when the Job's Secret is to be
// emitted, and renders the Job.
func RenderBuild(ctx context.Context, o BuildOptions, w io.Writer) (rendered *Rendered, err error) {
	o.Prepare.Mode = lint.Job
	p, err := prepare.Prepare(o.Prepare)
	if err != nil {
		return nil, err
	}
	// Until the Rendered owns it, a failure removes the packed context.
	var packed *PackedContext
	defer func() {
		if rendered == nil {
			packed.Close()
		}
	}()
	// A --kaniko-dir the Job cannot take is the one line said: its mounts
	// depend on how the context travels, so it is packed first then.
	packFirst := p.Build.MovesKanikoDir()
	if packFirst {
		if packed, err = pack(p.Build, &o.Job); err != nil {
			return nil, err
		}
		if err := kanikoDirRefusal(p.Build, o.Job); err != nil {
			return nil, err
		}
	}
	if err := p.Preflight(w); err != nil {
		return nil, err
	}
	lookup := o.Prepare.Build.LookupEnv
	for _, a := range o.Prepare.Build.BuildArgs {
		if !strings.Contains(a, "=") && lookup != nil {
			if _, ok := lookup(a); ok {
				fmt.Fprintf(w, "kanikorun: warning: build arg %s is taken from your environment and written into the Job's arguments; if it is a secret, pass it another way\n", a)
			}
		}
	}
	var secret []byte
	credsFound := false
	if o.Job.WithSecret {
		cr, err := p.Credentials(ctx, w)
		if err != nil {
			return nil, err
		}
		if secret, err = cr.DockerConfigJSONSecret(); err != nil {
			return nil, err
		}
		for _, src := range cr.Sources {
			switch {
			case src.Kind == creds.None && src.Push:
				fmt.Fprintf(w, "kanikorun: warning: no credentials for %s on this machine: the Secret holds none for it; log in with docker login %s\n", src.Registry, src.Registry)
			case src.Kind == creds.Inline || src.Kind == creds.Helper || src.Kind == creds.InExecutor:
				credsFound = true
			}
		}
	}
	if !packFirst {
		if packed, err = pack(p.Build, &o.Job); err != nil {
			return nil, err
		}
	}
	r, err := Render(p.Build, o.Job, secret)
	if err != nil {
		return nil, errs.Mark(err, spec.ErrUsage)
	}
	if packed != nil {
		r.Context = packed
		if o.Job.Delivery == DeliverConfigMap {
			r.ConfigMap = UploadConfigMap(packed, o.Job.Namespace)
		}
	}
	if b := p.Build; len(b.Secrets) > 0 {
		if !o.Job.WithSecret {
			fmt.Fprintf(w, "kanikorun: the Job mounts Secret %s with the build's secrets; create it with: %s\n", o.Job.BuildSecretName(), CreateSecretCommand(b, o.Job))
		} else {
			values := make(map[string][]byte, len(b.Secrets))
			for _, s := range b.Secrets {
				if values[s.ID], err = s.Value(); err != nil {
					return nil, errs.Mark(err, spec.ErrUsage)
				}
			}
			r.BuildSecrets = BuildSecret(b, o.Job, values)
		}
	}
	loopback := p.LoopbackRegistries()
	if r.Job.Spec.Template.Spec.HostNetwork {
		// The pod shares the node's loopback (--overrides hostNetwork).
		loopback = nil
	}
	for _, h := range loopback {
		r.Warnings = append(r.Warnings, fmt.Sprintf("registry %s is this machine's loopback; inside the pod it names the pod itself, so the Job cannot reach it: use a registry address the cluster reaches", h))
	}
	for _, warn := range r.Warnings {
		fmt.Fprintf(w, "kanikorun: warning: %s\n", warn)
	}
	if o.Job.WithSecret && credsFound {
		fmt.Fprintln(w, "kanikorun: warning: the output contains registry credentials (a Secret); do not commit or share it")
	}
	if r.BuildSecrets != nil {
		fmt.Fprintf(w, "kanikorun: warning: the output contains the build's secrets (Secret %s); do not commit or share it\n", r.BuildSecrets.Name)
	}
	return r, nil
}
