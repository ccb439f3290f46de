package errs

import (
	"errors"
	"fmt"
	"io"
	"testing"
)

func TestMark(t *testing.T) {
	t.Parallel()
	sentinel := errors.New("sentinel")
	inner := fmt.Errorf("reading: %w", io.ErrUnexpectedEOF)
	err := Mark(inner, sentinel)
	if err.Error() != inner.Error() {
		t.Errorf("message changed: %q", err)
	}
	if !errors.Is(err, sentinel) || !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("chain lost: %v", err)
	}
	if Mark(nil, sentinel) != nil {
		t.Error("Mark(nil) is not nil")
	}
}
