package creds

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kanikorun/kanikorun/creds/credstest"
)

// hygieneScenario resolves a build whose every kind of source carries the
// same known password: a credential helper, inline auths, an identity
// token, and broken helpers (which print their whole store) for a pull and
// a push registry.
func hygieneScenario(t *testing.T, password string) (*Resolved, error) {
	t.Helper()
	dir := isolate(t)
	helpers(t, map[string]map[string]credstest.Cred{
		"kanikorun-test":   {"127.0.0.1:5000": {Username: "alice", Secret: password}},
		"kanikorun-broken": {"quay.io": {Username: "q", Secret: password}},
	})
	writeConfig(t, dir, `{
		"credHelpers": {"127.0.0.1:5000": "kanikorun-test", "quay.io": "kanikorun-broken", "push.example.com": "kanikorun-broken", "gcr.io": "gcr"},
		"auths": {
			"inline.example.com": {"auth": "`+b64("bob:"+password)+`"},
			"ghcr.io": {"identitytoken": "`+password+`-tok"}
		}
	}`)
	t.Setenv("DOCKER_CONFIG", "")
	return Resolve(context.Background(), dir, []Registry{
		{Host: "127.0.0.1:5000", Push: true, Uses: []string{UseDestination, UseCache}},
		{Host: "push.example.com", Push: true, Uses: []string{UseDestination}},
		pull("quay.io"), pull("index.docker.io"), pull("gcr.io"),
		{Host: "inline.example.com", Uses: []string{UseCopyFrom}},
		{Host: "ghcr.io", Uses: []string{UseMirror}},
	}, "")
}

// A known password never appears in anything the package lets out except
// the generated config itself.
func TestSecretHygiene(t *testing.T) {
	const password = "Pw-kanikorun-7f3e9c"
	res, err := hygieneScenario(t, password)
	if !errors.Is(err, ErrPushCredentials) || res == nil {
		t.Fatalf("Resolve = %v, %v; want a Resolved and ErrPushCredentials", res, err)
	}
	data := configJSON(t, res)
	if !bytes.Contains(data, []byte(b64("alice:"+password))) || !bytes.Contains(data, []byte(password+"-tok")) {
		t.Fatalf("scenario resolved no secrets, the test would prove nothing:\n%s", data)
	}

	var outputs []string
	outputs = append(outputs, err.Error(), fmt.Sprintf("%+v", err))
	outputs = append(outputs, res.Warnings...)
	var sum bytes.Buffer
	res.WriteSummary(&sum)
	outputs = append(outputs, sum.String())
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%d", "%T"} {
		outputs = append(outputs,
			fmt.Sprintf(verb, res), fmt.Sprintf(verb, *res),
			fmt.Sprintf(verb, res.Sources),
			fmt.Sprintf(verb, struct{ r Resolved }{*res}),
			fmt.Sprintf(verb, struct{ R *Resolved }{res}),
			fmt.Sprintf(verb, []Resolved{*res}),
		)
	}
	outputs = append(outputs, res.String(), res.GoString())
	j, jerr := json.Marshal(res)
	must(t, jerr)
	outputs = append(outputs, string(j))

	forbidden := []string{
		password, strings.ToLower(password),
		hex.EncodeToString([]byte(password)), strings.ToUpper(hex.EncodeToString([]byte(password))),
		b64("alice:" + password), b64("bob:" + password), b64(password),
		"exploded", // the broken helper's output
	}
	for i, out := range outputs {
		for _, f := range forbidden {
			if strings.Contains(out, f) {
				t.Errorf("output %d leaks %q:\n%s", i, f, out)
			}
		}
	}
	if !strings.Contains(fmt.Sprintf("%+v", res), "redacted") {
		t.Errorf("%%+v of Resolved does not say it is redacted: %+v", res)
	}
}

// The summary table, checked against a golden file (go test -update).
func TestWriteSummaryGolden(t *testing.T) {
	res, err := hygieneScenario(t, "pw")
	if !errors.Is(err, ErrPushCredentials) {
		t.Fatalf("error = %v", err)
	}
	var buf bytes.Buffer
	res.WriteSummary(&buf)
	golden := filepath.Join("..", "testdata", "creds", "summary.golden")
	if *update {
		must(t, os.WriteFile(golden, buf.Bytes(), 0o644))
	}
	want, err := os.ReadFile(golden)
	must(t, err)
	if buf.String() != string(want) {
		t.Errorf("summary:\n%s\nwant (go test ./creds -update to accept):\n%s", buf.String(), want)
	}
}

func TestWriteSummaryEmpty(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	(&Resolved{}).WriteSummary(&buf)
	if got := buf.String(); got != "no registries: the build needs no credentials\n" {
		t.Errorf("summary = %q", got)
	}
}
