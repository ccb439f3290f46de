// Package lint is kanikorun's preflight check: it reads a Dockerfile with
// BuildKit's parser and reports, in milliseconds and before any container
// starts, what the chosen kaniko executor would refuse or, worse, build
// wrong with exit code 0 (heredocs, RUN --mount, COPY --exclude/--parents,
// writes under the read-only /workspace mount, missing COPY sources, ...).
//
// What each executor can do lives in one capability table (executor.go),
// derived from the measured behaviour of upstream kaniko v1.24.0 and the
// osscontainertools fork v1.28.x; the rules turn its rows into findings with
// stable IDs (rules.go). An error is only for what stops the executor or
// builds a wrong image: what kaniko builds as BuildKit does (wildcards
// matching nothing, a WORKDIR that exists, a stage the executor does not
// build) is at most a warning or a note.
package lint

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"slices"
	"sort"
	"strings"

	"github.com/agext/levenshtein"
	dfcommand "github.com/moby/buildkit/frontend/dockerfile/command"
	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
	"github.com/moby/buildkit/frontend/dockerfile/shell"

	parsed "github.com/kanikorun/kanikorun/internal/dockerfile"
	"github.com/kanikorun/kanikorun/internal/spec"
)

// Mode says where the build runs: the Job kanikorun renders or a local
// container. Both mount /workspace read-only, so a write there fails in
// either; the mode changes what the messages say about the mount.
type Mode int

const (
	// Local is a build in a local executor container, with the context
	// bind-mounted read-only at /workspace: writing there fails.
	Local Mode = iota
	// Job is the Kubernetes Job kanikorun renders (kanikorun job, and
	// replay of it): the workspace claim is mounted read-only at
	// /workspace and the context is /workspace/<workspace-path>, so
	// writing under /workspace fails as it does locally.
	Job
)

// String returns "local" or "job".
func (m Mode) String() string {
	if m == Job {
		return "job"
	}
	return "local"
}

// Options say what to lint and against which executor.
type Options struct {
	// Dockerfile is the host path of the Dockerfile Lint reads.
	Dockerfile string
	// DisplayName names the Dockerfile in findings; empty means Dockerfile
	// as given, or "Dockerfile" when that is empty too.
	DisplayName string
	// Context is the host path of the build context, used to check
	// COPY/ADD sources against its files and the ignore file kaniko
	// reads: <Dockerfile>.dockerignore when it exists, else
	// <Context>/.dockerignore. Empty skips those checks.
	Context string
	// BuildArgs are KEY=VALUE pairs, already resolved.
	BuildArgs []string
	// Target is the stage to build; empty means the last one. For the
	// fork it may be a comma-separated list (--target a,b; a repeated
	// --target joined with commas): the fork builds every stage named and
	// pushes the first. Upstream takes one stage and stops on a list.
	Target string
	// ExecutorImage is the executor image reference; empty means
	// spec.DefaultExecutorImage.
	ExecutorImage string
	// Flavor overrides the capabilities derived from ExecutorImage:
	// "", "upstream" or "fork".
	Flavor string
	// Mode is Local or Job.
	Mode Mode
	// Ignore lists rule IDs to leave out: repeated or comma-separated, any
	// case.
	Ignore []string
	// Secrets are the IDs of the secrets the executor is given (the
	// fork's --secret id=ID,...). A secret mount naming another ID runs
	// without it, which the linter reports on the fork.
	Secrets []string
	// SkipUnusedStages is the executor's --skip-unused-stages as given
	// (spec.ExecutorFlags.SkipUnusedStages); nil means its default (the fork skips, upstream
	// builds every stage before the target).
	SkipUnusedStages *bool
	// CustomPlatform is the executor's --custom-platform, if given: the
	// platform it builds for.
	CustomPlatform string
	// KanikoDir is the executor's --kaniko-dir, if given, and
	// KanikoDirEnv the KANIKO_DIR its container is given, if any.
	KanikoDir, KanikoDirEnv string
}

// ErrUnknownRule is returned when Options.Ignore names no rule.
var ErrUnknownRule = errors.New("unknown lint rule")

