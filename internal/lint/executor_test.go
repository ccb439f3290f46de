package lint

import (
	"errors"
	"strings"
	"testing"
)

const testDigest = "sha256:24454f830cdb571e2c4ad15481119c43b3cafd48dd869a9b2945d1036d1dc68d"

func TestResolveExecutor(t *testing.T) {
	t.Parallel()
	tests := []struct {
		image, override string
		want            Flavor
		notice          bool
	}{
		{image: "", want: Upstream},
		{image: "gcr.io/kaniko-project/executor:v1.24.0", want: Upstream},
		{image: "gcr.io/kaniko-project/executor:debug", want: Upstream},
		{image: "gcr.io/kaniko-project/executor", want: Upstream},
		{image: "gcr.io/kaniko-project/executor@" + testDigest, want: Upstream},
		{image: "ghcr.io/osscontainertools/kaniko:v1.28.3", want: Fork},
		{image: "ghcr.io/osscontainertools/kaniko:v1.28.3-debug", want: Fork},
		{image: "ghcr.io/osscontainertools/kaniko:1.29.0", want: Fork},
		{image: "ghcr.io/osscontainertools/kaniko:v2.0.0", want: Fork},
		{image: "ghcr.io/osscontainertools/kaniko:latest", want: Fork},
		{image: "ghcr.io/osscontainertools/kaniko:debug", want: Fork},
		{image: "ghcr.io/osscontainertools/kaniko:slim", want: Fork},
		{image: "ghcr.io/osscontainertools/kaniko", want: Fork},
		{image: "ghcr.io/osscontainertools/kaniko@" + testDigest, want: Fork},
		{image: "ghcr.io/osscontainertools/kaniko:v1.28.3@" + testDigest, want: Fork},
		{image: "ghcr.io/osscontainertools/kaniko:v1.27.1@" + testDigest, want: Upstream, notice: true},
		{image: "ghcr.io/osscontainertools/kaniko:v1.27.1", want: Upstream, notice: true},
		{image: "martizih/kaniko:v1.28.3", want: Fork},
		{image: "docker.io/martizih/kaniko:v1.28.0", want: Fork},
		{image: "index.docker.io/martizih/kaniko:debug", want: Fork},
		{image: "martizih/kaniko:v1.25.0", want: Upstream, notice: true},
		{image: "example.com/kaniko:1.28.3", want: Upstream, notice: true},
		{image: "localhost:5000/executor:v1.24.0", want: Upstream, notice: true},
		{image: "Not A Reference", want: Upstream, notice: true},
		{image: "example.com/kaniko:1", override: "fork", want: Fork},
		{image: "ghcr.io/osscontainertools/kaniko:v1.28.3", override: "UPSTREAM", want: Upstream},
	}
	for _, tc := range tests {
		t.Run(tc.image+"/"+tc.override, func(t *testing.T) {
			t.Parallel()
			e, err := ResolveExecutor(tc.image, tc.override)
			if err != nil {
				t.Fatal(err)
			}
			if e.Flavor != tc.want {
				t.Errorf("flavor = %s, want %s", e.Flavor, tc.want)
			}
			if (e.Notice != "") != tc.notice {
				t.Errorf("notice = %q, want notice: %v", e.Notice, tc.notice)
			}
		})
	}
}

func TestResolveExecutorBadFlavor(t *testing.T) {
	t.Parallel()
	if _, err := ResolveExecutor("", "buildkit"); !errors.Is(err, ErrUnknownFlavor) {
		t.Fatalf("err = %v, want ErrUnknownFlavor", err)
	}
	if _, err := LintSource([]byte("FROM alpine\n"), Options{Flavor: "buildkit"}); !errors.Is(err, ErrUnknownFlavor) {
		t.Fatalf("LintSource err = %v, want ErrUnknownFlavor", err)
	}
}

// TestUnknownExecutorNotice: an unknown image is linted as upstream and the
// report says so exactly once, however many findings there are.
func TestUnknownExecutorNotice(t *testing.T) {
	t.Parallel()
	src := "FROM alpine\nRUN <<EOF\ntrue\nEOF\nRUN <<EOF\ntrue\nEOF\n"
	r, err := LintSource([]byte(src), Options{ExecutorImage: "registry.example.com/tools/kaniko:2024"})
	if err != nil {
		t.Fatal(err)
	}
	if n := len(withID(r.Findings, RuleUnknownExecutor)); n != 1 {
		t.Errorf("KR021 findings = %d, want 1: %v", n, r.Findings)
	}
	if n := len(withID(r.Findings, RuleRunHeredoc)); n != 2 {
		t.Errorf("KR003 findings = %d, want 2 (checked as upstream)", n)
	}
	if r.Executor.Flavor != Upstream {
		t.Errorf("report flavor = %s, want upstream", r.Executor.Flavor)
	}
	if f := withID(r.Findings, RuleUnknownExecutor); len(f) == 1 && (f[0].Line != 0 || f[0].Severity != Info || !strings.Contains(f[0].Hint, "--executor-flavor")) {
		t.Errorf("KR021 finding = %+v, want a file-level info naming --executor-flavor", f[0])
	}
}

