package lint

import (
	"fmt"
	"path"
	"strings"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
)

// The RUN check only reports what a reader sees at once: a redirection to
// a path, or a path in the write position of a well-known command (mkdir,
// touch, rm, cp/mv/ln targets, chmod, sed -i, curl -o, ...). Paths that
// depend on unknown variables, relative paths and commands it does not
// know are left alone, so reads such as `cat /workspace/x` or
// `cp /workspace/x /app` never trip it.

// checkRunWrites reports the first path under /workspace or /kaniko a RUN
// visibly writes, with the number of further ones.
func (l *linter) checkRunWrites(cmd *instructions.RunCommand, n *parser.Node, env *envMap) {
	w := &writeScan{l: l, env: env}
	if cmd.PrependShell {
		script := strings.Join(cmd.CmdLine, " ")
		cmds := splitScript(script)
		w.commands(cmds, 0)
		if len(cmd.Files) > 0 && runsHeredocScript(cmds) {
			for _, f := range cmd.Files {
				w.commands(splitScript(f.Data), 1)
			}
		}
	} else if len(cmd.CmdLine) > 0 {
		words := make([]word, len(cmd.CmdLine))
		for i, a := range cmd.CmdLine {
			words[i] = word{raw: a, val: a, ok: true, evaluated: true}
		}
		w.command(words, nil, 0)
	}
	if len(w.hits) == 0 {
		return
	}
	first := w.hits[0]
	dir, _ := mountedDir(first.path)
	what := fmt.Sprintf("RUN writes %s", first.path)
	if more := len(w.hits) - 1; more > 0 {
		what += fmt.Sprintf(" (and %d more path(s) under /workspace or /kaniko)", more)
	}
	line, col := l.atText(n, first.raw)
	l.add(finding{Finding: Finding{ID: RuleMountedRun, Severity: l.mountedSeverity(), Line: line, Column: col,
		Message: fmt.Sprintf("%s, under %s: %s", what, dir, l.mountedWhy(dir)),
		Hint:    "write somewhere else, e.g. /app or /tmp"}, anchor: n.StartLine})
}

type hit struct {
	path string
	raw  string
}

type writeScan struct {
	l    *linter
	env  *envMap
	hits []hit
}

// word is a shell word as written and, once evaluated, its value; ok is
// false when the value depends on a variable we do not know.
type word struct {
	raw       string
	val       string
	ok        bool
	evaluated bool
}

func (w *writeScan) eval(x *word) {
	if x.evaluated {
		return
	}
	x.evaluated = true
	if !strings.ContainsAny(x.raw, `$"'\`+"`") {
		x.val, x.ok = x.raw, true
		return
	}
	res, ok, err := expandWord(w.l.shellLex, x.raw, w.env)
	x.val, x.ok = res.Result, err == nil && len(res.Unmatched) == 0 && ok
}

func (w *writeScan) target(x *word) {
	w.eval(x)
	if !x.ok || !path.IsAbs(x.val) {
		return
	}
	if _, ok := mountedDir(x.val); ok {
		w.hits = append(w.hits, hit{path: path.Clean(x.val), raw: x.raw})
	}
}

func (w *writeScan) commands(cmds []simpleCmd, depth int) {
	for _, c := range cmds {
		words := make([]word, len(c.words))
		for i, r := range c.words {
			words[i] = word{raw: r}
		}
		redirs := make([]word, len(c.writes))
		for i, r := range c.writes {
			redirs[i] = word{raw: r}
		}
		w.command(words, redirs, depth)
	}
}

// shells run a script given with -c.
var shells = map[string]bool{"sh": true, "bash": true, "ash": true, "dash": true, "zsh": true, "ksh": true}

// wrappers run the rest of the line as a command.
var wrappers = map[string]bool{"sudo": true, "exec": true, "command": true, "nohup": true, "time": true, "env": true, "builtin": true}

// keywords start compound commands; the command follows them.
var keywords = map[string]bool{"if": true, "then": true, "else": true, "elif": true, "do": true, "while": true, "until": true, "!": true, "{": true, "}": true}

func (w *writeScan) command(words []word, redirs []word, depth int) {
	for i := range redirs {
		w.target(&redirs[i])
	}
	i := 0
	for i < len(words) {
		raw := words[i].raw
		if isAssignment(raw) || keywords[raw] {
			i++
			continue
		}
		w.eval(&words[i])
		if !words[i].ok {
			return
		}
		if wrappers[path.Base(words[i].val)] {
			i++
			// Wrapper options (sudo -u user) could take values: give up
			// rather than misread a value as the command.
			if i < len(words) && strings.HasPrefix(words[i].raw, "-") {
				return
			}
			continue
		}
		break
	}
	if i >= len(words) {
		return
	}
	name := path.Base(words[i].val)
	args := words[i+1:]
	if shells[name] {
		if depth < 2 {
			w.shellC(args, depth)
		}
		return
	}
	spec, ok := writeCmds[name]
	if !ok {
		return
	}
	w.apply(name, spec, args)
}

