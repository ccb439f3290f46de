package doctor

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"sigs.k8s.io/yaml"

	"github.com/kanikorun/kanikorun/creds"
	"github.com/kanikorun/kanikorun/internal/lint"
	prep "github.com/kanikorun/kanikorun/internal/prepare"
	"github.com/kanikorun/kanikorun/internal/spec"
	"github.com/kanikorun/kanikorun/runner"
)

// minFreeBytes is the free space under the daemon's root below which a
// build is likely to fail writing layers.
const minFreeBytes = 1 << 30

func daemonCheck(ctx context.Context, eng runner.Engine, o Options, add func(Check)) (runner.DaemonDetails, error) {
	cctx, cancel := context.WithTimeout(ctx, o.timeout())
	defer cancel()
	d, err := eng.Info(cctx)
	if err != nil {
		add(Check{Name: "daemon", Status: Failed, Detail: oneLine(err.Error()), Hint: "the daemon answers a ping but not info: check its logs"})
		return d, err
	}
	where := "local"
	if remoteHost(d.Host) {
		where = "remote"
	}
	add(Check{Name: "daemon", Status: OK, Detail: fmt.Sprintf("Docker %s, API %s, %s, %s at %s, storage driver %s",
		d.Version, d.APIVersion, d.OSType, where, d.Host, d.StorageDriver)})
	return d, nil
}

// remoteHost reports whether a DOCKER_HOST names another machine: a TCP
// or SSH address that is not loopback.
func remoteHost(host string) bool {
	u, err := url.Parse(host)
	if err != nil {
		return false
	}
	switch u.Scheme {
	case "unix", "npipe", "":
		return false
	}
	return !spec.IsLoopback(u.Host)
}

func executorCheck(ctx context.Context, eng runner.Engine, p *prep.Prepared, o Options, add func(Check)) {
	image := o.Prepare.Build.ExecutorImage
	if p != nil && p.Build != nil {
		image = p.Build.ExecutorImage
	}
	if image == "" {
		image = spec.DefaultExecutorImage
	}
	flavor := "unknown flavour"
	if e, err := lint.ResolveExecutor(image, o.Prepare.Preflight.Flavor); err == nil {
		flavor = string(e.Flavor)
		if e.Notice != "" {
			flavor += " (guessed; --executor-flavor says which)"
		}
	}
	name := "executor image " + image
	if eng != nil {
		present, err := eng.ImagePresent(ctx, image)
		if err == nil && present {
			add(Check{Name: name, Status: OK, Detail: "present in the daemon, " + flavor})
			return
		}
	}
	// Not there (or no daemon to ask): can the registry serve it?
	ref, err := nameRef(image, nil)
	if err != nil {
		add(Check{Name: name, Status: Failed, Detail: oneLine(err.Error()), Hint: "give --executor-image a valid reference"})
		return
	}
	auth := authn.Anonymous
	dockerConfig := o.Prepare.DockerConfig
	if reg, err := creds.RegistryOf(image, false, "executor image"); err == nil {
		if res, err := creds.Resolve(ctx, dockerConfig, []creds.Registry{reg}, ""); err == nil {
			auth = authenticator(res, reg.Host)
		}
	}
	cctx, cancel := context.WithTimeout(ctx, o.timeout())
	defer cancel()
	if _, err := remote.Head(ref, remote.WithContext(cctx), remote.WithAuth(auth)); err != nil {
		add(Check{Name: name, Status: Failed, Detail: "not in the daemon and not pullable: " + oneLine(err.Error()),
			Hint: "docker pull " + image + " (after docker login), or choose another --executor-image"})
		return
	}
	add(Check{Name: name, Status: OK, Detail: "not in the daemon yet, pullable (build pulls it), " + flavor})
}

