package spec

import (
	"encoding/csv"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"strings"
)

// SecretsDir is where the executor finds the build's secrets, one file per
// id, in the local container and in the Job alike. It lies under /kaniko,
// which kaniko never snapshots nor deletes between stages, so a secret
// cannot end up in the image. It is not /kaniko/secrets, the fork's own
// directory (config.KanikoSecretsDir), into which fork releases with the
// secret-file copy (its PR 409) copy each --secret src: a src already
// there, read-only, would be the copy's own destination.
const SecretsDir = "/kaniko/kanikorun-secrets"

// MaxSecretSize is the largest secret accepted, BuildKit's limit (500 KiB).
const MaxSecretSize = 500 * 1024

// secretID is what an id may be: it names a file in SecretsDir and a key
// of the Job's Secret, so it keeps to a Secret key's characters.
var secretID = regexp.MustCompile(`^[-._a-zA-Z0-9]+$`)

// Secret is one --secret: a value on this machine, read from a file or an
// environment variable, that the fork executor serves to RUN
// --mount=type=secret,id=ID. The value is read only by Value, never held
// here, so printing a Build shows no secret.
type Secret struct {
	// ID is the id RUN --mount=type=secret names.
	ID string
	// File is the absolute host path of a file secret; "" for an
	// environment secret.
	File string
	// Env is the environment variable of an environment secret; "" for a
	// file secret.
	Env string
	// lookup reads the environment for Env.
	lookup func(string) (string, bool)
}

// ParseSecret reads a --secret value as docker build (buildx) does:
// comma-separated key=value fields (CSV, so a field may be quoted) with
// the keys id, src or source, env and type (file or env; type=env makes a
// src the variable's name). With only an id, the secret is the environment
// variable of that name when it is set, else the file of that name, as
// BuildKit decides. Giving both src and env is refused rather than
// guessed. lookup reads the environment; nil means os.LookupEnv.
func ParseSecret(v string, lookup func(string) (string, bool)) (Secret, error) {
	if lookup == nil {
		lookup = os.LookupEnv
	}
	r := csv.NewReader(strings.NewReader(v))
	fields, err := r.Read()
	if err != nil {
		return Secret{}, fmt.Errorf("invalid --secret %q: %w; write it as id=ID,src=FILE or id=ID,env=VAR", v, err)
	}
	s := Secret{lookup: lookup}
	typ := ""
	for _, field := range fields {
		key, value, ok := strings.Cut(field, "=")
		if !ok {
			return Secret{}, fmt.Errorf("invalid --secret %q: field %q is not key=value; write it as id=ID,src=FILE or id=ID,env=VAR", v, field)
		}
		switch strings.ToLower(key) {
		case "type":
			if value != "file" && value != "env" {
				return Secret{}, fmt.Errorf("invalid --secret %q: type %q: use type=file or type=env", v, value)
			}
			typ = value
		case "id":
			s.ID = value
		case "src", "source":
			s.File = value
		case "env":
			s.Env = value
		default:
			return Secret{}, fmt.Errorf("invalid --secret %q: unknown key %q; the keys are id, src (or source), env and type", v, key)
		}
	}
	if typ == "env" && s.Env == "" {
		s.Env, s.File = s.File, ""
	}
	switch {
	case s.ID == "":
		return Secret{}, fmt.Errorf("invalid --secret %q: no id; write it as id=ID,src=FILE or id=ID,env=VAR", v)
	case !secretID.MatchString(s.ID) || s.ID == "." || s.ID == ".." || len(s.ID) > 253:
		return Secret{}, fmt.Errorf("invalid --secret %q: id %q: use letters, digits, '-', '_' and '.' only (it names a file and a Kubernetes Secret key)", v, s.ID)
	case s.File != "" && s.Env != "":
		return Secret{}, fmt.Errorf("invalid --secret %q: give src=FILE or env=VAR, not both", v)
	case s.File == "" && s.Env == "":
		if _, ok := lookup(s.ID); ok {
			s.Env = s.ID
		} else {
			s.File = s.ID
		}
	}
	if s.File != "" {
		abs, err := filepath.Abs(s.File)
		if err != nil {
			return Secret{}, fmt.Errorf("resolving --secret id=%s file %q: %w", s.ID, s.File, err)
		}
		s.File = abs
	}
	return s, nil
}

// Source names where the value comes from, for messages: never the value.
func (s Secret) Source() string {
	if s.Env != "" {
		return "environment variable " + s.Env
	}
	return fmt.Sprintf("file %q", s.File)
}

// ContainerPath is where the executor reads the secret.
func (s Secret) ContainerPath() string { return path.Join(SecretsDir, s.ID) }

// ExecutorArg is the fork executor's flag for the secret: only the id and
// the path inside the container, so it may be shown.
func (s Secret) ExecutorArg() string {
	return "--secret=id=" + s.ID + ",src=" + s.ContainerPath()
}

// Value reads the secret from this machine. Errors name the source, never
// the value.
func (s Secret) Value() ([]byte, error) {
	if s.Env != "" {
		lookup := s.lookup
		if lookup == nil {
			lookup = os.LookupEnv
		}
		v, ok := lookup(s.Env)
		if !ok {
			return nil, fmt.Errorf("--secret id=%s: environment variable %s is not set; set it or pass src=FILE", s.ID, s.Env)
		}
		if len(v) > MaxSecretSize {
			return nil, fmt.Errorf("--secret id=%s: environment variable %s is larger than %d KiB", s.ID, s.Env, MaxSecretSize/1024)
		}
		return []byte(v), nil
	}
	st, err := os.Stat(s.File)
	switch {
	case err != nil:
		return nil, fmt.Errorf("--secret id=%s: file %q does not exist; pass an existing file with src=FILE (or env=VAR)", s.ID, s.File)
	case !st.Mode().IsRegular():
		return nil, fmt.Errorf("--secret id=%s: %q is not a regular file; pass a file with src=FILE", s.ID, s.File)
	case st.Size() > MaxSecretSize:
		return nil, fmt.Errorf("--secret id=%s: file %q is larger than %d KiB", s.ID, s.File, MaxSecretSize/1024)
	}
	b, err := os.ReadFile(s.File)
	if err != nil {
		return nil, fmt.Errorf("--secret id=%s: reading %q: %w", s.ID, s.File, unwrapPathError(err))
	}
	return b, nil
}

// ParseSecrets reads every --secret and checks that each value can be read
// now, so a missing file or variable stops the command before anything
// starts. An id given twice is refused.
func ParseSecrets(raw []string, lookup func(string) (string, bool)) ([]Secret, error) {
	var out []Secret
	seen := map[string]bool{}
	for _, v := range raw {
		s, err := ParseSecret(v, lookup)
		if err != nil {
			return nil, err
		}
		if seen[s.ID] {
			return nil, fmt.Errorf("--secret id=%s is given twice; give each id once", s.ID)
		}
		seen[s.ID] = true
		if _, err := s.Value(); err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, nil
}
