package lint

import (
	"strings"
	"testing"
)

// The fork's --target is a list: it builds every stage named and pushes
// the first. Upstream takes one stage and stops on a list.
func TestTargetList(t *testing.T) {
	t.Parallel()
	const df = "FROM alpine AS base\nRUN true\n" +
		"FROM base AS app\nRUN true\n" +
		"FROM base AS test\nCOPY missing.txt /x\n" +
		"FROM alpine AS docs\nRUN true\n" +
		"FROM alpine\nRUN true\n"
	ctx := writeContext(t, map[string]string{"present": ""})
	for _, tc := range []struct {
		name, flavor, target string
		targetErrs           int      // KR016 errors
		missing              Severity // KR013 on the test stage; none when no finding
		unused               []string // stages KR018 names
	}{
		{"upstream one stage", "upstream", "app", 0, Info, nil},
		{"upstream last stage", "upstream", "", 0, Error, []string{`stage "base"`, `stage "app"`, `stage "test"`, `stage "docs"`}},
		{"upstream list", "upstream", "app,test", 1, Info, nil},
		{"fork one stage", "fork", "app", 0, Info, nil},
		{"fork list builds each stage", "fork", "app,test", 0, Error, nil},
		{"fork list with spaces", "fork", "test, app", 0, Error, nil},
		{"fork list reaching a later stage", "fork", "app,docs", 0, Info, []string{`stage "test"`}},
		{"fork list naming no stage", "fork", "app,nope,tset", 2, Info, nil},
		{"fork list any case", "fork", "APP,Test", 0, Error, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			fs := lintString(t, df, Options{Flavor: tc.flavor, Target: tc.target, Context: ctx})
			targets := withID(fs, RuleTarget)
			if len(targets) != tc.targetErrs {
				t.Errorf("KR016 = %v, want %d", targets, tc.targetErrs)
			}
			for _, f := range targets {
				if f.Severity != Error || f.Hint == "" {
					t.Errorf("KR016 not an error with a hint: %+v", f)
				}
				if tc.flavor == "upstream" && (!strings.Contains(f.Message, "is not a valid target build stage") || !strings.Contains(f.Hint, ForkImage)) {
					t.Errorf("upstream list: want kaniko's message and the fork in the hint: %+v", f)
				}
				if tc.flavor == "fork" && strings.Contains(f.Message, "app names") {
					t.Errorf("a stage that exists is reported: %+v", f)
				}
			}
			if tc.targetErrs > 0 {
				return
			}
			missing := withID(fs, RuleSourceMissing)
			if len(missing) != 1 || missing[0].Severity != tc.missing {
				t.Errorf("KR013 = %v, want one %s", missing, tc.missing)
			}
			unused := withID(fs, RuleUnusedStage)
			if len(unused) != len(tc.unused) {
				t.Errorf("KR018 = %v, want %v", unused, tc.unused)
			}
			for i, f := range unused {
				if i < len(tc.unused) && !strings.Contains(f.Message, tc.unused[i]) {
					t.Errorf("KR018 %q does not name %s", f.Message, tc.unused[i])
				}
			}
		})
	}
}

