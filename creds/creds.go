// Package creds hands kaniko exactly the registry credentials a build
// needs, resolved on the host.
//
// Mounting ~/.docker/config.json into the executor fails whenever the
// secrets live in a credential store ("credsStore", "credHelpers"): the
// helper programs (desktop, osxkeychain, pass, secretservice) do not exist
// inside the executor image. It also hands every secret the user owns to a
// build that needs one. Instead, Registries works out which registries a
// build touches, Resolve asks the host's docker configuration and helpers
// for exactly those, and ConfigJSON writes a minimal config.json holding
// inline "auths" only (plus "credHelpers" entries for the helpers the
// executor image ships itself), which the runner stores in a private
// temporary file and mounts read-only.
//
// Secrets leave the package only through ConfigJSON,
// DockerConfigJSONSecret and AuthFor: the exported types print redacted,
// and no error or warning carries a secret or a helper's output.
package creds

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/docker/cli/cli/config"
	"github.com/docker/cli/cli/config/configfile"
	"github.com/docker/cli/cli/config/types"
)

// ErrPushCredentials means a registry the build pushes to (a destination or
// the cache repository) has a credential helper that is missing or fails.
// The push would fail anyway, after a long build, so it is reported before
// any container starts.
var ErrPushCredentials = errors.New("cannot get credentials for a registry the build pushes to")

// Kind says where a registry's credentials come from.
type Kind int

// Where credentials come from.
const (
	// None: nothing configured (or the helper has no entry); kaniko goes
	// anonymously.
	None Kind = iota
	// Inline: an "auths" entry of config.json or DOCKER_AUTH_CONFIG.
	Inline
	// Helper: a credential helper (credsStore or credHelpers) run on the host.
	Helper
	// InExecutor: a credHelpers entry for a helper the executor image ships,
	// kept for the executor to run because the host could not.
	InExecutor
	// Missing: the configured helper is not installed or failed.
	Missing
)

// String returns the kind's name.
func (k Kind) String() string {
	switch k {
	case None:
		return "none"
	case Inline:
		return "inline"
	case Helper:
		return "helper"
	case InExecutor:
		return "in-executor"
	case Missing:
		return "missing"
	}
	return fmt.Sprintf("Kind(%d)", int(k))
}

// Source tells where one registry's credentials come from. It never holds
// a secret.
type Source struct {
	// Registry is the registry host as kaniko names it (Registry.Host).
	Registry string
	// Push is true when the build pushes to the registry.
	Push bool
	// Uses says why the build touches the registry.
	Uses []string
	// Kind classifies From.
	Kind Kind
	// From is the human-readable origin: "inline", "DOCKER_AUTH_CONFIG",
	// "helper desktop", "credHelpers gcr (in executor)", "none",
	// "missing: helper pass failed".
	From string
}

// Resolved holds the credentials for one build. Its exported fields never
// hold a secret, and it prints redacted with every fmt verb.
type Resolved struct {
	// Config is the config.json that was read (it may not exist).
	Config string
	// Sources has one entry per registry, sorted by registry.
	Sources []Source
	// Warnings are one-line messages for the user, e.g. a pull-only
	// registry whose helper failed.
	Warnings []string

	// secrets hides the vault in a closure: fmt prints a func as an
	// address whatever the verb, even where it cannot call Format (a
	// Resolved inside another struct's unexported field), and
	// encoding/json skips it.
	secrets func() *vault
}

// vault returns the credentials; never nil.
func (r *Resolved) vault() *vault {
	if r == nil || r.secrets == nil {
		return &vault{}
	}
	return r.secrets()
}

// vault holds what goes into the generated config.json, by config key.
type vault struct {
	auths   map[string]types.AuthConfig
	helpers map[string]string
}

// Resolve reads the docker configuration (see ConfigFile for which one)
// and gets credentials for exactly regs: DOCKER_AUTH_CONFIG first, then the
// registry's credHelpers entry or credsStore (run on the host, as docker
// does), else an inline "auths" entry.
//
// executor is the executor image the build runs: its credHelpers entries
// for the helpers it ships (all but :slim images; "" means the default
// image) are kept for it to run when the host cannot.
//
// A helper that is missing or fails costs a pull-only registry a warning
// (kaniko pulls anonymously); for a push registry Resolve returns an error
// wrapping ErrPushCredentials together with a Resolved that is still
// complete enough for WriteSummary. A cancelled ctx stops it.
func Resolve(ctx context.Context, configDir string, regs []Registry, executor string) (*Resolved, error) {
	cf, path, err := loadConfig(configDir)
	if err != nil {
		return nil, err
	}
	env, warn := envAuths()
	res, _, err := resolve(ctx, cf, path, env, regs, executor)
	if warn != "" && res != nil {
		res.Warnings = append([]string{warn}, res.Warnings...)
	}
	return res, err
}

