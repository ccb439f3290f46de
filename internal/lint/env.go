package lint

import "github.com/moby/buildkit/frontend/dockerfile/shell"

// envMap is the ARG/ENV scope of a stage as far as the Dockerfile shows
// it. Variables whose value cannot be known statically are "unknown": the
// lexer sees them as unset, so any expansion using them reports them as
// unmatched and the caller gives up instead of guessing.
type envMap struct {
	vals    map[string]string
	unknown map[string]bool
	// size is the bytes of all values, held under scopeBudget.
	size int
}

var _ shell.EnvGetter = (*envMap)(nil)

func newEnv() *envMap {
	return &envMap{vals: map[string]string{}, unknown: map[string]bool{}}
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
// image name is. Each instruction thus costs at most this much work.
const expansionBudget = 4 << 10

// scopeBudget bounds the bytes of all values in one scope, so 100,000
// lines of `ENV Bn=$A` cannot hold a copy each of a 4 KiB $A.
const scopeBudget = 1 << 20

// budgetEnv is an envMap for one expansion: it stops handing out values
// once they add up to expansionBudget, and remembers that it did.
type budgetEnv struct {
	*envMap
	left int
	over bool
}

// budgeted returns the envMap for one expansion; check over afterwards.
// A scope that is full gets no budget, so its later assignments cost
// nothing.
func (e *envMap) budgeted() *budgetEnv {
	return &budgetEnv{envMap: e, left: min(expansionBudget, scopeBudget-e.size)}
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
	return v, true
}
