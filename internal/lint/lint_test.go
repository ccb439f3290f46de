package lint

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	parsed "github.com/kanikorun/kanikorun/internal/dockerfile"
	"github.com/kanikorun/kanikorun/internal/spec"
)

func TestWriteJSON(t *testing.T) {
	t.Parallel()
	src := "FROM alpine\n\nRUN --network=none \\\n    --mount=type=cache,target=/c make\n"
	r, err := LintSource([]byte(src), Options{DisplayName: "app/Dockerfile"})
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := WriteJSON(&buf, r.Findings); err != nil {
		t.Fatal(err)
	}
	// Decode without our types: a tool sees plain JSON.
	var got []map[string]any
	if err := json.Unmarshal(buf.Bytes(), &got); err != nil {
		t.Fatalf("output is not a JSON array: %v\n%s", err, buf.String())
	}
	want := []map[string]any{
		{"id": "KR007", "severity": "warning", "file": "app/Dockerfile", "line": 3.0, "column": 5.0},
		{"id": "KR006", "severity": "warning", "file": "app/Dockerfile", "line": 4.0, "column": 5.0},
	}
	if len(got) != len(want) {
		t.Fatalf("got %d findings, want %d:\n%s", len(got), len(want), buf.String())
	}
	for i, w := range want {
		for k, v := range w {
			if got[i][k] != v {
				t.Errorf("finding %d: %s = %v, want %v", i, k, got[i][k], v)
			}
		}
		for _, k := range []string{"message", "hint"} {
			if s, _ := got[i][k].(string); s == "" {
				t.Errorf("finding %d: %s missing or empty", i, k)
			}
		}
		if len(got[i]) != 7 {
			t.Errorf("finding %d has fields %v, want exactly id, severity, file, line, column, message, hint", i, got[i])
		}
	}
	// Round trip through the package's own type.
	var typed []Finding
	if err := json.Unmarshal(buf.Bytes(), &typed); err != nil {
		t.Fatal(err)
	}
	if typed[0] != r.Findings[0] {
		t.Errorf("round trip = %+v, want %+v", typed[0], r.Findings[0])
	}
}

func TestWriteJSONEmpty(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	if err := WriteJSON(&buf, nil); err != nil {
		t.Fatal(err)
	}
	if strings.TrimSpace(buf.String()) != "[]" {
		t.Errorf("empty findings = %q, want []", buf.String())
	}
}

func TestWriteText(t *testing.T) {
	t.Parallel()
	fs := []Finding{
		{ID: "KR003", Severity: Error, File: "Dockerfile", Line: 12, Column: 1, Message: "heredoc in RUN", Hint: "rewrite it"},
		{ID: "KR021", Severity: Info, File: "Dockerfile", Message: "unknown executor"},
	}
	var buf bytes.Buffer
	if err := WriteText(&buf, fs); err != nil {
		t.Fatal(err)
	}
	want := "Dockerfile:12:1: error KR003 heredoc in RUN\n    hint: rewrite it\nDockerfile: info KR021 unknown executor\n"
	if buf.String() != want {
		t.Errorf("text =\n%s\nwant\n%s", buf.String(), want)
	}
}

func TestSeverityJSON(t *testing.T) {
	t.Parallel()
	for _, s := range []Severity{Info, Warning, Error} {
		b, err := json.Marshal(s)
		if err != nil {
			t.Fatal(err)
		}
		var back Severity
		if err := json.Unmarshal(b, &back); err != nil || back != s {
			t.Errorf("%s: round trip = %v, %v", s, back, err)
		}
	}
	var s Severity
	if err := json.Unmarshal([]byte(`"fatal"`), &s); err == nil {
		t.Error("unknown severity accepted")
	}
}

func TestHasErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		sevs   []Severity
		strict bool
		want   bool
	}{
		{nil, true, false},
		{[]Severity{Info}, true, false},
		{[]Severity{Info, Warning}, false, false},
		{[]Severity{Info, Warning}, true, true},
		{[]Severity{Error}, false, true},
	}
	for _, tc := range tests {
		var fs []Finding
		for _, s := range tc.sevs {
			fs = append(fs, Finding{ID: "KR000", Severity: s})
		}
		if got := HasErrors(fs, tc.strict); got != tc.want {
			t.Errorf("HasErrors(%v, strict=%v) = %v, want %v", tc.sevs, tc.strict, got, tc.want)
		}
	}
}

