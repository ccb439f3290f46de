package creds

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"sort"
	"strings"
	"time"

	"github.com/docker/cli/cli/config/types"
	"github.com/docker/docker-credential-helpers/client"
	"github.com/docker/docker-credential-helpers/credentials"
	"github.com/google/go-containerregistry/pkg/name"
)

// helperPrefix starts every credential helper's program name.
const helperPrefix = "docker-credential-"

// tokenUsername is the user name a helper returns for an identity token
// (the docker CLI's native store uses the same marker).
const tokenUsername = "<token>"

// inExecutorHelpers are the helpers the kaniko executor image ships in
// /kaniko (all but the :slim variant). When the host cannot run one, its
// credHelpers entry is kept so the executor can run its own copy.
var inExecutorHelpers = map[string]bool{"gcr": true, "ecr-login": true, "acr-env": true}

// ShipsHelpers reports whether the executor image has the in-image
// credential helpers: every variant but slim (tag "slim" or "*-slim", as
// upstream and the fork publish it). "" is the default image, which has
// them.
func ShipsHelpers(image string) bool {
	// The tag beside a digest still names the variant.
	base, _, _ := strings.Cut(image, "@")
	t, err := name.NewTag(base, name.WeakValidation)
	if err != nil {
		return true
	}
	tag := strings.ToLower(t.TagStr())
	return tag != "slim" && !strings.HasSuffix(tag, "-slim")
}

// helperTimeout bounds one helper call: a helper waiting for an unlock
// prompt nobody answers must not hang the build forever.
var helperTimeout = time.Minute

// helperError says why a helper gave no answer. It never carries the
// helper's output, which may hold the secret it was about to return.
type helperError struct {
	program string
	reason  string
}

func (e *helperError) Error() string {
	return fmt.Sprintf("credential helper %q %s", e.program, e.reason)
}

// program is a client.Program that runs a helper under a context and
// remembers how the process ended, so errors can be described without the
// helper's output (client.Get quotes it verbatim).
type program struct {
	cmd *exec.Cmd
	err error
}

func (p *program) Input(in io.Reader) { p.cmd.Stdin = in }

func (p *program) Output() ([]byte, error) {
	out, err := p.cmd.Output()
	p.err = err
	return out, err
}

// helperGet asks docker-credential-<helper> for host's credentials the way
// docker does (Docker Hub under "https://index.docker.io/v1/", others under
// the host). Other tools store other spellings ("docker.io",
// "https://registry.example.com"), so when that key is unknown the helper's
// list is searched for another key naming the same registry. found is
// false when the helper knows none.
func helperGet(ctx context.Context, helper, host string) (ac types.AuthConfig, found bool, err error) {
	prog := helperPrefix + helper
	path, err := exec.LookPath(prog)
	if err != nil {
		return ac, false, &helperError{program: prog, reason: "was not found on PATH"}
	}
	primary := host
	if isDockerHub(host) {
		primary = dockerHubKey
	}
	ac, found, err = helperGetOne(ctx, prog, path, primary)
	if err != nil || found {
		return ac, found, err
	}
	// A helper that cannot list (ecr-login lists nothing useful) simply
	// has no other spelling to offer.
	keys, lerr := helperList(ctx, path)
	if lerr != nil {
		return types.AuthConfig{}, false, ctx.Err()
	}
	for _, k := range keys {
		if k == primary || keyHost(k) != canonicalHost(host) {
			continue
		}
		ac, found, err = helperGetOne(ctx, prog, path, k)
		if err != nil || found {
			return ac, found, err
		}
	}
	return types.AuthConfig{}, false, nil
}

// helperList returns the server URLs a helper stores, sorted.
func helperList(ctx context.Context, path string) ([]string, error) {
	cctx, cancel := context.WithTimeout(ctx, helperTimeout)
	defer cancel()
	m, err := client.List(programFunc(cctx, path, nil))
	if err != nil {
		return nil, err
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys, nil
}

// programFunc runs the helper at path under ctx; last, when not nil,
// receives the program of the latest call.
func programFunc(ctx context.Context, path string, last **program) client.ProgramFunc {
	return func(args ...string) client.Program {
		cmd := exec.CommandContext(ctx, path, args...)
		// Helper chatter (gpg, keychain prompts) is not ours to print,
		// and the build's output must stay free of anything a helper says.
		cmd.Stderr = io.Discard
		cmd.WaitDelay = 5 * time.Second
		p := &program{cmd: cmd}
		if last != nil {
			*last = p
		}
		return p
	}
}

func helperGetOne(ctx context.Context, prog, path, key string) (types.AuthConfig, bool, error) {
	cctx, cancel := context.WithTimeout(ctx, helperTimeout)
	defer cancel()
	var last *program
	ac, found, err := readHelperGet(programFunc(cctx, path, &last), key)
	if err == nil {
		return ac, found, nil
	}
	if ctx.Err() != nil {
		return types.AuthConfig{}, false, ctx.Err()
	}
	reason := "returned output that is not valid JSON"
	var exitErr *exec.ExitError
	switch {
	case errors.Is(cctx.Err(), context.DeadlineExceeded):
		reason = fmt.Sprintf("did not answer within %s", helperTimeout)
	case last != nil && errors.As(last.err, &exitErr):
		reason = "failed (" + exitErr.ProcessState.String() + ")"
	case last != nil && last.err != nil:
		reason = fmt.Sprintf("could not be run (%v)", last.err)
	}
	return types.AuthConfig{}, false, &helperError{program: prog, reason: reason}
}

// readHelperGet asks a helper for key's credentials and reads its answer:
// an identity token, a user and password, or none. The error, when the
// answer is no answer, quotes the helper's output (client.Get does): the
// caller must never show it.
func readHelperGet(pf client.ProgramFunc, key string) (types.AuthConfig, bool, error) {
	c, err := client.Get(pf, key)
	if err != nil {
		if credentials.IsErrCredentialsNotFound(err) {
			return types.AuthConfig{}, false, nil
		}
		return types.AuthConfig{}, false, err
	}
	if c.Username == tokenUsername {
		return types.AuthConfig{IdentityToken: c.Secret}, c.Secret != "", nil
	}
	ac := types.AuthConfig{Username: c.Username, Password: c.Secret}
	return ac, !isEmpty(ac), nil
}