// An ARG with no value expands to the empty string in FROM, as in docker:
// a warning while the result is a valid base, an error when it is empty
// or invalid, and never a second error (KR017) for the same FROM.
func TestFromArgExpandsToEmpty(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, src string
		args      []string
		want      Severity // of KR015; none for no finding
		says      string   // in the message
	}{
		{"valid prefix", "ARG REPO\nFROM ${REPO}busybox\n", nil, Warning, `kaniko builds FROM busybox`},
		{"valid undeclared", "FROM busybox${SUFFIX}\n", nil, Warning, "neither declared"},
		{"valid tag suffix", "ARG V\nFROM alpine:3.20${V}\n", nil, Warning, "FROM alpine:3.20"},
		{"empty", "ARG BASE\nFROM $BASE\n", nil, Error, "the base is empty"},
		{"empty braced", "ARG BASE\nFROM ${BASE}\n", nil, Error, "the base is empty"},
		{"leading slash", "ARG REGISTRY\nFROM ${REGISTRY}/app:1\n", nil, Error, "not a valid image reference"},
		{"empty tag", "ARG TAG\nFROM alpine:${TAG}\n", nil, Error, "not a valid image reference"},
		{"build arg given", "ARG REPO\nFROM ${REPO}busybox\n", []string{"REPO=mirror.example/"}, none, ""},
		{"empty build arg falls back", "ARG REPO\nFROM ${REPO}busybox\n", []string{"REPO="}, Warning, "busybox"},
		{"explicit empty default", "ARG REPO=\nFROM ${REPO}busybox\n", nil, none, ""},
		{"fallback", "FROM alpine:${TAG:-3.20}\n", nil, none, ""},
		{"stage through empty prefix", "FROM alpine AS build\nRUN true\nARG P\nFROM ${P}build\n", nil, Warning, "kaniko builds FROM build"},
		{"platform arg too", "ARG REPO\nFROM ${REPO}alpine-${TARGETARCH}\n", nil, Warning, "platform"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			for _, flavor := range []string{"upstream", "fork"} {
				fs := lintString(t, tc.src, Options{Flavor: flavor, BuildArgs: tc.args})
				got := withID(fs, RuleFromArg)
				if tc.want == none {
					if len(got) > 0 {
						t.Errorf("%s: KR015 fired: %v", flavor, got)
					}
					continue
				}
				if len(got) != 1 || got[0].Severity != tc.want || !strings.Contains(got[0].Message, tc.says) {
					t.Errorf("%s: KR015 = %v, want one %s saying %q", flavor, got, tc.want, tc.says)
				}
				if refs := withID(fs, RuleStageRef); len(refs) > 0 {
					t.Errorf("%s: KR017 repeats KR015: %v", flavor, refs)
				}
				if tc.want == Warning && strings.Contains(got[0].Message, "stops") {
					t.Errorf("%s: a warning that says the build stops: %v", flavor, got[0])
				}
			}
		})
	}
}

// A stage used only through a FROM with an empty ARG prefix still counts
// as used: the empty expansion is known.
func TestFromArgEmptyPrefixKeepsStageUsed(t *testing.T) {
	t.Parallel()
	src := "FROM alpine AS build\nRUN true\nFROM alpine AS other\nRUN true\nARG P\nFROM ${P}build\n"
	fs := lintString(t, src, Options{Flavor: "upstream"})
	unused := withID(fs, RuleUnusedStage)
	if len(unused) != 1 || !strings.Contains(unused[0].Message, `stage "other"`) {
		t.Errorf("KR018 = %v, want only stage other", unused)
	}
}

// kanikorun's Job mounts the workspace read-only as a local build does:
// lint --job, kanikorun job and replay (checked as a local build) must
// judge writes under /workspace alike, and no message may promise success.
func TestJobJudgesWritesAsLocal(t *testing.T) {
	t.Parallel()
	ctx := writeContext(t, map[string]string{"src/main.go": ""})
	for _, src := range []string{
		"FROM alpine\nWORKDIR /workspace/out\n",
		"FROM alpine\nWORKDIR /workspace\nRUN true\n",
		"FROM alpine\nWORKDIR /workspace/src\n",
		"FROM alpine\nCOPY src /workspace/src2\n",
		"FROM alpine\nVOLUME /workspace/cache\n",
		"FROM alpine\nRUN echo x > /workspace/stamp\n",
		"FROM alpine\nRUN mkdir -p /workspace/build && touch /workspace/build/x\n",
	} {
		for _, flavor := range []string{"upstream", "fork"} {
			local := lintString(t, src, Options{Flavor: flavor, Context: ctx, Mode: Local})
			job := lintString(t, src, Options{Flavor: flavor, Context: ctx, Mode: Job})
			if len(local) == 0 || len(local) != len(job) {
				t.Errorf("%s %q: local %v, job %v", flavor, src, local, job)
				continue
			}
			for i := range job {
				l, j := local[i], job[i]
				if l.ID != j.ID || l.Severity != j.Severity || j.Severity != Error {
					t.Errorf("%s %q: local %v, job %v: want the same error", flavor, src, l, j)
				}
				if strings.Contains(j.Message, "succeed") || !strings.Contains(j.Message, "read-only") {
					t.Errorf("%s %q: job message %q must say the mount is read-only and not promise success", flavor, src, j.Message)
				}
			}
		}
	}
}

