package creds

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"strings"
	"testing"

	"github.com/docker/docker-credential-helpers/client"
)

// FuzzDockerConfig feeds arbitrary config.json documents to the reader
// replay and build share. Whatever the input, it must not panic; a config
// it accepts must come out as valid JSON; an error is one line.
func FuzzDockerConfig(f *testing.F) {
	for _, seed := range []string{
		`{}`,
		`{"auths":{"registry.example.com":{"auth":"dXNlcjpwYXNz"}}}`,
		`{"auths":{"https://index.docker.io/v1/":{"identitytoken":"tok"}},"credHelpers":{"gcr.io":"gcr"}}`,
		`{"credsStore":"desktop","auths":{"127.0.0.1:5000":{}}}`,
		`{"auths":{"r":{"auth":"%%%"}}}`,
		`{"auths":{"r":{"username":"u","password":"p","registrytoken":"t"}},"proxies":{"default":{"httpProxy":"x"}}}`,
		`[1,2]`, `null`, `{"auths":null}`,
	} {
		f.Add([]byte(seed))
	}
	regs := []Registry{
		{Host: "registry.example.com", Push: true, Uses: []string{UseDestination}},
		{Host: "index.docker.io", Uses: []string{UseFrom}},
		{Host: "gcr.io", Uses: []string{UseFrom}},
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		// No helper can run: PATH holds none.
		t.Setenv("PATH", "")
		t.Setenv("DOCKER_AUTH_CONFIG", "")
		_ = UsesHelpers(raw)
		res, err := ResolveDockerConfig(context.Background(), raw, "fuzz", regs, "")
		if err != nil {
			if strings.Contains(strings.TrimSpace(err.Error()), "\n") {
				t.Errorf("error is not one line: %q", err)
			}
			return
		}
		out, err := res.ConfigJSON()
		if err != nil {
			return
		}
		if !json.Valid(out) {
			t.Errorf("ConfigJSON is not JSON: %q", out)
		}
	})
}

// FuzzHelperOutput feeds arbitrary helper answers to the readers of `get`
// and `list`: no panic, and a found credential carries a user and secret
// or an identity token.
func FuzzHelperOutput(f *testing.F) {
	for _, seed := range []string{
		`{"ServerURL":"registry.example.com","Username":"u","Secret":"s"}`,
		`{"Username":"<token>","Secret":"tok"}`,
		`{"Username":"","Secret":""}`,
		"credentials not found in native keychain\n",
		`{"https://index.docker.io/v1/":"u","registry.example.com":"v"}`,
		``, `null`, `{`, `[]`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, out []byte) {
		pf := func(args ...string) client.Program { return &fixedProgram{out: out} }
		ac, found, err := readHelperGet(pf, "registry.example.com")
		if err == nil && found && ac.IdentityToken == "" && ac.Username == "" && ac.Password == "" {
			t.Errorf("found credentials that are empty: %+v from %q", ac, out)
		}
		if m, err := client.List(pf); err == nil {
			for k := range m {
				_ = keyHost(k)
			}
		}
	})
}

// fixedProgram is a client.Program that answers out.
type fixedProgram struct {
	out []byte
	in  bytes.Buffer
}

func (p *fixedProgram) Input(r io.Reader)       { _, _ = p.in.ReadFrom(r) }
func (p *fixedProgram) Output() ([]byte, error) { return p.out, nil }
