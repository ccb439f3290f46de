package lint

import (
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Severity says how bad a finding is. Errors stop a build before any
// container starts, warnings are printed and the build goes on, infos are
// notes.
type Severity int

// Severities, from least to most severe.
const (
	Info Severity = iota
	Warning
	Error
)

var severityNames = [...]string{Info: "info", Warning: "warning", Error: "error"}

// String returns "info", "warning" or "error".
func (s Severity) String() string {
	if s < 0 || int(s) >= len(severityNames) {
		return fmt.Sprintf("severity(%d)", int(s))
	}
	return severityNames[s]
}

// MarshalText writes the severity as its name, so JSON carries "error"
// rather than a number a tool would have to look up.
func (s Severity) MarshalText() ([]byte, error) {
	if s < 0 || int(s) >= len(severityNames) {
		return nil, fmt.Errorf("marshalling severity %d: unknown severity", int(s))
	}
	return []byte(s.String()), nil
}

// UnmarshalText reads a severity name written by MarshalText.
func (s *Severity) UnmarshalText(b []byte) error {
	for i, n := range severityNames {
		if string(b) == n {
			*s = Severity(i)
			return nil
		}
	}
	return fmt.Errorf("unknown severity %q: use info, warning or error", b)
}

// Finding is one problem the linter found, located like a compiler
// diagnostic. Line and Column are 1-based (Column counts bytes); both are 0
// for findings about the whole file or the executor.
type Finding struct {
	// ID is the stable rule ID, e.g. KR003.
	ID string `json:"id"`
	// Severity is the severity for the chosen executor and mode.
	Severity Severity `json:"severity"`
	// File is the Dockerfile (or .dockerignore) as the user named it.
	File string `json:"file"`
	// Line is the 1-based line, 0 when the finding has no position.
	Line int `json:"line"`
	// Column is the 1-based byte column, 0 when the finding has no position.
	Column int `json:"column"`
	// Message says what is wrong, in one line.
	Message string `json:"message"`
	// Hint names the way out: the rewrite, or the executor to switch to.
	Hint string `json:"hint"`
}

// Position renders file:line:column, leaving out what is unknown.
func (f Finding) Position() string {
	switch {
	case f.Line <= 0:
		return f.File
	case f.Column <= 0:
		return fmt.Sprintf("%s:%d", f.File, f.Line)
	default:
		return fmt.Sprintf("%s:%d:%d", f.File, f.Line, f.Column)
	}
}

// String renders the finding's first line the way compilers do:
// "Dockerfile:12:1: error KR003 heredoc in RUN ...".
func (f Finding) String() string {
	return fmt.Sprintf("%s: %s %s %s", f.Position(), f.Severity, f.ID, f.Message)
}

// WriteText writes findings like a compiler: one line per finding, the hint
// on the next line, indented.
// Bytes from the Dockerfile that a terminal would act on (control
// characters, invalid UTF-8) are written escaped.
func WriteText(w io.Writer, findings []Finding) error {
	var b strings.Builder
	for _, f := range findings {
		writePrintable(&b, f.String())
		b.WriteByte('\n')
		if f.Hint != "" {
			b.WriteString("    hint: ")
			writePrintable(&b, f.Hint)
			b.WriteByte('\n')
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// WriteJSON writes findings as one JSON array (never null) for tools and
// editors.
func WriteJSON(w io.Writer, findings []Finding) error {
	if findings == nil {
		findings = []Finding{}
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	// Messages quote Dockerfiles: keep && and <<EOF readable. (encoding/json
	// escapes control characters and replaces invalid UTF-8 anyway.)
	enc.SetEscapeHTML(false)
	return enc.Encode(findings)
}

// HasErrors reports whether findings should fail the command: any error,
// or with strict any warning too.
func HasErrors(findings []Finding, strict bool) bool {
	for _, f := range findings {
		if f.Severity == Error || (strict && f.Severity == Warning) {
			return true
		}
	}
	return false
}

// writePrintable writes s with control characters and invalid UTF-8 as Go
// escapes (\x00, \u200b stays: only what a terminal acts on is escaped).
func writePrintable(b *strings.Builder, s string) {
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size <= 1:
			fmt.Fprintf(b, "\\x%02x", s[i])
		case r != '\t' && unicode.IsControl(r):
			q := strconv.QuoteRune(r)
			b.WriteString(q[1 : len(q)-1])
		default:
			b.WriteString(s[i : i+size])
		}
		i += size
	}
}