// Validate checks the options the user typed (flavor and ignored rules).
func (o Options) Validate() error {
	if _, err := ResolveExecutor(o.ExecutorImage, o.Flavor); err != nil {
		return err
	}
	for _, id := range ruleIDs(o.Ignore) {
		if _, ok := ruleIndex[id]; !ok {
			return fmt.Errorf("%w %q in --ignore: rule IDs run from %s to %s", ErrUnknownRule, id, rules[0].ID, rules[len(rules)-1].ID)
		}
	}
	if o.Mode != Local && o.Mode != Job {
		return fmt.Errorf("unknown lint mode %d", int(o.Mode))
	}
	return nil
}

// Report is the result of one lint run.
type Report struct {
	// Findings are sorted by position; never nil.
	Findings []Finding
	// Executor is the executor the Dockerfile was checked against.
	Executor Executor
}

// HasErrors reports whether the findings should stop the build.
func (r *Report) HasErrors(strict bool) bool {
	return HasErrors(r.Findings, strict)
}

// Lint reads the Dockerfile and lints it. The error is only for options
// that make no sense and for I/O problems (an unreadable Dockerfile, a
// context that is not a directory: spec.ErrBadContext); a malformed
// Dockerfile is a finding.
func Lint(o Options) (*Report, error) {
	f, err := parsed.Read(o.Dockerfile)
	if err != nil {
		return nil, err
	}
	return LintFile(f, o)
}

// LintSource lints Dockerfile content; o.Dockerfile is only used to name
// the file in findings and to find its own ignore file
// (<Dockerfile>.dockerignore).
func LintSource(src []byte, o Options) (*Report, error) {
	return LintFile(parsed.Parse(o.Dockerfile, src), o)
}

// LintFile lints a Dockerfile parsed once for the whole build (see package
// dockerfile); o.Dockerfile only names it, as for LintSource.
func LintFile(f *parsed.File, o Options) (*Report, error) {
	if err := o.Validate(); err != nil {
		return nil, err
	}
	if o.Context != "" {
		// Without this every COPY source would be reported missing.
		if st, err := os.Stat(o.Context); err != nil || !st.IsDir() {
			return nil, fmt.Errorf("%w: %q; pass an existing directory as CONTEXT", spec.ErrBadContext, o.Context)
		}
	}
	exec, _ := ResolveExecutor(o.ExecutorImage, o.Flavor)
	l := newLinter(f, o, exec)
	l.run()
	return &Report{Findings: l.result(), Executor: exec}, nil
}

// finding is a Finding plus the line of the instruction it belongs to, for
// `# kanikorun:ignore=` comments.
type finding struct {
	Finding
	anchor int
	// stage is the index+1 of the stage whose instructions the finding
	// is about, 0 for none.
	stage int
}

type linter struct {
	o         Options
	exec      Executor
	file      string
	df        *parsed.File
	src       []byte
	lineStart []int // byte offset where each line starts; lineStart[0] is line 1
	findings  []finding
	lex       *shell.Lex
	shellLex  *shell.Lex
	scriptLex *shell.Lex
	ctx       *contextIndex
	cursors   map[cursorKey]*cursor
	buildArgs map[string]string
	// curStage is the index+1 of the stage being checked, 0 outside.
	curStage int
	// directiveErrLine is the line of a bad parser directive, if any.
	directiveErrLine int
	// nearMisses wait for the whole Dockerfile: see reportNearMisses.
	nearMisses []nearMiss
}

func newLinter(f *parsed.File, o Options, exec Executor) *linter {
	src := f.Source
	file := o.DisplayName
	if file == "" {
		file = o.Dockerfile
	}
	if file == "" {
		file = "Dockerfile"
	}
	l := &linter{
		o:         o,
		exec:      exec,
		file:      file,
		df:        f,
		src:       src,
		cursors:   map[cursorKey]*cursor{},
		buildArgs: map[string]string{},
		lex:       shell.NewLex(parser.DefaultEscapeToken),
		shellLex:  shell.NewLex('\\'),
		scriptLex: shell.NewLex('\\'),
	}
	l.scriptLex.SkipUnsetEnv = true
	l.lineStart = append(l.lineStart, 0)
	for i, b := range src {
		if b == '\n' && i+1 < len(src) {
			l.lineStart = append(l.lineStart, i+1)
		}
	}
	for _, kv := range o.BuildArgs {
		// kaniko lets an empty --build-arg value fall back to the
		// Dockerfile's default, so only non-empty values count.
		if k, v, ok := strings.Cut(kv, "="); ok && k != "" && v != "" {
			l.buildArgs[k] = v
		}
	}
	if o.Context != "" {
		l.ctx = newContextIndex(o.Context, dockerignorePath(o.Dockerfile, o.Context))
	}
	return l
}