func TestIgnore(t *testing.T) {
	t.Parallel()
	const heredoc = "RUN <<EOF\ntrue\nEOF\n"
	tests := []struct {
		name   string
		src    string
		ignore []string
		want   int // KR003 findings left
	}{
		{"none", "FROM alpine\n" + heredoc, nil, 1},
		{"comment", "FROM alpine\n# kanikorun:ignore=KR003\n" + heredoc, nil, 0},
		{"comment with list and reason", "FROM alpine\n# kanikorun:ignore=KR012,kr003 needs the fork\n" + heredoc, nil, 0},
		{"comment with spaces", "FROM alpine\n#kanikorun : ignore = KR012, KR003 needs the fork\n" + heredoc, nil, 0},
		{"misspelt comment", "FROM alpine\n# kanikorun:ignores=KR003\n" + heredoc, nil, 1},
		{"comment with a comma before the reason", "FROM alpine\n# kanikorun:ignore=KR003, needs the fork\n" + heredoc, nil, 0},
		{"comment in capitals", "FROM alpine\n# KANIKORUN:IGNORE=KR003\n" + heredoc, nil, 0},
		{"comment in block above", "FROM alpine\n# kanikorun:ignore=KR003\n# run the script\n" + heredoc, nil, 0},
		{"comment for another rule", "FROM alpine\n# kanikorun:ignore=KR004\n" + heredoc, nil, 1},
		{"comment separated by a line", "FROM alpine\n# kanikorun:ignore=KR003\n\n" + heredoc, nil, 1},
		{"comment before the previous instruction", "FROM alpine\n# kanikorun:ignore=KR003\nRUN true\n" + heredoc, nil, 1},
		{"flag", "FROM alpine\n" + heredoc + heredoc, []string{"kr003"}, 0},
		{"flag list", "FROM alpine\n" + heredoc, []string{"KR001, KR003"}, 0},
		{"flag for another rule", "FROM alpine\n" + heredoc, []string{"KR004"}, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := withID(lintString(t, tc.src, Options{Ignore: tc.ignore}), RuleRunHeredoc)
			if len(got) != tc.want {
				t.Errorf("KR003 findings = %d, want %d: %v", len(got), tc.want, got)
			}
		})
	}
}

// A parser warning inside a multi-line instruction is silenced by the
// comment above the instruction, like any other finding.
func TestIgnoreParserWarningInsideInstruction(t *testing.T) {
	t.Parallel()
	src := "FROM alpine\n# kanikorun:ignore=KR022\nRUN echo a \\\n  b \\\n\n  c\nRUN echo d \\\n\n  e\n"
	got := withID(lintString(t, src, Options{}), RuleParserWarning)
	if len(got) != 1 || got[0].Line < 7 {
		t.Errorf("KR022 findings %v, want only the one in the uncommented RUN (line 7)", got)
	}
}

// KR023 is about comments addressed to kanikorun above instructions, not
// about a script's comments or the words of a reason.
func TestIgnoreCommentChecks(t *testing.T) {
	t.Parallel()
	for src, want := range map[string]int{
		"FROM alpine\nRUN <<EOF\n# kanikorun: this script is ours\ntrue\nEOF\n":   0,
		"FROM alpine\n# kanikorun:ignore=KR019, pinned by the vendor\nRUN true\n": 0,
		"FROM alpine\n# kanikorun:ignore=KR019,KR99x\nRUN true\n":                 1,
		"FROM alpine\n# Kanikorun: skip=KR019\nRUN true\n":                        1,
		"FROM alpine\nRUN echo a \\\n  # kanikorun:ignore=KR999\n  b\n":           0,
		"FROM alpine\n# kanikorun:ignore=KR019 , KR999 both\nRUN true\n":          1,
	} {
		if got := withID(lintString(t, src, Options{Flavor: "fork"}), RuleIgnoreComment); len(got) != want {
			t.Errorf("%q: KR023 %v, want %d", src, got, want)
		}
	}
}

func TestIgnoreUnknownRule(t *testing.T) {
	t.Parallel()
	_, err := LintSource([]byte("FROM alpine\n"), Options{Ignore: []string{"KR999"}})
	if !errors.Is(err, ErrUnknownRule) {
		t.Fatalf("err = %v, want ErrUnknownRule", err)
	}
}

