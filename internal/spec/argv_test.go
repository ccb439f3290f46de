package spec

import (
	"slices"
	"testing"
)

func TestFlagValues(t *testing.T) {
	t.Parallel()
	argv := []string{"--context=dir:///a", "-c", "/b", "-c=/c", "-c/d", "--context", "/e", "--contexts=/no", "--", "--context=/after"}
	if got := FlagValues(argv, "context", 'c'); !slices.Equal(got, []string{"dir:///a", "/b", "/c", "/d", "/e"}) {
		t.Errorf("FlagValues = %q", got)
	}
	if got := FlagValues([]string{"--context"}, "context", 'c'); got != nil {
		t.Errorf("a flag without value gave %q", got)
	}
	if got, ok := LastFlag(argv, "context", 'c'); !ok || got != "/e" {
		t.Errorf("LastFlag = %q, %v", got, ok)
	}
	if got := FlagValues([]string{"--build-arg=A=1", "--build-arg", "B=2"}, "build-arg", 0); !slices.Equal(got, []string{"A=1", "B=2"}) {
		t.Errorf("FlagValues without a short form = %q", got)
	}
}
