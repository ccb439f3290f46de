package runner

import (
	"bytes"
	"encoding/base64"
	"io"
	"sync"
)

// maskText replaces a secret in the executor's output.
const maskText = "***"

// masker passes a stream through with every secret value replaced by ***,
// also when a value is split across two writes. It holds back only the
// longest tail that could still become a secret (at most the longest
// secret's length minus one), so lines flow through unbuffered as long as
// they do not end halfway into a secret; Flush writes that tail at the
// end of the stream.
type masker struct {
	mu       sync.Mutex
	w        io.Writer
	patterns [][]byte
	pending  []byte
}

// maskPatterns are the forms of the values worth masking: each value
// without its trailing newline (a file usually ends with one, which a
// step may print or drop, and masking it would join two lines), and in
// standard base64 with and without that newline.
func maskPatterns(values [][]byte) [][]byte {
	var out [][]byte
	seen := map[string]bool{}
	add := func(p []byte) {
		if len(p) > 0 && !seen[string(p)] {
			seen[string(p)] = true
			out = append(out, p)
		}
	}
	for _, v := range values {
		trimmed := bytes.TrimRight(v, "\r\n")
		add(trimmed)
		add([]byte(base64.StdEncoding.EncodeToString(trimmed)))
		add([]byte(base64.StdEncoding.EncodeToString(v)))
	}
	return out
}

// newMasker masks values in what is written to w; with no values it
// passes everything through.
func newMasker(w io.Writer, values [][]byte) *masker {
	return &masker{w: w, patterns: maskPatterns(values)}
}

func (m *masker) Write(p []byte) (int, error) {
	if len(m.patterns) == 0 {
		return m.w.Write(p)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	buf := append(m.pending, p...)
	var out []byte
	i := 0
	for {
		at, n := m.next(buf[i:])
		if at < 0 {
			break
		}
		out = append(out, buf[i:i+at]...)
		out = append(out, maskText...)
		i += at + n
	}
	rest := buf[i:]
	keep := m.holdback(rest)
	out = append(out, rest[:len(rest)-keep]...)
	m.pending = append([]byte(nil), rest[len(rest)-keep:]...)
	if len(out) > 0 {
		if _, err := m.w.Write(out); err != nil {
			return 0, err
		}
	}
	return len(p), nil
}

// next finds the first secret in b: its offset and length, the longest
// one where several start at the same offset; -1 when there is none.
func (m *masker) next(b []byte) (at, n int) {
	at = -1
	for _, p := range m.patterns {
		i := bytes.Index(b, p)
		if i >= 0 && (at < 0 || i < at || i == at && len(p) > n) {
			at, n = i, len(p)
		}
	}
	return at, n
}

// holdback is the length of b's longest tail that is the beginning of a
// secret: it may complete with the next write, so it is not written yet.
func (m *masker) holdback(b []byte) int {
	keep := 0
	for _, p := range m.patterns {
		for k := min(len(p)-1, len(b)); k > keep; k-- {
			if bytes.HasSuffix(b, p[:k]) {
				keep = k
				break
			}
		}
	}
	return keep
}

// Flush writes what was held back: the stream has ended, so it cannot
// become a secret any more.
func (m *masker) Flush() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(m.pending) == 0 {
		return nil
	}
	_, err := m.w.Write(m.pending)
	m.pending = nil
	return err
}
