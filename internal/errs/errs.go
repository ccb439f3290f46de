// Package errs marks errors with the sentinel a caller branches on (the
// CLI's exit code lookup) without changing what they say.
package errs

// Mark returns err, unchanged in its message, so that errors.Is(err,
// sentinel) also holds. A nil err stays nil.
func Mark(err, sentinel error) error {
	if err == nil {
		return nil
	}
	return &marked{err: err, sentinel: sentinel}
}

type marked struct{ err, sentinel error }

func (m *marked) Error() string   { return m.err.Error() }
func (m *marked) Unwrap() []error { return []error{m.err, m.sentinel} }