// TestForkHintNamesImage: upstream findings for what the fork can do name
// the fork's image, the way out.
func TestForkHintNamesImage(t *testing.T) {
	t.Parallel()
	fs := lintString(t, "FROM alpine\nRUN <<EOF\ntrue\nEOF\nCOPY <<EOF /x\nx\nEOF\nRUN --mount=type=cache,target=/c true\nRUN --mount=type=secret,id=a true\n", Options{})
	for _, id := range []string{RuleRunHeredoc, RuleCopyHeredoc, RuleMountOther, RuleMountSecret} {
		// Each appears once here, and each hint names the fork.
		got := withID(fs, id)
		if len(got) != 1 {
			t.Errorf("%s findings = %d, want 1", id, len(got))
			continue
		}
		if !strings.Contains(got[0].Hint, "--executor-image "+ForkImage) {
			t.Errorf("%s hint %q does not name --executor-image %s", id, got[0].Hint, ForkImage)
		}
	}
}

func TestCapabilityTable(t *testing.T) {
	t.Parallel()
	seen := map[Feature]bool{}
	for _, c := range capabilities {
		if seen[c.feature] {
			t.Errorf("feature %q has two rows", c.feature)
		}
		seen[c.feature] = true
		if _, ok := ruleIndex[c.rule]; !ok {
			t.Errorf("feature %q reports unknown rule %s", c.feature, c.rule)
		}
		if c.evidence == "" {
			t.Errorf("feature %q has no evidence", c.feature)
		}
	}
	e := Executor{Flavor: Fork}
	if e.Supports(FeatRunHeredoc) != Works || e.Supports(FeatCopyExclude) != Ignored {
		t.Error("fork capabilities do not match IMAGE.md: heredoc works, --exclude is ignored")
	}
	e.Flavor = Upstream
	if e.Supports(FeatRunHeredoc) != Ignored || e.Supports(FeatCopyExclude) != Fails {
		t.Error("upstream capabilities do not match IMAGE.md: heredoc ignored, --exclude fails")
	}
}

func TestParseRelease(t *testing.T) {
	t.Parallel()
	tests := []struct {
		tag string
		r   release
		ok  bool
	}{
		{"v1.28.3", release{1, 28, 3}, true}, {"1.27.0-debug", release{1, 27, 0}, true}, {"v1.28", release{1, 28, 0}, true},
		{"V1.30.0-slim", release{1, 30, 0}, true}, {"v2.1.0", release{2, 1, 0}, true}, {"v0.9", release{0, 9, 0}, true},
		{"latest", release{}, false}, {"debug", release{}, false}, {"v1.", release{}, false}, {"v1.x", release{}, false},
		{"1", release{}, false}, {"v1.2.3.4", release{}, false}, {"v1.+2", release{}, false}, {"v1.99999999999999999999", release{}, false},
	}
	for _, tc := range tests {
		r, ok := parseRelease(tc.tag)
		if r != tc.r || ok != tc.ok {
			t.Errorf("parseRelease(%q) = %v, %v, want %v, %v", tc.tag, r, ok, tc.r, tc.ok)
		}
	}
}

// A fork release that changes a feature is one from(...) in its row: the
// row then answers by the release the executor image's tag names.
func TestForkReleaseChangesOneCell(t *testing.T) {
	t.Parallel()
	row := capability{feature: FeatCopyExclude, upstream: Fails, fork: fork(Ignored, from("v1.29.0", Works), from("v1.31.2", Fails))}
	for _, tc := range []struct {
		image string
		want  Support
	}{
		{"gcr.io/kaniko-project/executor:v1.24.0", Fails},
		{"ghcr.io/osscontainertools/kaniko:v1.28.3", Ignored},
		{"ghcr.io/osscontainertools/kaniko:v1.29.0-debug", Works},
		{"martizih/kaniko:v1.31.1", Works},
		{"ghcr.io/osscontainertools/kaniko:v1.31.2", Fails},
		{"ghcr.io/osscontainertools/kaniko:latest", Fails},
		{"ghcr.io/osscontainertools/kaniko@sha256:" + strings.Repeat("a", 64), Fails},
		// --executor-flavor fork on a mirror: its tag still names the release.
		{"fork=registry.example.com/mirror/kaniko:v1.29.0", Works},
		{"fork=registry.example.com/mirror/kaniko:v1.28.3", Ignored},
		{"fork=registry.example.com/mirror/kaniko:v1.20.0", Ignored}, // older: the oldest the table knows
		{"fork=registry.example.com/mirror/kaniko", Fails},
	} {
		override := ""
		if img, ok := strings.CutPrefix(tc.image, "fork="); ok {
			tc.image, override = img, "fork"
		}
		e, err := ResolveExecutor(tc.image, override)
		if err != nil {
			t.Fatal(err)
		}
		if got := row.support(e); got != tc.want {
			t.Errorf("%s: support %v, want %v", tc.image, got, tc.want)
		}
	}
}