// shellC scans the script of `sh -c 'script'`.
func (w *writeScan) shellC(args []word, depth int) {
	for j, a := range args {
		r := a.raw
		if !strings.HasPrefix(r, "-") || strings.HasPrefix(r, "--") {
			if r == "-o" || r == "+o" {
				continue
			}
			if j > 0 && (args[j-1].raw == "-o" || args[j-1].raw == "+o") {
				continue
			}
			return
		}
		if strings.Contains(r[1:], "c") && j+1 < len(args) {
			// Unquote the script, leaving unknown variables as they are
			// for the inner shell.
			x, ok, err := expandWord(w.l.scriptLex, args[j+1].raw, w.env)
			if err != nil || !ok {
				return
			}
			res := x.Result
			w.commands(splitScript(res), depth+1)
			return
		}
	}
}

type argRole int

const (
	roleAll        argRole = iota // every operand is written
	roleLast                      // the last operand, when there are two or more
	roleAfterFirst                // every operand after the first (mode, owner)
	roleNone                      // only option values are written
	roleMove                      // every operand: sources are removed, the target written
)

// writeSpec says where a command writes.
type writeSpec struct {
	role       argRole
	valueOpts  string   // short options taking a value that is not written
	targetOpts string   // short options whose value is written
	longValue  []string // long options taking a separate value that is not written
	longTarget []string // long options whose value is written
	needs      string   // short option that must be present (sed -i)
	needsLong  string   // its long form
}

var writeCmds = map[string]writeSpec{
	"mkdir":    {role: roleAll, valueOpts: "m", longValue: []string{"--mode", "--context"}},
	"touch":    {role: roleAll, valueOpts: "dtr", longValue: []string{"--date", "--reference"}},
	"rm":       {role: roleAll},
	"rmdir":    {role: roleAll},
	"tee":      {role: roleAll},
	"truncate": {role: roleAll, valueOpts: "sr", longValue: []string{"--size", "--reference"}},
	"cp":       {role: roleLast, valueOpts: "S", targetOpts: "t", longValue: []string{"--suffix"}, longTarget: []string{"--target-directory"}},
	"ln":       {role: roleLast, valueOpts: "S", targetOpts: "t", longValue: []string{"--suffix"}, longTarget: []string{"--target-directory"}},
	"mv":       {role: roleMove, valueOpts: "S", targetOpts: "t", longValue: []string{"--suffix"}, longTarget: []string{"--target-directory"}},
	"install":  {role: roleLast, valueOpts: "mgoS", targetOpts: "t", longValue: []string{"--mode", "--group", "--owner", "--suffix"}, longTarget: []string{"--target-directory"}},
	"chmod":    {role: roleAfterFirst},
	"chown":    {role: roleAfterFirst},
	"chgrp":    {role: roleAfterFirst},
	"sed":      {role: roleAll, valueOpts: "efl", longValue: []string{"--expression", "--file", "--line-length"}, needs: "i", needsLong: "--in-place"},
	"curl":     {role: roleNone, valueOpts: "HduXAebcFTxwmKErYyzCD", targetOpts: "o", longTarget: []string{"--output", "--output-dir"}},
	"wget":     {role: roleNone, valueOpts: "aoeUtTwQ", targetOpts: "OP", longTarget: []string{"--output-document", "--directory-prefix"}},
	"unzip":    {role: roleNone, targetOpts: "d"},
	"dd":       {role: roleNone},
}

