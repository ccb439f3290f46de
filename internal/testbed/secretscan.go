package testbed

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
)

// SecretScan looks for test secrets where they must never appear: output,
// container inspect data, files left behind, emitted YAML. Each secret is
// looked for in plain text and in the base64 forms a leak takes (alone,
// with a trailing newline, and as the user:password pair of a docker
// config "auth" field), so that an encoded credential is caught too.
type SecretScan struct {
	mu       sync.Mutex
	patterns map[string]string // form -> description
	findings []string
	scanned  int
}

// NewSecretScan scans for the given secrets; user is the registry user
// that goes with a password (empty for none).
func NewSecretScan(user string, secrets ...string) *SecretScan {
	s := &SecretScan{patterns: map[string]string{}}
	add := func(form, what string) {
		if len(form) >= 6 {
			s.patterns[form] = what
		}
	}
	for i, v := range secrets {
		name := fmt.Sprintf("secret %d", i+1)
		add(v, name)
		for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding} {
			add(enc.EncodeToString([]byte(v)), name+" in base64")
			add(enc.EncodeToString([]byte(v+"\n")), name+" in base64")
			if user != "" {
				add(enc.EncodeToString([]byte(user+":"+v)), name+" as a base64 auth field")
			}
		}
	}
	return s
}

// Scan checks data, naming where it came from in any finding.
func (s *SecretScan) Scan(where string, data []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.scanned++
	for form, what := range s.patterns {
		if bytes.Contains(data, []byte(form)) {
			s.findings = append(s.findings, fmt.Sprintf("%s: %s", where, what))
		}
	}
}

// ScanFiles checks every regular file under root, except those skip
// accepts (the files kanikorun is meant to keep a credential in).
func (s *SecretScan) ScanFiles(root string, skip func(path string) bool) {
	_ = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() || skip != nil && skip(p) {
			return nil
		}
		if b, err := os.ReadFile(p); err == nil {
			s.Scan(p, b)
		}
		return nil
	})
}

// ScanYAML checks a multi-document YAML stream, leaving out the documents
// of kind Secret (which --with-secret asks to carry credentials).
func (s *SecretScan) ScanYAML(where, yaml string) {
	for i, doc := range strings.Split(yaml, "\n---") {
		if strings.Contains(doc, "\nkind: Secret\n") || strings.HasPrefix(strings.TrimSpace(doc), "kind: Secret") {
			continue
		}
		s.Scan(fmt.Sprintf("%s (document %d)", where, i+1), []byte(doc))
	}
}

// Findings are the places a secret was found.
func (s *SecretScan) Findings() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.findings...)
}

// Scanned counts the pieces of data scanned.
func (s *SecretScan) Scanned() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.scanned
}
