package spec

import (
	"slices"
	"testing"
)

func TestRetryArgs(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		retries int
		extra   []string
		want    []string
	}{
		{"no retries", 0, nil, nil},
		{"both", 3, nil, []string{"--push-retry=3", "--image-download-retry=3"}},
		{"the user's push retry wins", 2, []string{"--push-retry", "5"}, []string{"--image-download-retry=2"}},
		{"the user's download retry wins", 2, []string{"--image-download-retry=0"}, []string{"--push-retry=2"}},
		{"both given", 2, []string{"--push-retry=1", "--image-download-retry=1"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := &Build{Retries: tt.retries, ExtraArgs: tt.extra}
			if got := b.retryArgs(); !slices.Equal(got, tt.want) {
				t.Errorf("retryArgs = %q, want %q", got, tt.want)
			}
			args := b.Args(Layout{ContextDir: "/workspace", Dockerfile: "/workspace/Dockerfile"})
			// Rendered before the user's own flags, which follow verbatim.
			if tail := args[len(args)-len(tt.extra)-len(tt.want):]; !slices.Equal(tail, append(slices.Clone(tt.want), tt.extra...)) {
				t.Errorf("args end %q, want %q then %q", tail, tt.want, tt.extra)
			}
		})
	}
}

func TestRetriesValidated(t *testing.T) {
	t.Parallel()
	for _, n := range []int{-1, MaxRetries + 1} {
		if _, err := (Options{Args: []string{t.TempDir()}, Retries: n}).Build(); err == nil {
			t.Errorf("--retries %d accepted", n)
		}
	}
}
