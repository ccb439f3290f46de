package testbed

import (
	"io"
	"net"
	"net/http"
	"sync"
)

// Fault is how a faulty Registry fails a request.
type Fault int

// The faults a Registry can play, each as a real registry or network
// fails.
const (
	// FaultUnavailable answers 503 with a registry error body, code
	// UNAVAILABLE: go-containerregistry (and so the executor) prints the
	// code, not the status.
	FaultUnavailable Fault = iota + 1
	// FaultBare503 answers 503 without a body: the executor prints
	// "unexpected status code 503 Service Unavailable".
	FaultBare503
	// FaultTooManyRequests answers 429 with the code TOOMANYREQUESTS.
	FaultTooManyRequests
	// FaultReset resets the TCP connection without an answer.
	FaultReset
)

// faults is a Registry's plan of failures: the next n requests fail.
type faults struct {
	mu    sync.Mutex
	fault Fault
	left  int
	// played counts the requests failed so far.
	played int
}

// Fail makes the registry fail its next n requests with f, whatever they
// are (the /v2/ ping included, before any credential check), then answer
// normally again. Use a registry of the test's own (NewRegistry): the
// faults hit every client.
func (r *Registry) Fail(n int, f Fault) {
	r.faults.mu.Lock()
	defer r.faults.mu.Unlock()
	r.faults.fault, r.faults.left = f, n
}

// Failed counts the requests the registry failed on purpose so far.
func (r *Registry) Failed() int {
	r.faults.mu.Lock()
	defer r.faults.mu.Unlock()
	return r.faults.played
}

// next returns the fault for this request, or 0.
func (f *faults) next() Fault {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.left <= 0 {
		return 0
	}
	f.left--
	f.played++
	return f.fault
}

// play fails the request as fault says; it reports whether it did.
func (f *faults) play(w http.ResponseWriter) bool {
	switch f.next() {
	case FaultUnavailable:
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = io.WriteString(w, `{"errors":[{"code":"UNAVAILABLE","message":"service unavailable","detail":null}]}`)
	case FaultBare503:
		w.WriteHeader(http.StatusServiceUnavailable)
	case FaultTooManyRequests:
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusTooManyRequests)
		_, _ = io.WriteString(w, `{"errors":[{"code":"TOOMANYREQUESTS","message":"too many requests","detail":null}]}`)
	case FaultReset:
		hj, ok := w.(http.Hijacker)
		if !ok {
			w.WriteHeader(http.StatusServiceUnavailable)
			return true
		}
		conn, _, err := hj.Hijack()
		if err != nil {
			return true
		}
		// Linger 0: close sends RST, not FIN.
		if tc, ok := conn.(*net.TCPConn); ok {
			_ = tc.SetLinger(0)
		}
		_ = conn.Close()
	default:
		return false
	}
	return true
}