// UsesHelpers reports whether raw, a docker config.json, defers to a
// credential helper (credsStore or a credHelpers entry): such a config
// authenticates nothing in an executor image without that helper, so
// ResolveDockerConfig must turn it into inline auths first. A document
// that is not a config.json uses none.
func UsesHelpers(raw []byte) bool {
	cf, err := config.LoadFromReader(bytes.NewReader(raw))
	if err != nil {
		return false
	}
	return cf.CredentialsStore != "" || len(cf.CredentialHelpers) > 0
}

// ResolveDockerConfig is Resolve for a docker config.json given as bytes
// rather than read from the host: the .dockerconfigjson of a Kubernetes
// Secret that a replay mounts into the executor. Its credsStore and
// credHelpers entries run on the host for exactly regs, as for a build;
// origin names the document in messages (`secret "regcred"`).
// DOCKER_AUTH_CONFIG is not consulted: the Secret is what the cluster
// would use.
//
// Unlike Resolve, the generated configuration also keeps the document's
// inline auths for registries outside regs (and credHelpers entries for
// helpers the executor ships): a replay cannot always see every image a
// build pulls, and those entries were handed to the executor anyway. A
// decoding error wraps ErrConfig and quotes no stored value.
func ResolveDockerConfig(ctx context.Context, raw []byte, origin string, regs []Registry, executor string) (*Resolved, error) {
	cf, err := config.LoadFromReader(bytes.NewReader(raw))
	if err != nil {
		return nil, fmt.Errorf("%w: parsing the docker config of %s: %w; fix the Secret", ErrConfig, origin, err)
	}
	res, v, err := resolve(ctx, cf, origin, nil, regs, executor)
	if res == nil {
		return nil, err
	}
	covered := map[string]bool{}
	for _, s := range res.Sources {
		covered[canonicalHost(s.Registry)] = true
	}
	for k, ac := range cf.AuthConfigs {
		if h := keyHost(k); h != "" && !covered[h] {
			if ac = secretFields(ac); !isEmpty(ac) {
				v.auths[k] = ac
			}
		}
	}
	if ShipsHelpers(executor) {
		for k, h := range cf.CredentialHelpers {
			if kh := keyHost(k); kh != "" && !covered[kh] && inExecutorHelpers[h] {
				v.helpers[k] = h
			}
		}
	}
	return res, err
}

// resolve gets credentials for regs from cf (read from config, a path or
// a description for messages) and env (DOCKER_AUTH_CONFIG's auths); see
// Resolve. It returns the vault too, for ResolveDockerConfig to add to.
func resolve(ctx context.Context, cf *configfile.ConfigFile, path string, env map[string]types.AuthConfig, regs []Registry, executor string) (*Resolved, *vault, error) {
	v := &vault{auths: map[string]types.AuthConfig{}, helpers: map[string]string{}}
	res := &Resolved{Config: path, secrets: func() *vault { return v }}
	var pushFailures []string
	for _, r := range mergeRegistries(regs) {
		src := Source{Registry: r.Host, Push: r.Push, Uses: r.Uses}
		key := r.Key()
		if ac, ok := inlineAuth(env, r.Host); ok {
			src.Kind, src.From = Inline, envAuthConfig
			v.auths[key] = ac
		} else if helper, setting := helperFor(cf, r.Host); helper != "" {
			ac, found, err := helperGet(ctx, helper, r.Host)
			if ctx.Err() != nil {
				return nil, nil, fmt.Errorf("resolving credentials: %w", ctx.Err())
			}
			var he *helperError
			switch {
			case err == nil && found:
				src.Kind, src.From = Helper, "helper "+helper
				v.auths[key] = ac
			case inExecutorHelpers[helper] && ShipsHelpers(executor):
				src.Kind, src.From = InExecutor, "credHelpers "+helper+" (in executor)"
				v.helpers[key] = helper
			case err == nil:
				src.Kind, src.From = None, "none (helper "+helper+" has no entry)"
			case errors.As(err, &he):
				src.Kind, src.From = Missing, "missing: helper "+helper+" "+he.short()
				if r.Push {
					pushFailures = append(pushFailures, fmt.Sprintf("%q: %v; %s", r.Host, err, he.fix(r.Host, setting, path, executor)))
				} else {
					res.Warnings = append(res.Warnings, fmt.Sprintf("no credentials for %q (pull only): %v; pulling anonymously", r.Host, err))
				}
			default:
				return nil, nil, fmt.Errorf("resolving credentials for %q: %w", r.Host, err)
			}
		} else if ac, ok := inlineAuth(cf.AuthConfigs, r.Host); ok {
			src.Kind, src.From = Inline, "inline"
			v.auths[key] = ac
		} else {
			src.Kind, src.From = None, "none"
		}
		res.Sources = append(res.Sources, src)
	}
	if len(pushFailures) > 0 {
		msg := pushFailures[0]
		if n := len(pushFailures) - 1; n > 0 {
			msg += fmt.Sprintf(" (and %d more)", n)
		}
		return res, v, fmt.Errorf("%w: %s", ErrPushCredentials, msg)
	}
	return res, v, nil
}

// short is the helper error as a few words for the summary table.
func (e *helperError) short() string {
	switch {
	case strings.HasPrefix(e.reason, "was not found"):
		return "not found"
	case strings.HasPrefix(e.reason, "did not answer"):
		return "timed out"
	}
	return "failed"
}