func (l *linter) run() {
	if l.exec.Notice != "" {
		l.add(finding{Finding: Finding{ID: RuleUnknownExecutor, Severity: Info,
			Message: l.exec.Notice,
			Hint:    "if it is a kaniko build with other features, say which with --executor-flavor upstream or --executor-flavor fork"}})
	}
	l.directives()
	if l.df.Err != nil {
		l.parseFailure(l.df.Err, nil)
		return
	}
	res := l.df.Result
	for _, w := range res.Warnings {
		line := 0
		if w.Location != nil {
			line = w.Location.Start.Line
		}
		hint := "see " + w.URL
		if w.URL == "" {
			hint = "fix the line the parser names"
		}
		// An ignore comment goes above the instruction, wherever in it the
		// parser found the problem.
		anchor := line
		if start, ok := instructionAt(res.AST, line); ok {
			anchor = start
		}
		l.add(finding{Finding: Finding{ID: RuleParserWarning, Severity: Info, Line: line, Column: l.indentCol(line),
			Message: oneLine(w.Short), Hint: hint}, anchor: anchor})
	}
	l.checkIgnoreComments(res.AST)
	l.lex = shell.NewLex(res.EscapeToken)
	df := l.build(l.df.Instructions)
	l.check(df)
}

// directives reports the parser directives kaniko ignores. It feeds the
// lines to BuildKit's DirectiveParser itself (as parser.Parse does) to know
// the line of a directive error, which parser.Parse reports one line early.
func (l *linter) directives() {
	var dp parser.DirectiveParser
	for n := 1; n <= len(l.lineStart); n++ {
		text := l.lineText(n)
		if n == 1 {
			text = bytes.TrimPrefix(text, []byte{0xEF, 0xBB, 0xBF})
		}
		d, err := dp.ParseLine(bytes.TrimLeft(text, " \t"))
		if err != nil {
			l.directiveErrLine = n
			return
		}
		if d == nil {
			return
		}
		var msg string
		switch d.Name {
		case "syntax":
			msg = fmt.Sprintf("kaniko ignores the # syntax=%s directive: it always uses its own built-in Dockerfile parser", d.Value)
		case "check":
			msg = fmt.Sprintf("kaniko does not enforce the # check=%s directive: BuildKit's build checks do not fail a kaniko build", d.Value)
		default:
			continue
		}
		l.add(finding{Finding: Finding{ID: RuleDirective, Severity: Info, Line: n, Column: l.indentCol(n),
			Message: msg, Hint: "nothing to do for kaniko; keep it for BuildKit users or remove it"}})
	}
}

// parseFailure reports a parser error at its location (or the node's).
func (l *linter) parseFailure(err error, n *parser.Node) {
	line := 0
	var le *parser.LocationError
	if errors.As(err, &le) && len(le.Locations) > 0 && len(le.Locations[0]) > 0 {
		line = le.Locations[0][0].Start.Line
	}
	if n != nil {
		line = n.StartLine
	} else if l.directiveErrLine > 0 {
		line = l.directiveErrLine
	} else if strings.Contains(err.Error(), "greater than max allowed size") {
		// The scanner fails on the line after the last one it read.
		line++
	}
	line = l.clampLine(line)
	msg, hint := oneLine(err.Error()), "fix the instruction; see https://docs.docker.com/reference/dockerfile/"
	var unknown *instructions.UnknownInstructionError
	if errors.As(err, &unknown) {
		if h := l.continuationHint(line, unknown.Instruction); h != "" {
			// The line was meant to continue the one above: BuildKit's
			// guess at a misspelt instruction (a pick among equally near
			// names for a shell word such as rm) would only mislead.
			msg, hint = oneLine(unknown.Error()), h
		}
	}
	l.add(finding{Finding: Finding{ID: RuleParse, Severity: Error, Line: line, Column: l.indentCol(line),
		Message: msg, Hint: hint}, anchor: line})
}

