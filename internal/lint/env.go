package lint

import (
	"strings"

	"github.com/moby/buildkit/frontend/dockerfile/shell"
)

// envMap is the ARG/ENV scope of a stage as far as the Dockerfile shows
// it. Variables whose value cannot be known statically are "unknown": the
// lexer sees them as unset, so any expansion using them reports them as
// unmatched and the caller gives up instead of guessing.
type envMap struct {
	vals    map[string]string
	unknown map[string]bool
	// size is the bytes of all values, held under scopeBudget.
	size int
	// instrLeft is what the current instruction may still copy out of
	// variables (instructionBudget, reset by startInstruction).
	instrLeft int
}

var _ shell.EnvGetter = (*envMap)(nil)

func newEnv() *envMap {
	return &envMap{vals: map[string]string{}, unknown: map[string]bool{}, instrLeft: instructionBudget}
}

// startInstruction gives the next instruction its own budget.
func (e *envMap) startInstruction() {
	e.instrLeft = instructionBudget
}

func (e *envMap) set(k, v string) {
	if len(v) > expansionBudget || e.size-len(e.vals[k])+len(v) > scopeBudget {
		e.setUnknown(k)
		return
	}
	delete(e.unknown, k)
	e.size += len(v) - len(e.vals[k])
	e.vals[k] = v
}

func (e *envMap) setUnknown(k string) {
	e.size -= len(e.vals[k])
	delete(e.vals, k)
	e.unknown[k] = true
}

func (e *envMap) get(k string) (string, bool) {
	v, ok := e.vals[k]
	return v, ok
}

// Get implements shell.EnvGetter.
func (e *envMap) Get(k string) (string, bool) {
	return e.get(k)
}

// Keys implements shell.EnvGetter.
func (e *envMap) Keys() []string {
	keys := make([]string, 0, len(e.vals))
	for k := range e.vals {
		keys = append(keys, k)
	}
	return keys
}

// expansionBudget bounds the bytes one expansion may copy out of
// variables. `ENV B=$A$A` doubles a value per line, so a few hundred bytes
// of Dockerfile would otherwise expand to gigabytes; a chain of `ENV
// Vn=$V(n-1)/x` would make the work quadratic. A longer value is treated
// as unknown: no path the rules judge is longer than PATH_MAX, and no
// image name is.
const expansionBudget = 4 << 10

// instructionBudget bounds what all the expansions of one instruction may
// copy out of variables, so `RUN touch $A $A ...` with thousands of words
// costs no more than a few of them.
const instructionBudget = 64 << 10

// scopeBudget bounds the bytes of all values in one scope, so 100,000
// lines of `ENV Bn=$A` cannot hold a copy each of a 4 KiB $A.
const scopeBudget = 1 << 20

// budgetEnv is an envMap for one expansion: it stops handing out values
// once they add up to its budget, and remembers that it did.
type budgetEnv struct {
	*envMap
	left int
	over bool
}

// Get implements shell.EnvGetter.
func (b *budgetEnv) Get(k string) (string, bool) {
	v, ok := b.envMap.get(k)
	if !ok {
		return "", false
	}
	if len(v) > b.left {
		b.over = true
		return "", false
	}
	b.left -= len(v)
	b.envMap.instrLeft -= len(v)
	return v, true
}

// expandWord expands word with lex the way kaniko does, within the
// budgets. ok is false when the result cannot be trusted: a budget ran
// out, or the word uses ${NAME/pattern/replacement}, whose output grows
// with every match (nested, by the power of the nesting) while reading a
// variable only once, so no budget on reads can bound it. A scope that is
// full gets no budget, so its later assignments cost nothing.
func expandWord(lex *shell.Lex, word string, e *envMap) (res shell.ProcessWordResult, ok bool, err error) {
	if patternSubstitution(word) {
		return res, false, nil
	}
	b := &budgetEnv{envMap: e, left: min(expansionBudget, scopeBudget-e.size, e.instrLeft)}
	res, err = lex.ProcessWordWithMatches(word, b)
	return res, !b.over, err
}

// patternSubstitution reports whether word holds ${NAME/...} or
// ${NAME//...}.
func patternSubstitution(word string) bool {
	for i := strings.Index(word, "${"); i >= 0; {
		j := i + 2
		for j < len(word) && (word[j] == '_' || word[j] >= 'a' && word[j] <= 'z' || word[j] >= 'A' && word[j] <= 'Z' || j > i+2 && word[j] >= '0' && word[j] <= '9') {
			j++
		}
		if j > i+2 && j < len(word) && word[j] == '/' {
			return true
		}
		next := strings.Index(word[i+2:], "${")
		if next < 0 {
			break
		}
		i += 2 + next
	}
	return false
}
