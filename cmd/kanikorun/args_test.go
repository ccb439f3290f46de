package main

import (
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
	app := newApp(io.Discard, io.Discard, nil)
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
