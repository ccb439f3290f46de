package main

import (
	"bytes"
	"strings"
	"testing"
)

func TestWatcherSeesSplitPhrasesAndPassesThrough(t *testing.T) {
	t.Parallel()
	tests := []struct {
		chunks []string
		want   string
	}{
		{[]string{"error checking push permissions: POST ...: UNAUTH", "ORIZED: authentication required\n"}, "refused the credentials"},
		{[]string{"mkdir /workspace/x: read-only file system\n"}, "mounts read-only"},
		{[]string{"touch: /workspace/x: Read-only file system\n"}, "mounts read-only"},
		{[]string{"sh: can't create /out: Permission denied\n"}, ""},
		{[]string{"PUT ...: DENIED: requested access to the resource is denied\n"}, "denied access"},
		{[]string{"INFO all good\n", "exit status 3\n"}, ""},
	}
	for _, tt := range tests {
		var out bytes.Buffer
		w := newWatcher(&out)
		for _, c := range tt.chunks {
			if _, err := w.Write([]byte(c)); err != nil {
				t.Fatal(err)
			}
		}
		if out.String() != strings.Join(tt.chunks, "") {
			t.Errorf("output altered: %q", out.String())
		}
		got := w.advice()
		if tt.want == "" && got != "" || !strings.Contains(got, tt.want) {
			t.Errorf("advice for %q = %q, want it to mention %q", tt.chunks, got, tt.want)
		}
	}
}