// TestPositions pins line and column of findings inside multi-line
// instructions.
func TestPositions(t *testing.T) {
	t.Parallel()
	src := "ARG TAG\n" + // 1
		"FROM alpine:$TAG AS base\n" + // 2
		"RUN apk add git \\\n" + // 3
		"  && echo ok > /workspace/ok\n" + // 4
		"  COPY --from=base --exclude=x a /b\n" + // 5
		"\tWORKDIR /kaniko/w\n" // 6
	fs := lintString(t, src, Options{})
	want := map[string][2]int{
		RuleFromArg:     {2, 13},
		RuleMountedRun:  {4, 16},
		RuleExclude:     {5, 20},
		RuleMountedDest: {6, 10},
	}
	for id, pos := range want {
		got := withID(fs, id)
		if len(got) != 1 {
			t.Errorf("%s findings = %v, want 1", id, got)
			continue
		}
		if got[0].Line != pos[0] || got[0].Column != pos[1] {
			t.Errorf("%s at %d:%d, want %d:%d", id, got[0].Line, got[0].Column, pos[0], pos[1])
		}
	}
	for _, f := range fs {
		if f.File != "Dockerfile" {
			t.Errorf("file = %q, want Dockerfile when none is named", f.File)
		}
	}
}

func TestParseErrorPosition(t *testing.T) {
	t.Parallel()
	tests := []struct {
		src  string
		line int
	}{
		{"FROM alpine\nRUN true\nCOPY --nope a b\n", 3},
		{"FROM alpine\nRUN <<EOF\necho\n", 2},
		{"FROM alpine\n  FROBNICATE x\n", 2},
		{"# syntax=a\n# syntax=b\nFROM alpine\n", 2},
		{"FROM alpine\nRUN true\nRUN echo " + strings.Repeat("x", 70000) + "\n", 3},
		{"", 1},
	}
	for _, tc := range tests {
		got := withID(lintString(t, tc.src, Options{}), RuleParse)
		if len(got) != 1 || got[0].Line != tc.line {
			t.Errorf("%.60q: KR001 = %.200v, want one at line %d", tc.src, got, tc.line)
		}
	}
}

// TestParseErrorsDoNotHideOthers: a bad instruction is reported and the
// rest is still checked.
func TestParseErrorsDoNotHideOthers(t *testing.T) {
	t.Parallel()
	fs := lintString(t, "FROM alpine\nCOPY --nope a b\nRUN <<EOF\ntrue\nEOF\nHEALTHCHEK CMD true\n", Options{})
	if len(withID(fs, RuleParse)) != 2 || len(withID(fs, RuleRunHeredoc)) != 1 {
		t.Errorf("findings = %v, want two KR001 and one KR003", fs)
	}
}

func TestLintReadsFile(t *testing.T) {
	t.Parallel()
	dir := writeContext(t, map[string]string{"Dockerfile": "FROM alpine\nCOPY app /app\n", "app": ""})
	r, err := Lint(Options{Dockerfile: filepath.Join(dir, "Dockerfile"), DisplayName: "Dockerfile", Context: dir})
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Findings) != 0 {
		t.Errorf("findings = %v, want none", r.Findings)
	}
	_, err = Lint(Options{Dockerfile: filepath.Join(dir, "missing")})
	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing Dockerfile: err = %v, want ErrNotExist", err)
	}
	_, err = Lint(Options{Dockerfile: filepath.Join(dir, "Dockerfile"), Context: filepath.Join(dir, "app")})
	if !errors.Is(err, spec.ErrBadContext) {
		t.Errorf("context that is a file: err = %v, want spec.ErrBadContext", err)
	}
}

