package testbed

import (
	"encoding/base64"
	"os"
	"path/filepath"
	"testing"
)

func TestSecretScan(t *testing.T) {
	t.Parallel()
	const pw = "s3cret-password"
	tests := []struct {
		name  string
		data  string
		found bool
	}{
		{"plain", "login with " + pw + " failed", true},
		{"base64", "x " + base64.StdEncoding.EncodeToString([]byte(pw)) + " y", true},
		{"auth field", `{"auth":"` + base64.StdEncoding.EncodeToString([]byte("kanikorun:"+pw)) + `"}`, true},
		{"clean", "kanikorun: attempt 2/3 in 2s: the registry answered UNAVAILABLE", false},
	}
	for _, tt := range tests {
		s := NewSecretScan("kanikorun", pw)
		s.Scan(tt.name, []byte(tt.data))
		if got := len(s.Findings()) > 0; got != tt.found {
			t.Errorf("%s: found %v, want %v (%v)", tt.name, got, tt.found, s.Findings())
		}
	}
	s := NewSecretScan("", pw)
	s.ScanYAML("job", "kind: Job\nspec: {}\n---\napiVersion: v1\nkind: Secret\ndata:\n  x: "+pw+"\n")
	if len(s.Findings()) != 0 {
		t.Errorf("a Secret document counted: %v", s.Findings())
	}
	s.ScanYAML("job", "kind: Job\nenv: "+pw+"\n")
	if len(s.Findings()) != 1 {
		t.Errorf("a Job holding the secret passed: %v", s.Findings())
	}
	dir := t.TempDir()
	_ = os.WriteFile(filepath.Join(dir, "config.json"), []byte(pw), 0o600)
	_ = os.WriteFile(filepath.Join(dir, "log"), []byte(pw), 0o600)
	s = NewSecretScan("", pw)
	s.ScanFiles(dir, func(p string) bool { return filepath.Base(p) == "config.json" })
	if len(s.Findings()) != 1 {
		t.Errorf("files: %v", s.Findings())
	}
}