// The fork skips a RUN whose heredoc delimiter is quoted and exits 0; an
// unquoted one runs. Upstream drops every heredoc body, and its hint must
// not send the user to the fork with the quoted delimiter.
func TestQuotedHeredoc(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, src, flavor string
		want              Severity
		says, hint        string
	}{
		{"fork quoted", "FROM alpine\nRUN <<'EOF'\necho hi\nEOF\n", "fork", Error, "<<'EOF'", "unquote the delimiter (<<EOF)"},
		{"fork double quoted", "FROM alpine\nRUN <<\"EOT\" sh\necho hi\nEOT\n", "fork", Error, `<<"EOT"`, "<<EOT"},
		{"fork one of two quoted", "FROM alpine\nRUN <<EOF <<'EOT'\necho a\nEOF\necho b\nEOT\n", "fork", Error, "<<'EOT'", "<<EOT"},
		{"fork unquoted", "FROM alpine\nRUN <<EOF\necho hi\nEOF\n", "fork", none, "", ""},
		{"fork release v1.28.0", "FROM alpine\nRUN <<'EOF'\necho hi\nEOF\n", "ghcr.io/osscontainertools/kaniko:v1.28.0", Error, "skips", "unquote"},
		{"upstream quoted", "FROM alpine\nRUN <<'EOF'\necho hi\nEOF\n", "upstream", Error, "upstream kaniko", "with an unquoted delimiter (<<EOF)"},
		{"upstream unquoted", "FROM alpine\nRUN <<EOF\necho hi\nEOF\n", "upstream", Error, "upstream kaniko", ForkImage},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			o := Options{Flavor: tc.flavor}
			if strings.Contains(tc.flavor, "/") {
				o = Options{ExecutorImage: tc.flavor}
			}
			got := withID(lintString(t, tc.src, o), RuleRunHeredoc)
			if tc.want == none {
				if len(got) > 0 {
					t.Errorf("KR003 fired: %v", got)
				}
				return
			}
			if len(got) != 1 || got[0].Severity != tc.want || !strings.Contains(got[0].Message, tc.says) || !strings.Contains(got[0].Hint, tc.hint) {
				t.Fatalf("KR003 = %v, want one %s saying %q, hint %q", got, tc.want, tc.says, tc.hint)
			}
			if got[0].Line != 2 {
				t.Errorf("KR003 at line %d, want 2", got[0].Line)
			}
		})
	}
}

// From v1.28.0 the fork bind-mounts from the context by default
// (FF_KANIKO_RUN_MOUNT_BIND=true); a bind from another stage stays a
// warning; upstream ignores both.
func TestBindMountByRelease(t *testing.T) {
	t.Parallel()
	plain := "FROM alpine\nRUN --mount=type=bind,source=go.mod,target=/src/go.mod cat /src/go.mod\n"
	from := "FROM alpine AS b\nRUN true\nFROM alpine\nRUN --mount=type=bind,from=b,source=/etc,target=/mnt cat /mnt/hostname\n"
	for _, tc := range []struct {
		image     string
		src       string
		want      Severity
		hintsFork bool
	}{
		{"ghcr.io/osscontainertools/kaniko:v1.28.0", plain, none, false},
		{"ghcr.io/osscontainertools/kaniko:v1.28.3", plain, none, false},
		{"martizih/kaniko:latest", plain, none, false},
		{"gcr.io/kaniko-project/executor:v1.24.0", plain, Warning, true},
		{"ghcr.io/osscontainertools/kaniko:v1.28.3", from, Warning, false},
		{"gcr.io/kaniko-project/executor:v1.24.0", from, Warning, false},
	} {
		got := withID(lintString(t, tc.src, Options{ExecutorImage: tc.image}), RuleMountOther)
		if tc.want == none {
			if len(got) > 0 {
				t.Errorf("%s: KR006 fired on %q: %v", tc.image, tc.src, got)
			}
			continue
		}
		if len(got) != 1 || got[0].Severity != tc.want || strings.Contains(got[0].Hint, ForkImage) != tc.hintsFork {
			t.Errorf("%s: KR006 = %v on %q, want one %s (fork in hint: %v)", tc.image, got, tc.src, tc.want, tc.hintsFork)
		}
	}
}