// TestContextIsLazy: the context is not touched without a local source, a
// plain file source costs no directory listing, and a directory is listed
// at most once.
func TestContextIsLazy(t *testing.T) {
	t.Parallel()
	dir := writeContext(t, map[string]string{".dockerignore": "*.md\n", "a.go": "", "b.go": "", "README.md": "", "src/x.go": ""})
	run := func(src string) *contextIndex {
		l := newLinter(parsed.Parse("", []byte(src)), Options{Context: dir}, Executor{Flavor: Upstream})
		l.run()
		return l.ctx
	}
	c := run("FROM alpine\nRUN true\nCOPY --from=alpine / /\nADD https://example.com/x /x\nCOPY <<EOF /x\nx\nEOF\n")
	if c.ignoreLoaded || c.reads != 0 {
		t.Errorf("context read without a local source: ignore loaded %v, %d directories read", c.ignoreLoaded, c.reads)
	}
	c = run("FROM alpine\nCOPY a.go /a\nCOPY b.go src /b/\n")
	if !c.ignoreLoaded || c.reads != 0 {
		t.Errorf("file and plain directory sources: ignore loaded %v, %d directories read, want loaded and 0", c.ignoreLoaded, c.reads)
	}
	c = run("FROM alpine\nCOPY *.go /a/\nCOPY *.go /b/\nCOPY src/*.go /c/\n")
	if c.reads != 2 {
		t.Errorf("wildcards read %d directories, want 2 (root and src, once each)", c.reads)
	}
}

// TestDockerignoreSemantics pins Docker's matching: patterns are anchored
// at the context root, * stays within one path component, ! re-includes,
// a leading / on a source is the context root.
func TestDockerignoreSemantics(t *testing.T) {
	t.Parallel()
	dir := writeContext(t, map[string]string{
		".dockerignore":      "*.md\nbuild\n**/*.tmp\n!keep.md\nvendor/*\n!vendor/ok\n",
		"README.md":          "",
		"keep.md":            "",
		"docs/guide.md":      "",
		"build/out":          "",
		"src/a.tmp":          "",
		"src/a.go":           "",
		"vendor/gone/x":      "",
		"vendor/ok/y":        "",
		"empty/":             "",
		"onlyignored/b.tmp":  "",
		"onlyignored/c/d.md": "",
		"tmponly/a.tmp":      "",
		"tmponly/b/c.tmp":    "",
	})
	tests := []struct {
		src  string
		want srcState
	}{
		{"README.md", srcExcluded},
		{"/README.md", srcExcluded},
		{"keep.md", srcOK},
		{"docs/guide.md", srcOK}, // *.md only matches at the root
		{"build", srcExcluded},
		{"build/out", srcExcluded},
		{"src/a.tmp", srcExcluded},
		{"src", srcOK},
		{"src/*.tmp", srcExcluded},
		{"src/*.go", srcOK},
		{"vendor", srcOK}, // vendor/ok survives
		{"vendor/gone", srcExcluded},
		{"empty", srcOK},
		{"onlyignored", srcOK}, // c/d.md: *.md is root-only, so it survives
		{"tmponly/b", srcEmptied},
		{"tmponly", srcOK}, // b survives, if only as an empty directory
		{"tmponly/*", srcEmptied},
		{"src/[", srcBadPattern},
		{"nothing", srcMissing},
		{"src/*.c", srcMissing},
		{"*/x", srcMissing},
		{"vendor/*/y", srcOK},
		{".", srcOK},
		{"../src/a.go", srcOK},
	}
	c := newContextIndex(dir, filepath.Join(dir, ".dockerignore"))
	for _, tc := range tests {
		if got := c.check(tc.src).state; got != tc.want {
			t.Errorf("check(%q) = %d, want %d", tc.src, got, tc.want)
		}
	}
}