// continuationHint explains an unknown instruction on line that was meant
// to continue the instruction above it: the line before ends with a
// backslash where `# escape=“ makes the backtick the escape character,
// or line is indented under a line that does not end with the escape
// character and word (the unknown instruction) is not written in capitals
// as instructions are. "" when neither holds.
func (l *linter) continuationHint(line int, word string) string {
	prev := line - 1
	for prev > 0 {
		t := bytes.TrimSpace(l.lineText(prev))
		if len(t) > 0 && t[0] != '#' {
			break
		}
		prev--
	}
	if prev < 1 || word == strings.ToUpper(word) || nearInstruction(word) || l.endsHeredoc(prev) {
		// A word in capitals, or one letter off an instruction, is a
		// misspelt instruction, for which BuildKit's guess is right; after
		// a heredoc's closing line nothing continues.
		return ""
	}
	escape := rune(parser.DefaultEscapeToken)
	if l.df.Result != nil {
		escape = l.df.Result.EscapeToken
	}
	above := bytes.TrimRight(l.lineText(prev), " \t")
	if escape == '`' && bytes.HasSuffix(above, []byte{'\\'}) {
		return fmt.Sprintf("line %d ends with \\, but this Dockerfile's escape character is ` (the # escape=` directive): end line %d with ` to continue the instruction on the next line", prev, prev)
	}
	text := l.lineText(line)
	indented := len(text) > 0 && (text[0] == ' ' || text[0] == '\t')
	if indented && !bytes.HasSuffix(above, []byte(string(escape))) {
		return fmt.Sprintf("line %d is indented as if it continued line %d: end line %d with %c to continue the instruction", line, prev, prev, escape)
	}
	return ""
}

// nearInstruction says word is within one letter of an instruction's name.
func nearInstruction(word string) bool {
	w := strings.ToLower(word)
	for name := range dfcommand.Commands {
		if levenshtein.Distance(w, name, nil) <= 1 {
			return true
		}
	}
	return false
}

// endsHeredoc says line is the closing line of a heredoc.
func (l *linter) endsHeredoc(line int) bool {
	if l.df.Result == nil {
		return false
	}
	for _, n := range l.df.Result.AST.Children {
		if len(n.Heredocs) > 0 && n.EndLine == line {
			return true
		}
	}
	return false
}

// add records a finding unless --ignore drops its rule.
func (l *linter) add(f finding) {
	f.File = l.file
	if f.stage == 0 {
		f.stage = l.curStage
	}
	l.findings = append(l.findings, f)
}

// result applies --ignore and `# kanikorun:ignore=` comments and sorts.
func (l *linter) result() []Finding {
	ignored := map[string]bool{}
	for _, id := range ruleIDs(l.o.Ignore) {
		ignored[id] = true
	}
	commentIgnores := map[int]map[string]bool{}
	out := make([]Finding, 0, len(l.findings))
	for _, f := range l.findings {
		if ignored[f.ID] {
			continue
		}
		if f.anchor > 0 {
			ids, ok := commentIgnores[f.anchor]
			if !ok {
				ids = l.ignoreComments(f.anchor)
				commentIgnores[f.anchor] = ids
			}
			if ids[f.ID] {
				continue
			}
		}
		out = append(out, f.Finding)
	}
	slices.SortStableFunc(out, func(a, b Finding) int {
		if a.File != b.File {
			// Findings about another file (.dockerignore) come last.
			if a.File == l.file {
				return -1
			}
			if b.File == l.file {
				return 1
			}
		}
		if a.Line != b.Line {
			return a.Line - b.Line
		}
		if a.Column != b.Column {
			return a.Column - b.Column
		}
		return strings.Compare(a.ID, b.ID)
	})
	return out
}

// ruleIDs normalises rule IDs as given to --ignore: repeated or
// comma-separated, any case.
func ruleIDs(list []string) []string {
	var ids []string
	for _, item := range list {
		for _, id := range strings.Split(item, ",") {
			if id = strings.ToUpper(strings.TrimSpace(id)); id != "" {
				ids = append(ids, id)
			}
		}
	}
	return ids
}

// instructionAt returns the first line of the instruction that contains
// line, and whether there is one.
func instructionAt(ast *parser.Node, line int) (start int, ok bool) {
	if ast == nil {
		return 0, false
	}
	kids := ast.Children
	i := sort.Search(len(kids), func(i int) bool { return kids[i].EndLine >= line })
	if i < len(kids) && kids[i].StartLine <= line {
		return kids[i].StartLine, true
	}
	return 0, false
}

