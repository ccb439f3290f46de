package main

import (
	"bytes"
	"io"
	"reflect"
	"strings"
	"testing"
)

func TestSplitExtra(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in         []string
		own, extra []string
	}{
		{[]string{"k", "build", "."}, []string{"k", "build", "."}, nil},
		{[]string{"k", "build", ".", "--", "--cache=true", "--"}, []string{"k", "build", "."}, []string{"--cache=true", "--"}},
		{[]string{"k", "build", "--", "x"}, []string{"k", "build"}, []string{"x"}},
	}
	for _, tt := range tests {
		own, extra := splitExtra(tt.in)
		if !reflect.DeepEqual(own, tt.own) || !reflect.DeepEqual(extra, tt.extra) {
			t.Errorf("splitExtra(%q) = %q, %q; want %q, %q", tt.in, own, extra, tt.own, tt.extra)
		}
	}
}

func TestPermute(t *testing.T) {
	t.Parallel()
	app := newApp(io.Discard, io.Discard)
	tests := []struct {
		in, want string
	}{
		{"k build . -t a:1", "k build --destination a:1 ."},
		{"k build -t a:1 .", "k build --destination a:1 ."},
		{"k build ctx --no-push -f ctx/D --label a=b", "k build --no-push --file ctx/D --label a=b ctx"},
		{"k build ctx --file=D", "k build --file=D ctx"},
		{"k build -t a:1 --destination b:2 -d=c:3", "k build --destination a:1 --destination b:2 --destination=c:3"},
		{"k --help", "k --help"},
		{"k unknown . -x", "k unknown . -x"},
	}
	for _, tt := range tests {
		got := strings.Join(permute(app, strings.Fields(tt.in)), " ")
		if got != tt.want {
			t.Errorf("permute(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestChooseNetwork(t *testing.T) {
	t.Parallel()
	tests := []struct {
		regs      []string
		requested string
		explicit  bool
		want      string
		notice    string
	}{
		{[]string{"ghcr.io"}, "bridge", false, "bridge", ""},
		{[]string{"ghcr.io", "127.0.0.1:5000"}, "bridge", false, "host", "using host networking: 127.0.0.1:5000 is on loopback"},
		{[]string{"localhost:5000"}, "bridge", false, "host", "localhost:5000"},
		{[]string{"localhost:5000"}, "bridge", true, "bridge", "warning"},
		{[]string{"localhost:5000"}, "host", true, "host", ""},
		{nil, "none", true, "none", ""},
	}
	for _, tt := range tests {
		var errOut bytes.Buffer
		got := chooseNetwork(tt.regs, tt.requested, tt.explicit, &errOut)
		if got != tt.want {
			t.Errorf("chooseNetwork(%v, %s, %v) = %s, want %s", tt.regs, tt.requested, tt.explicit, got, tt.want)
		}
		if tt.notice == "" && errOut.Len() > 0 || !strings.Contains(errOut.String(), tt.notice) {
			t.Errorf("notice = %q, want %q", errOut.String(), tt.notice)
		}
		if strings.Count(errOut.String(), "\n") > 1 {
			t.Errorf("notice is more than one line: %q", errOut.String())
		}
	}
}