// TestDockerignoreLocation: kaniko's getExcludedFiles reads
// <Dockerfile>.dockerignore when it exists and <context>/.dockerignore
// otherwise, never both; kanikorun mounts a Dockerfile from outside the
// context with its ignore file beside it.
func TestDockerignoreLocation(t *testing.T) {
	t.Parallel()
	root := writeContext(t, map[string]string{
		"ctx/.dockerignore":                      "*.md\n",
		"ctx/Dockerfile.dockerignore":            "*.txt\n",
		"ctx/docker/app.Dockerfile.dockerignore": "*.json\n",
		"ctx/a.md":                               "",
		"ctx/a.txt":                              "",
		"ctx/a.json":                             "",
		"outside/x.Dockerfile.dockerignore":      "*.md\n*.txt\n*.json\n",
		"bare/a.md":                              "",
		"bare/a.txt":                             "",
		"bare/a.json":                            "",
		"bare/Dockerfile.dockerignore":           "*.txt\n",
	})
	ctx := filepath.Join(root, "ctx")
	src := "FROM alpine\nCOPY a.md /a/\nCOPY a.txt /b/\nCOPY a.json /c/\n"
	tests := []struct {
		name, context, dockerfile string
		excluded                  string // the one source reported, "" for none
		file                      string // the ignore file the message names
	}{
		{"own file wins", ctx, filepath.Join(ctx, "Dockerfile"), "a.txt", "Dockerfile.dockerignore"},
		{"own file in a subdirectory", ctx, filepath.Join(ctx, "docker", "app.Dockerfile"), "a.json", "app.Dockerfile.dockerignore"},
		{"no own file", ctx, filepath.Join(ctx, "other.Dockerfile"), "a.md", ".dockerignore"},
		{"dockerfile outside the context", ctx, filepath.Join(root, "outside", "x.Dockerfile"), "a.md a.txt a.json", "x.Dockerfile.dockerignore"},
		{"dockerfile outside the context without its own", ctx, filepath.Join(root, "outside", "y.Dockerfile"), "a.md", ".dockerignore"},
		{"no dockerfile path", ctx, "", "a.md", ".dockerignore"},
		{"own file without a context one", filepath.Join(root, "bare"), filepath.Join(root, "bare", "Dockerfile"), "a.txt", "Dockerfile.dockerignore"},
		{"neither", filepath.Join(root, "bare"), filepath.Join(root, "bare", "prod.Dockerfile"), "", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := withID(lintString(t, src, Options{Dockerfile: tc.dockerfile, Context: tc.context}), RuleSourceIgnored)
			if tc.excluded == "" {
				if len(got) != 0 {
					t.Errorf("KR014 = %v, want none", got)
				}
				return
			}
			want := strings.Fields(tc.excluded)
			if len(got) != len(want) {
				t.Fatalf("KR014 = %v, want one error each for %v", got, want)
			}
			for i, f := range got {
				if !strings.Contains(f.Message, "source "+want[i]+" ") ||
					!strings.Contains(f.Message, "excluded by "+tc.file+":") || f.Severity != Error {
					t.Errorf("KR014 = %v, want an error for %s naming %s", f, want[i], tc.file)
				}
			}
		})
	}
}

func TestDockerignoreInvalid(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		ignore, pattern string
		line            int
	}{
		{"!\n", "!", 1},
		{"# build output\nbin/\n\n[\n*.md\n", "[", 4},
		{"bin/\r\nfoo[a-\r\n", "foo[a-", 2},
	} {
		dir := writeContext(t, map[string]string{".dockerignore": tc.ignore, "a": ""})
		fs := lintString(t, "FROM alpine\nCOPY a /a\nCOPY a /b\n", Options{Context: dir})
		got := withID(fs, RuleParse)
		if len(got) != 1 || !strings.HasSuffix(got[0].File, ".dockerignore") || got[0].Line != tc.line || got[0].Column != 1 ||
			!strings.Contains(got[0].Message, fmt.Sprintf("%q", tc.pattern)) {
			t.Errorf("%q: KR001 = %v, want one finding at .dockerignore:%d:1 quoting %q", tc.ignore, got, tc.line, tc.pattern)
		}
	}
}

func TestModeString(t *testing.T) {
	t.Parallel()
	if Local.String() != "local" || Job.String() != "job" {
		t.Errorf("modes = %s, %s", Local, Job)
	}
	if err := (Options{Mode: Mode(7)}).Validate(); err == nil {
		t.Error("unknown mode accepted")
	}
}

func TestRuleTableGolden(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	if err := WriteRuleTable(&buf); err != nil {
		t.Fatal(err)
	}
	golden(t, filepath.Join("..", "..", "testdata", "lint", "rules.md"), buf.Bytes())
	for _, r := range Rules() {
		if !strings.Contains(buf.String(), "| "+r.ID+" |") {
			t.Errorf("rule table lacks %s", r.ID)
		}
	}
	if !strings.Contains(buf.String(), "| KR003 | error | error: `heredoc in RUN with a quoted delimiter (<<'EOF')`; works: `heredoc in RUN` |") {
		t.Errorf("KR003 row does not show error upstream, works on the fork but for a quoted delimiter:\n%s", buf.String())
	}
	if !strings.Contains(buf.String(), "works: `RUN --mount=type=cache`, `RUN --mount=type=bind` (from the context)") {
		t.Errorf("KR006 row does not show bind mounts working on the fork:\n%s", buf.String())
	}
}