// ignoreComment parses a `# kanikorun:ignore=ID[,ID]` comment, spaces
// allowed around ":" and "=", and returns the IDs as written (upper-cased)
// and whether the comment is addressed to kanikorun at all.
func ignoreComment(text string) (ids []string, ours, ok bool) {
	text = strings.TrimSpace(text)
	rest, isComment := strings.CutPrefix(text, "#")
	if !isComment {
		return nil, false, false
	}
	rest, ours = cutPrefixFold(strings.TrimSpace(rest), "kanikorun")
	rest = strings.TrimSpace(rest)
	if !ours || !strings.HasPrefix(rest, ":") {
		return nil, false, false
	}
	rest = strings.TrimSpace(rest[1:])
	rest, isIgnore := cutPrefixFold(rest, "ignore")
	rest = strings.TrimSpace(rest)
	if !isIgnore || !strings.HasPrefix(rest, "=") {
		return nil, true, false
	}
	// IDs separated by commas, spaces allowed after a comma when an ID
	// follows; the first word that is not one starts the reason.
	fields := strings.FieldsFunc(strings.TrimSpace(rest[1:]), func(r rune) bool { return r == ' ' || r == '\t' })
	for i, f := range fields {
		for _, id := range strings.Split(f, ",") {
			if id == "" {
				continue
			}
			if i > 0 && !idShaped(id) {
				return ids, true, len(ids) > 0
			}
			ids = append(ids, strings.ToUpper(id))
		}
		if !strings.HasSuffix(f, ",") && (i+1 >= len(fields) || !strings.HasPrefix(fields[i+1], ",")) {
			break
		}
	}
	return ids, true, len(ids) > 0
}

// idShaped reports whether s looks like a rule ID (letters, then digits).
func idShaped(s string) bool {
	i := 0
	for i < len(s) && (s[i]|0x20 >= 'a' && s[i]|0x20 <= 'z') {
		i++
	}
	if i == 0 || i == len(s) {
		return false
	}
	for ; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

func cutPrefixFold(s, prefix string) (string, bool) {
	if len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix) {
		return s[len(prefix):], true
	}
	return s, false
}

// ignoreComments collects the rule IDs of the ignore comments in the
// comment block right above line.
func (l *linter) ignoreComments(line int) map[string]bool {
	ids := map[string]bool{}
	for n := line - 1; n >= 1; n-- {
		text := string(l.lineText(n))
		if !strings.HasPrefix(strings.TrimSpace(text), "#") {
			break
		}
		list, _, _ := ignoreComment(text)
		for _, id := range list {
			ids[id] = true
		}
	}
	return ids
}

// checkIgnoreComments reports comments addressed to kanikorun that silence
// nothing: a misspelt directive or an unknown rule ID leaves the finding
// it was meant for in place, and the reader thinking it is handled.
func (l *linter) checkIgnoreComments(ast *parser.Node) {
	for n := 1; n <= len(l.lineStart); n++ {
		raw := l.lineText(n)
		if bytes.IndexByte(raw, '#') < 0 || !bytes.Contains(bytes.ToLower(raw), []byte("kanikorun")) {
			continue
		}
		if _, inside := instructionAt(ast, n); inside {
			// A heredoc's script, or a comment among continuation lines:
			// no ignore comment.
			continue
		}
		ids, ours, ok := ignoreComment(string(raw))
		if !ours {
			continue
		}
		col := l.indentCol(n)
		if !ok {
			l.add(finding{Finding: Finding{ID: RuleIgnoreComment, Severity: Warning, Line: n, Column: col,
				Message: "comment addressed to kanikorun is not an ignore comment: it silences nothing",
				Hint:    "write # kanikorun:ignore=ID[,ID] on the line before the instruction"}})
			continue
		}
		for _, id := range ids {
			if _, known := ruleIndex[id]; !known {
				l.add(finding{Finding: Finding{ID: RuleIgnoreComment, Severity: Warning, Line: n, Column: col,
					Message: fmt.Sprintf("kanikorun:ignore names %s, which is no rule: it silences nothing", oneLine(id)),
					Hint:    "use an ID from kanikorun's rule table (KR001 to " + rules[len(rules)-1].ID + ")"}})
			}
		}
	}
}

// lineText returns line n (1-based) without its line ending.
func (l *linter) lineText(n int) []byte {
	if n < 1 || n > len(l.lineStart) {
		return nil
	}
	start := l.lineStart[n-1]
	end := len(l.src)
	if n < len(l.lineStart) {
		end = l.lineStart[n]
	}
	return bytes.TrimRight(l.src[start:end], "\r\n")
}

