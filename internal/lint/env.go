package lint

import "github.com/moby/buildkit/frontend/dockerfile/shell"

// envMap is the ARG/ENV scope of a stage as far as the Dockerfile shows
// it. Variables whose value cannot be known statically are "unknown": the
// lexer sees them as unset, so any expansion using them reports them as
// unmatched and the caller gives up instead of guessing.
type envMap struct {
	vals    map[string]string
	unknown map[string]bool
}

var _ shell.EnvGetter = (*envMap)(nil)

func newEnv() *envMap {
	return &envMap{vals: map[string]string{}, unknown: map[string]bool{}}
}

func (e *envMap) set(k, v string) {
	delete(e.unknown, k)
	e.vals[k] = v
}

func (e *envMap) setUnknown(k string) {
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