// The README shows the generated rule table as it is.
func TestReadmeRuleTable(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	if err := WriteRuleTable(&buf); err != nil {
		t.Fatal(err)
	}
	readme, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(readme, buf.Bytes()) {
		t.Error("README.md's rule table differs from lint.WriteRuleTable: paste testdata/lint/rules.md (go test ./internal/lint -update writes it) into the Preflight checks section")
	}
}

// golden compares got with a file under testdata, rewriting it with -update.
func golden(t *testing.T, path string, got []byte) {
	t.Helper()
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("reading golden file (run go test -update to create it): %v", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs (run go test ./internal/lint -update to accept):\n--- got\n%s\n--- want\n%s", path, got, want)
	}
}

func TestBareVars(t *testing.T) {
	t.Parallel()
	got := bareVars("${A}$B-${C:-x}${D-y}${E:+z}${F%.*}$G_H${I?msg}$ $1x${")
	want := map[string]bool{"A": true, "B": true, "F": true, "G_H": true, "1x": true}
	for k := range want {
		if !got[k] {
			t.Errorf("%s not bare", k)
		}
	}
	for k := range got {
		if !want[k] {
			t.Errorf("%s reported bare", k)
		}
	}
}

// Hints name a way out that exists.
func TestHintsForEdgeCases(t *testing.T) {
	t.Parallel()
	dir := writeContext(t, map[string]string{".dockerignore": "*\n", "f": ""})
	fs := lintString(t, "FROM alpine\nCOPY --from=-1 /x /y\nCOPY . /app/\n", Options{Context: dir})
	if got := withID(fs, RuleStageRef); len(got) != 1 || strings.Contains(got[0].Hint, "below 0") || !strings.Contains(got[0].Hint, "image") {
		t.Errorf("COPY --from=-1 in the first stage: %v, want a hint naming an image, not an index below 0", got)
	}
	if got := withID(fs, RuleSourceIgnored); len(got) != 1 || !strings.Contains(got[0].Hint, "(!<file>)") {
		t.Errorf("COPY . with everything ignored: %v, want the exception spelt !<file>", got)
	}
	fs = withID(lintString(t, "FROM alpine AS a\nFROM alpine AS a\nFROM alpine\n", Options{}), RuleUnusedStage)
	if len(fs) != 2 {
		t.Errorf("KR018 %v, want one for each stage named a", fs)
	}
	for _, f := range fs {
		if !strings.Contains(f.Message, `stage "a" (line `) {
			t.Errorf("a duplicated stage name is not told apart by its line: %v", f)
		}
	}
}

// FROM --platform is moot when the executor is told to build for that
// platform with --custom-platform, and still wrong when told another.
func TestFromPlatformWithCustomPlatform(t *testing.T) {
	t.Parallel()
	src := "ARG ARCH=arm64\nFROM --platform=linux/${ARCH} alpine\n"
	for _, tc := range []struct {
		custom string
		want   int
	}{{"", 1}, {"linux/arm64", 0}, {"LINUX/ARM64", 0}, {"linux/amd64", 1}} {
		got := withID(lintString(t, src, Options{CustomPlatform: tc.custom}), RuleFromPlatform)
		if len(got) != tc.want {
			t.Errorf("--custom-platform=%q: KR010 %v, want %d", tc.custom, got, tc.want)
		}
	}
}

// Text output escapes what a terminal would act on; JSON keeps && and <<
// readable.
func TestOutputEscaping(t *testing.T) {
	t.Parallel()
	f := []Finding{{ID: RuleParse, Severity: Error, File: "Dockerfile", Line: 1, Column: 1,
		Message: "unknown instruction: \xff\x1b[2J\x00ok \u00e9", Hint: "a && b <<EOF"}}
	var text, js bytes.Buffer
	if err := WriteText(&text, f); err != nil {
		t.Fatal(err)
	}
	if want := "unknown instruction: \\xff\\x1b[2J\\x00ok \u00e9\n    hint: a && b <<EOF\n"; !strings.HasSuffix(text.String(), want) {
		t.Errorf("text = %q, want it to end %q", text.String(), want)
	}
	if err := WriteJSON(&js, f); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(js.String(), `"hint": "a && b <<EOF"`) {
		t.Errorf("JSON escapes HTML characters: %s", js.String())
	}
}
