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

func TestBoolFlag(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		argv []string
		want string // "true", "false" or "absent"
	}{
		{nil, "absent"},
		{[]string{"--skip-unused-stages"}, "true"},
		{[]string{"--skip-unused-stages=false"}, "false"},
		{[]string{"--skip-unused-stages=0", "--skip-unused-stages=T"}, "true"},
		{[]string{"--skip-unused-stages", "false"}, "true"}, // a bool flag takes no next argument
		{[]string{"--skip-unused-stages=maybe"}, "absent"},
		{[]string{"--skip-unused-stagesx"}, "absent"},
		{[]string{"--", "--skip-unused-stages"}, "absent"},
	} {
		got := "absent"
		if v := BoolFlag(tc.argv, "skip-unused-stages"); v != nil {
			got = map[bool]string{true: "true", false: "false"}[*v]
		}
		if got != tc.want {
			t.Errorf("BoolFlag(%q) = %s, want %s", tc.argv, got, tc.want)
		}
	}
}