// fix tells the user what to do about a helper that failed for host.
func (e *helperError) fix(host, setting, config, executor string) string {
	if e.short() == "not found" {
		if helper := strings.TrimPrefix(e.program, helperPrefix); inExecutorHelpers[helper] {
			return fmt.Sprintf("install it, or use an executor image that ships it (%s is a :slim one)", executor)
		}
		return fmt.Sprintf("install it, or change %q in %s", setting, config)
	}
	login := "docker login"
	if !isDockerHub(host) {
		login += " " + host
	}
	return fmt.Sprintf("check it with %q, then build again", login)
}

// configFile builds the generated configuration: inline auths and the
// in-executor credHelpers, nothing else from the host's file.
func (r *Resolved) configFile() *configfile.ConfigFile {
	cf := &configfile.ConfigFile{AuthConfigs: map[string]types.AuthConfig{}}
	v := r.vault()
	for k, ac := range v.auths {
		cf.AuthConfigs[k] = ac
	}
	if len(v.helpers) > 0 {
		cf.CredentialHelpers = map[string]string{}
		for k, h := range v.helpers {
			cf.CredentialHelpers[k] = h
		}
	}
	return cf
}

// ConfigJSON returns the minimal config.json for the executor:
// {"auths": {...}} with one entry per registry that has credentials, plus
// "credHelpers" for in-executor helpers. It contains secrets: write it
// only to a private file (the runner's 0600 file in a 0700 directory).
func (r *Resolved) ConfigJSON() ([]byte, error) {
	var buf bytes.Buffer
	// SaveToWriter is the docker CLI's own encoder: it folds user name and
	// password into "auth" exactly as `docker login` would.
	if err := r.configFile().SaveToWriter(&buf); err != nil {
		return nil, fmt.Errorf("encoding config.json: %w", err)
	}
	buf.WriteByte('\n')
	return buf.Bytes(), nil
}

// DockerConfigJSONSecret returns the value of the ".dockerconfigjson" key
// of a kubernetes.io/dockerconfigjson Secret for the same build: the same
// document as ConfigJSON, to be mounted as /kaniko/.docker/config.json.
func (r *Resolved) DockerConfigJSONSecret() ([]byte, error) {
	return r.ConfigJSON()
}

// AuthFor returns the Engine API's X-Registry-Auth value (base64url JSON)
// for pulling from registry (any spelling: "docker.io", "ghcr.io",
// "https://index.docker.io/v1/"), or "" when the build resolved no
// credentials for it. Use RegistryOf to add the executor image's registry
// to a Resolve call.
func (r *Resolved) AuthFor(registry string) string {
	host, err := registryHost(registry)
	if err != nil {
		return ""
	}
	key := authKey(host)
	auths := r.vault().auths
	ac, ok := auths[key]
	if !ok && isDockerHub(host) {
		key = dockerHubKey
		ac, ok = auths[key]
	}
	if !ok {
		return ""
	}
	ac.ServerAddress = key
	b, err := json.Marshal(ac)
	if err != nil {
		return ""
	}
	return base64.URLEncoding.EncodeToString(b)
}

// WriteSummary prints a table of the registries and where each one's
// credentials come from. It never prints a secret.
func (r *Resolved) WriteSummary(w io.Writer) {
	if r == nil || len(r.Sources) == 0 {
		fmt.Fprintln(w, "no registries: the build needs no credentials")
		return
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "REGISTRY\tACCESS\tFOR\tCREDENTIALS")
	for _, s := range r.Sources {
		access := "pull"
		if s.Push {
			access = "push"
		}
		uses := strings.Join(s.Uses, ", ")
		if uses == "" {
			uses = "-"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", s.Registry, access, uses, s.From)
	}
	tw.Flush()
}

// redacted is what fmt shows of a Resolved.
type redacted struct {
	Config      string
	Sources     []Source
	Warnings    []string
	Credentials string
}

func (r Resolved) redacted() redacted {
	v := r.vault()
	n := len(v.auths) + len(v.helpers)
	return redacted{Config: r.Config, Sources: r.Sources, Warnings: r.Warnings, Credentials: fmt.Sprintf("<%d entries redacted>", n)}
}

// Format prints a Resolved with its credentials redacted, whatever the
// verb (%v, %+v, %#v, %s, %q, %x...).
func (r Resolved) Format(f fmt.State, verb rune) {
	v := r.redacted()
	switch {
	case verb == 'v' && f.Flag('#'):
		fmt.Fprintf(f, "%#v", v)
	case verb == 'v' && f.Flag('+'):
		fmt.Fprintf(f, "%+v", v)
	default:
		fmt.Fprintf(f, "%v", v)
	}
}

// String returns the redacted form of a Resolved.
func (r Resolved) String() string { return fmt.Sprintf("%v", r.redacted()) }

// GoString returns the redacted form of a Resolved for %#v.
func (r Resolved) GoString() string { return fmt.Sprintf("%#v", r.redacted()) }