func registryChecks(ctx context.Context, p *prep.Prepared, o Options, add func(Check)) {
	if len(p.Registries) == 0 {
		add(Check{Name: "registries", Status: Skipped, Detail: "the build touches no registry"})
		return
	}
	res, err := creds.Resolve(ctx, p.DockerConfig, p.Registries, p.Lint.ExecutorImage)
	if res == nil {
		add(Check{Name: "credentials", Status: Failed, Detail: oneLine(err.Error()), Hint: "run kanikorun creds with the same flags"})
		return
	}
	var dests []string
	if p.Build != nil && !p.Build.EffectiveNoPush() {
		dests = append(append(dests, p.Build.PushDestinations()...), p.Build.ExtraDestinations...)
	}
	for _, reg := range p.Registries {
		src := sourceOf(res, reg.Host)
		credCheck(reg, src, res.Config, add)
		auth := authenticator(res, reg.Host)
		if src.Kind == creds.InExecutor {
			add(Check{Name: "registry " + reg.Host, Status: Skipped, Detail: "credentials come from a helper inside the executor: login not checked here"})
			continue
		}
		opts := registryOptions(reg.Host, p.Flags)
		if !loginCheck(ctx, reg, auth, opts, o, add) || !reg.Push {
			continue
		}
		for _, d := range dests {
			pushCheck(ctx, reg, d, auth, opts, o, add)
		}
	}
}

func sourceOf(res *creds.Resolved, host string) creds.Source {
	for _, s := range res.Sources {
		if s.Registry == host {
			return s
		}
	}
	return creds.Source{Registry: host, Kind: creds.None, From: "none"}
}

func credCheck(reg creds.Registry, src creds.Source, config string, add func(Check)) {
	c := Check{Name: "credentials " + reg.Host, Status: OK, Detail: fmt.Sprintf("%s access, from %s", reg.Access(), src.From)}
	switch {
	case src.Kind == creds.Missing && reg.Push:
		c.Status, c.Hint = Failed, "docker login "+reg.Host+" (config "+config+")"
	case src.Kind == creds.None && reg.Push:
		c.Detail += " (anonymous push: most registries refuse it)"
	case src.Kind == creds.None || src.Kind == creds.Missing:
		c.Detail += " (pulls anonymously)"
	}
	add(c)
}

// registryOptions are how to reach host: over plain HTTP when it is on
// loopback or named insecure, as the executor reaches it.
func registryOptions(host string, f spec.ExecutorFlags) []name.Option {
	opts := []name.Option{name.WeakValidation}
	if spec.IsLoopback(host) || slices.Contains(f.InsecureRegistries, host) || f.Insecure || f.InsecurePull {
		opts = append(opts, name.Insecure)
	}
	return opts
}

// loginCheck asks the registry's /v2/ with the build's credentials, as the
// executor's transport does before anything else, and reports whether it
// answered and accepted them.
func loginCheck(ctx context.Context, reg creds.Registry, auth authn.Authenticator, opts []name.Option, o Options, add func(Check)) bool {
	c := Check{Name: "registry " + reg.Host}
	r, err := name.NewRegistry(reg.Host, opts...)
	if err != nil {
		c.Status, c.Detail, c.Hint = Failed, oneLine(err.Error()), "check the registry name"
		add(c)
		return false
	}
	cctx, cancel := context.WithTimeout(ctx, o.timeout())
	defer cancel()
	tr, err := transport.NewWithContext(cctx, r, auth, http.DefaultTransport, []string{r.Scope(transport.PullScope)})
	if err == nil {
		err = getV2(cctx, r, tr)
	}
	if err != nil {
		c.Status, c.Detail, c.Hint = classifyRegistryError(reg.Host, err)
		add(c)
		return false
	}
	c.Status, c.Detail = OK, fmt.Sprintf("reachable at %s://%s, login accepted", r.Scheme(), reg.Host)
	add(c)
	return true
}