// apply finds the written paths of one known command.
func (w *writeScan) apply(name string, spec writeSpec, args []word) {
	opts := map[byte]bool{}
	long := map[string]bool{}
	var operands []int
	endOpts := false
	for j := 0; j < len(args); j++ {
		a := &args[j]
		w.eval(a)
		s := a.raw
		if a.ok {
			s = a.val
		}
		switch {
		case endOpts || s == "-" || !strings.HasPrefix(s, "-"):
			operands = append(operands, j)
		case s == "--":
			endOpts = true
		case strings.HasPrefix(s, "--"):
			key, val, hasVal := strings.Cut(s, "=")
			long[key] = true
			isTarget := contains(spec.longTarget, key)
			if !hasVal && (isTarget || contains(spec.longValue, key)) && j+1 < len(args) {
				j++
				if isTarget {
					w.target(&args[j])
				}
				continue
			}
			if hasVal && isTarget {
				w.target(&word{raw: val, val: val, ok: a.ok, evaluated: true})
			}
		default:
			for k := 1; k < len(s); k++ {
				c := s[k]
				isTarget := strings.IndexByte(spec.targetOpts, c) >= 0
				if isTarget || strings.IndexByte(spec.valueOpts, c) >= 0 {
					rest := s[k+1:]
					if rest == "" && j+1 < len(args) {
						j++
						if isTarget {
							w.target(&args[j])
						}
					} else if rest != "" && isTarget {
						w.target(&word{raw: rest, val: rest, ok: a.ok, evaluated: true})
					}
					break
				}
				opts[c] = true
			}
		}
	}
	if spec.needs != "" && !opts[spec.needs[0]] && !long[spec.needsLong] {
		return
	}
	role := spec.role
	switch name {
	case "install":
		if opts['d'] || long["--directory"] {
			role = roleAll
		}
	case "chmod", "chown", "chgrp":
		if long["--reference"] {
			role = roleAll
		}
	case "sed":
		if !opts['e'] && !opts['f'] && !long["--expression"] && !long["--file"] {
			role = roleAfterFirst
		}
	case "dd":
		for _, j := range operands {
			if v, ok := strings.CutPrefix(args[j].val, "of="); ok && args[j].ok {
				w.target(&word{raw: args[j].raw, val: v, ok: true, evaluated: true})
			}
		}
		return
	}
	switch role {
	case roleAll:
		// mkdir -p succeeds on a directory that exists, even on a
		// read-only mount (EEXIST comes before EROFS).
		parents := name == "mkdir" && (opts['p'] || long["--parents"])
		for _, j := range operands {
			if parents && args[j].ok && path.IsAbs(args[j].val) && w.l.existsInExecutor(args[j].val) {
				continue
			}
			w.target(&args[j])
		}
	case roleMove:
		if len(operands) >= 2 || opts['t'] || long["--target-directory"] {
			for _, j := range operands {
				w.target(&args[j])
			}
		}
	case roleLast:
		if len(operands) >= 2 {
			w.target(&args[operands[len(operands)-1]])
		}
	case roleAfterFirst:
		for _, j := range operands[min(1, len(operands)):] {
			w.target(&args[j])
		}
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func isAssignment(raw string) bool {
	k, _, ok := strings.Cut(raw, "=")
	if !ok || k == "" || k[0] >= '0' && k[0] <= '9' {
		return false
	}
	for i := 0; i < len(k); i++ {
		if !isNameChar(k[i]) {
			return false
		}
	}
	return true
}

// runsHeredocScript reports whether a RUN line feeds its heredoc to a
// shell (RUN <<EOF, RUN bash <<EOF), so the body is a script to scan.
func runsHeredocScript(cmds []simpleCmd) bool {
	for _, c := range cmds {
		if !c.heredoc {
			continue
		}
		if len(c.words) == 0 || shells[path.Base(c.words[0])] {
			return true
		}
	}
	return false
}

// simpleCmd is one simple command of a shell script: its words as written
// and the targets of its output redirections.
type simpleCmd struct {
	words   []string
	writes  []string
	heredoc bool
}

type pendingKind int

const (
	pendNone pendingKind = iota
	pendWrite
	pendSkip
	pendHeredoc
)

type heredocMark struct {
	delim string
	chomp bool
}

// splitScript splits a POSIX shell script into simple commands, enough to
// find command names, operands and redirection targets. It keeps quotes
// in the words (the Lex evaluates them later), treats command
// substitutions as part of a word and skips heredoc bodies and comments.
// It runs in time linear in the script.
func splitScript(s string) []simpleCmd {
	var (
		cmds     []simpleCmd
		cur      simpleCmd
		buf      strings.Builder
		inWord   bool
		pending  pendingKind
		chomp    bool
		heredocs []heredocMark
	)
	endWord := func() {
		if !inWord {
			return
		}
		w := buf.String()
		buf.Reset()
		inWord = false
		switch pending {
		case pendWrite:
			cur.writes = append(cur.writes, w)
		case pendHeredoc:
			heredocs = append(heredocs, heredocMark{delim: strings.NewReplacer(`'`, "", `"`, "", `\`, "").Replace(w), chomp: chomp})
		case pendSkip:
		default:
			cur.words = append(cur.words, w)
		}
		pending = pendNone
	}
	endCmd := func() {
		endWord()
		pending = pendNone
		if len(cur.words) > 0 || len(cur.writes) > 0 || cur.heredoc {
			cmds = append(cmds, cur)
		}
		cur = simpleCmd{}
	}
	// fdPrefix drops a word made only of digits right before a
	// redirection operator (2>file): it is the file descriptor.
	fdPrefix := func() {
		if inWord && allDigits(buf.String()) {
			buf.Reset()
			inWord = false
			return
		}
		endWord()
	}
	for i := 0; i < len(s); {
		ch := s[i]
		switch {
		case ch == '\\':
			if i+1 < len(s) && s[i+1] == '\n' {
				i += 2
				continue
			}
			inWord = true
			end := min(i+2, len(s))
			buf.WriteString(s[i:end])
			i = end
		case ch == '\'':
			end := len(s)
			if j := strings.IndexByte(s[i+1:], '\''); j >= 0 {
				end = i + 1 + j + 1
			}
			inWord = true
			buf.WriteString(s[i:end])
			i = end
		case ch == '"':
			end := closeDouble(s, i+1)
			inWord = true
			buf.WriteString(s[i:end])
			i = end
		case ch == '`':
			end := len(s)
			if j := strings.IndexByte(s[i+1:], '`'); j >= 0 {
				end = i + 1 + j + 1
			}
			inWord = true
			buf.WriteString(s[i:end])
			i = end
		case ch == '$' && i+1 < len(s) && s[i+1] == '(':
			end := closeParen(s, i+2)
			inWord = true
			buf.WriteString(s[i:end])
			i = end
		case ch == ' ' || ch == '\t' || ch == '\r':
			endWord()
			i++
		case ch == '\n':
			endCmd()
			i++
			if len(heredocs) > 0 {
				i = skipHeredocBodies(s, i, heredocs)
				heredocs = heredocs[:0]
			}
		case ch == ';' || ch == '(' || ch == ')':
			endCmd()
			i++
		case ch == '&':
			if i+1 < len(s) && s[i+1] == '>' {
				endWord()
				i += 2
				if i < len(s) && s[i] == '>' {
					i++
				}
				pending = pendWrite
				continue
			}
			endCmd()
			i++
		case ch == '|':
			endCmd()
			i++
		case ch == '>':
			fdPrefix()
			i++
			pending = pendWrite
			if i < len(s) && (s[i] == '>' || s[i] == '|') {
				i++
			} else if i < len(s) && s[i] == '&' {
				i++
				pending = pendSkip
			}
		case ch == '<':
			fdPrefix()
			i++
			pending = pendSkip
			if i < len(s) && s[i] == '<' {
				i++
				if i < len(s) && s[i] == '<' {
					i++ // here-string
				} else {
					chomp = i < len(s) && s[i] == '-'
					if chomp {
						i++
					}
					pending = pendHeredoc
					cur.heredoc = true
				}
			} else if i < len(s) && (s[i] == '&' || s[i] == '>') {
				i++
			}
		case ch == '#' && !inWord:
			j := strings.IndexByte(s[i:], '\n')
			if j < 0 {
				i = len(s)
			} else {
				i += j
			}
		default:
			inWord = true
			buf.WriteByte(ch)
			i++
		}
	}
	endCmd()
	return cmds
}

// closeDouble returns the index just past the closing double quote.
func closeDouble(s string, i int) int {
	for i < len(s) {
		switch s[i] {
		case '\\':
			i += 2
			continue
		case '"':
			return i + 1
		}
		i++
	}
	return len(s)
}

// closeParen returns the index just past the parenthesis that closes a
// command substitution opened before i.
func closeParen(s string, i int) int {
	depth := 1
	for i < len(s) {
		switch s[i] {
		case '\\':
			i += 2
			continue
		case '\'':
			if j := strings.IndexByte(s[i+1:], '\''); j >= 0 {
				i += j + 2
				continue
			}
			return len(s)
		case '"':
			i = closeDouble(s, i+1)
			continue
		case '(':
			depth++
		case ')':
			depth--
			if depth == 0 {
				return i + 1
			}
		}
		i++
	}
	return len(s)
}

// skipHeredocBodies skips the bodies of heredocs started on the line that
// just ended, returning the index of the first line after them.
func skipHeredocBodies(s string, i int, marks []heredocMark) int {
	for _, m := range marks {
		for i < len(s) {
			end := strings.IndexByte(s[i:], '\n')
			line := s[i:]
			next := len(s)
			if end >= 0 {
				line = s[i : i+end]
				next = i + end + 1
			}
			i = next
			line = strings.TrimRight(line, "\r")
			if m.chomp {
				line = strings.TrimLeft(line, "\t")
			}
			if line == m.delim {
				break
			}
		}
	}
	return i
}

func allDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
