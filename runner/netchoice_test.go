package runner

import (
	"strings"
	"testing"
)

func TestChooseNetwork(t *testing.T) {
	t.Parallel()
	tests := []struct {
		needs     NetworkNeeds
		requested string
		explicit  bool
		want      string
		notice    string
	}{
		{NetworkNeeds{Registries: []string{"ghcr.io"}, Offline: true, LocalContext: true}, "bridge", false, "bridge", ""},
		{NetworkNeeds{Registries: []string{"ghcr.io", "127.0.0.1:5000"}}, "bridge", false, "host", "using host networking: 127.0.0.1:5000 is on loopback"},
		{NetworkNeeds{Registries: []string{"localhost:5000"}}, "bridge", false, "host", "localhost:5000"},
		{NetworkNeeds{Registries: []string{"localhost:5000"}}, "bridge", true, "bridge", "warning"},
		{NetworkNeeds{Registries: []string{"localhost:5000"}}, "host", true, "host", ""},
		{NetworkNeeds{Offline: true, LocalContext: true}, "bridge", false, "none", "using no network"},
		{NetworkNeeds{Offline: true, LocalContext: true}, "bridge", true, "bridge", ""},
		{NetworkNeeds{Offline: true, LocalContext: false}, "bridge", false, "bridge", ""},
		{NetworkNeeds{Offline: false, LocalContext: true}, "bridge", false, "bridge", ""},
	}
	for _, tt := range tests {
		got, notice := ChooseNetwork(tt.needs, tt.requested, tt.explicit)
		if got != tt.want {
			t.Errorf("ChooseNetwork(%+v, %s, %v) = %s, want %s", tt.needs, tt.requested, tt.explicit, got, tt.want)
		}
		if tt.notice == "" && notice != "" || !strings.Contains(notice, tt.notice) {
			t.Errorf("notice = %q, want %q", notice, tt.notice)
		}
		if strings.Contains(notice, "\n") {
			t.Errorf("notice is more than one line: %q", notice)
		}
	}
}