func (l *linter) clampLine(line int) int {
	if line < 1 {
		return 1
	}
	if line > len(l.lineStart) {
		return len(l.lineStart)
	}
	return line
}

// indentCol is the column of the first non-blank character of a line.
func (l *linter) indentCol(line int) int {
	if line <= 0 {
		return 0
	}
	text := l.lineText(line)
	if line == 1 {
		text = bytes.TrimPrefix(text, []byte{0xEF, 0xBB, 0xBF})
	}
	return len(text) - len(bytes.TrimLeft(text, " \t")) + 1
}

// cursor remembers how far token searches in one instruction got, so
// locating many tokens in one huge instruction stays linear.
type cursor struct {
	off  int
	dead bool
}

type cursorKey struct {
	n   *parser.Node
	key string
}

// at locates a word (a path, a source, a destination) inside instruction n:
// words are searched in order, each after the previous one found.
func (l *linter) at(n *parser.Node, token string) (line, col int) {
	return l.find(n, "", token, true)
}

// atText is at for a token that may sit inside a larger shell word
// (`2>/workspace/x`, `of=/workspace/x`).
func (l *linter) atText(n *parser.Node, token string) (line, col int) {
	return l.find(n, "", token, false)
}

// atFlag locates a flag or marker (--mount, <<, $VAR) inside instruction
// n; repeated flags are found one after the other.
func (l *linter) atFlag(n *parser.Node, token string) (line, col int) {
	return l.find(n, token, token, false)
}

// atLast locates the last occurrence of a word in instruction n (a
// destination, the last argument), outside heredoc bodies.
func (l *linter) atLast(n *parser.Node, token string) (line, col int) {
	line = l.clampLine(n.StartLine)
	col = l.indentCol(line)
	if token == "" || n.StartLine < 1 || n.StartLine > len(l.lineStart) {
		return line, col
	}
	last := n.EndLine
	if len(n.Heredocs) > 0 {
		last = n.StartLine
	}
	start, end := l.lineStart[n.StartLine-1], len(l.src)
	if last >= 1 && last < len(l.lineStart) {
		end = l.lineStart[last]
	}
	for end > start {
		i := bytes.LastIndex(l.src[start:end], []byte(token))
		if i < 0 {
			break
		}
		abs := start + i
		if isWordAt(l.src, abs, abs+len(token)) {
			ln, _ := slices.BinarySearch(l.lineStart, abs+1)
			return ln, abs - l.lineStart[ln-1] + 1
		}
		end = abs + len(token) - 1
	}
	return line, col
}

// find searches token forward from the cursor for key; it falls back to
// the instruction's start when the token is not visible verbatim.
func (l *linter) find(n *parser.Node, key, token string, word bool) (line, col int) {
	line = l.clampLine(n.StartLine)
	col = l.indentCol(line)
	if token == "" || n.StartLine < 1 || n.StartLine > len(l.lineStart) {
		return line, col
	}
	k := cursorKey{n, key}
	c := l.cursors[k]
	if c == nil {
		c = &cursor{off: l.lineStart[n.StartLine-1]}
		l.cursors[k] = c
	}
	if c.dead {
		return line, col
	}
	end := len(l.src)
	if n.EndLine >= 1 && n.EndLine < len(l.lineStart) {
		end = l.lineStart[n.EndLine]
	}
	for c.off < end {
		i := bytes.Index(l.src[c.off:end], []byte(token))
		if i < 0 {
			break
		}
		abs := c.off + i
		c.off = abs + len(token)
		if word && !isWordAt(l.src, abs, abs+len(token)) {
			continue
		}
		ln, _ := slices.BinarySearch(l.lineStart, abs+1)
		// ln counts the line starts <= abs: the 1-based line number.
		return ln, abs - l.lineStart[ln-1] + 1
	}
	// A token we cannot see verbatim (quoted, escaped, expanded): stop
	// searching for this key rather than rescan the instruction.
	c.dead = true
	return line, col
}

// isWordAt reports whether src[start:end] is a whole word of an
// instruction: delimited by blanks, quotes, brackets, commas or '='.
func isWordAt(src []byte, start, end int) bool {
	if start > 0 && !strings.ContainsRune(" \t\"'[,=", rune(src[start-1])) {
		return false
	}
	return end >= len(src) || strings.ContainsRune(" \t\r\n\"',]\\", rune(src[end]))
}

// oneLine keeps user-facing messages to one line.
func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}