// getV2 makes the /v2/ request through the authenticating transport: a
// basic-auth registry only checks the credentials on a request.
func getV2(ctx context.Context, r name.Registry, tr http.RoundTripper) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, fmt.Sprintf("%s://%s/v2/", r.Scheme(), r.RegistryStr()), nil)
	if err != nil {
		return err
	}
	resp, err := (&http.Client{Transport: tr}).Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	return transport.CheckError(resp, http.StatusOK)
}

func classifyRegistryError(host string, err error) (Status, string, string) {
	msg := oneLine(err.Error())
	var te *transport.Error
	if errors.As(err, &te) {
		switch te.StatusCode {
		case http.StatusUnauthorized, http.StatusForbidden:
			return Failed, "login refused: " + msg, "docker login " + host + ", then kanikorun creds to see which credentials the build uses"
		}
		return Failed, "answered " + msg, "the registry is unwell: try again later, or build with --retries"
	}
	var ne net.Error
	if errors.As(err, &ne) || strings.Contains(msg, "connection refused") || strings.Contains(msg, "no such host") {
		return Failed, "unreachable: " + msg, "is the registry running, and is " + host + " the right name and port?"
	}
	return Failed, msg, "check the registry's address and TLS (--insecure-registry for plain HTTP)"
}

// pushCheck makes the check kaniko makes before it builds: a token with
// push scope and the start of an upload, cancelled at once.
func pushCheck(ctx context.Context, reg creds.Registry, dest string, auth authn.Authenticator, opts []name.Option, o Options, add func(Check)) {
	ref, err := name.ParseReference(dest, opts...)
	if err != nil || ref.Context().RegistryStr() != reg.Host {
		return
	}
	c := Check{Name: "push " + dest}
	done := make(chan error, 1)
	go func() { done <- remote.CheckPushPermission(ref, staticKeychain{auth}, http.DefaultTransport) }()
	cctx, cancel := context.WithTimeout(ctx, o.timeout())
	defer cancel()
	select {
	case err = <-done:
	case <-cctx.Done():
		err = cctx.Err()
	}
	if err != nil {
		c.Status, c.Detail, c.Hint = classifyRegistryError(reg.Host, err)
		if strings.HasPrefix(c.Detail, "login refused") {
			c.Detail = "push refused: " + oneLine(err.Error())
			c.Hint = "check that your account may push to " + ref.Context().Name()
		}
		add(c)
		return
	}
	c.Status, c.Detail = OK, "push permission granted"
	add(c)
}

type staticKeychain struct{ auth authn.Authenticator }

func (k staticKeychain) Resolve(authn.Resource) (authn.Authenticator, error) { return k.auth, nil }

// authenticator turns the credentials resolved for host into what
// go-containerregistry sends, without them leaving memory.
func authenticator(res *creds.Resolved, host string) authn.Authenticator {
	enc := res.AuthFor(host)
	if enc == "" {
		return authn.Anonymous
	}
	raw, err := base64.URLEncoding.DecodeString(enc)
	if err != nil {
		return authn.Anonymous
	}
	var ac authn.AuthConfig
	if err := json.Unmarshal(raw, &ac); err != nil {
		return authn.Anonymous
	}
	return authn.FromConfig(ac)
}

func nameRef(image string, opts []name.Option) (name.Reference, error) {
	if spec.IsLoopback(image) {
		opts = append(opts, name.Insecure)
	}
	return name.ParseReference(image, append(opts, name.WeakValidation)...)
}

func cacheChecks(ctx context.Context, eng runner.Engine, d runner.DaemonDetails, add func(Check)) {
	vols, err := eng.ListVolumes(ctx, nil)
	name := runner.CacheVolumeName()
	switch {
	case err != nil:
		add(Check{Name: "cache volume", Status: Failed, Detail: oneLine(err.Error()), Hint: "the daemon cannot list volumes: check its logs"})
	case slices.ContainsFunc(vols, func(v runner.VolumeInfo) bool { return v.Name == name }):
		add(Check{Name: "cache volume", Status: OK, Detail: name + " present"})
	default:
		add(Check{Name: "cache volume", Status: Skipped, Detail: name + " not made yet (the first cached build makes it)"})
	}
	if remoteHost(d.Host) || d.RootDir == "" {
		add(Check{Name: "free disk", Status: Skipped, Detail: "remote daemon: not measured from here"})
		return
	}
	free, err := freeBytes(d.RootDir)
	if err != nil {
		add(Check{Name: "free disk", Status: Skipped, Detail: fmt.Sprintf("cannot measure %s: %s", d.RootDir, oneLine(err.Error()))})
		return
	}
	c := Check{Name: "free disk", Status: OK, Detail: fmt.Sprintf("%.1f GiB free under %s", float64(free)/(1<<30), d.RootDir)}
	if free < minFreeBytes {
		c.Status, c.Hint = Failed, "free space: kanikorun gc, docker system prune"
	}
	add(c)
}

// kubeconfig is the part of a kubeconfig doctor reads.
type kubeconfig struct {
	CurrentContext string `json:"current-context"`
	Contexts       []struct {
		Name    string `json:"name"`
		Context struct {
			Cluster   string `json:"cluster"`
			Namespace string `json:"namespace"`
		} `json:"context"`
	} `json:"contexts"`
	Clusters []struct {
		Name    string `json:"name"`
		Cluster struct {
			Server string `json:"server"`
		} `json:"cluster"`
	} `json:"clusters"`
}

// kubeCheck reads the kubeconfig, when there is one: parsed, its context
// named (--kube-context, else the current one). It returns true when the
// file names a context, so the cluster checks can follow; an absent
// kubeconfig is skipped, not failed.
func kubeCheck(path, kubeContext string, add func(Check)) bool {
	if path == "" {
		path, _, _ = strings.Cut(os.Getenv("KUBECONFIG"), string(os.PathListSeparator))
	}
	if path == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			add(Check{Name: "kubeconfig", Status: Skipped, Detail: "none (only submit needs one)"})
			return false
		}
		path = filepath.Join(home, ".kube", "config")
	}
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		add(Check{Name: "kubeconfig", Status: Skipped, Detail: "none at " + path + " (only submit needs one)"})
		return false
	}
	if err != nil {
		add(Check{Name: "kubeconfig", Status: Failed, Detail: oneLine(err.Error()), Hint: "make " + path + " readable, or point KUBECONFIG elsewhere"})
		return false
	}
	defer f.Close()
	raw, err := io.ReadAll(io.LimitReader(f, 16<<20))
	var kc kubeconfig
	if err == nil {
		err = yaml.Unmarshal(raw, &kc)
	}
	if err != nil {
		add(Check{Name: "kubeconfig", Status: Failed, Detail: "cannot parse " + path + ": " + oneLine(err.Error()), Hint: "kubectl config view says what is wrong with it"})
		return false
	}
	if kubeContext != "" {
		kc.CurrentContext = kubeContext
	}
	if kc.CurrentContext == "" {
		add(Check{Name: "kubeconfig", Status: Failed, Detail: path + " names no current context", Hint: "kubectl config use-context NAME"})
		return false
	}
	for _, c := range kc.Contexts {
		if c.Name != kc.CurrentContext {
			continue
		}
		server := ""
		for _, cl := range kc.Clusters {
			if cl.Name == c.Context.Cluster {
				server = cl.Cluster.Server
			}
		}
		add(Check{Name: "kubeconfig", Status: OK, Detail: fmt.Sprintf("%s: context %s, cluster %s at %s", path, c.Name, c.Context.Cluster, server)})
		return true
	}
	add(Check{Name: "kubeconfig", Status: Failed, Detail: fmt.Sprintf("%s: context %q is not among its contexts", path, kc.CurrentContext), Hint: "kubectl config use-context NAME, or --kube-context NAME"})
	return false
}
