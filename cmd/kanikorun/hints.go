package main

import (
	"bytes"
	"io"
	"sync"
)

// hint is advice kanikorun adds after a failed build, chosen by a phrase in
// the executor's output.
type hint struct {
	phrase string
	advice string
}

// buildHints are checked in order; the first match wins.
var buildHints = []hint{
	{"UNAUTHORIZED", "the registry refused the credentials: run `kanikorun creds` with the same flags to see where they come from, then `docker login REGISTRY`"},
	{"401 Unauthorized", "the registry refused the credentials: run `kanikorun creds` with the same flags to see where they come from, then `docker login REGISTRY`"},
	{"DENIED", "the registry denied access: check that your account may push to the destination repository"},
	{"read-only file system", "the build writes under /workspace, which kanikorun mounts read-only (as the context should be): write elsewhere, e.g. /tmp or /app"},
	{"no such host", "a registry name does not resolve from the executor container: check the name, or --network"},
	{"connection refused", "a registry refused the connection: is it running, and reachable from the container's network (--network)?"},
}

// watcher passes output through untouched and unbuffered while remembering
// which hint phrases went by. It keeps a short tail so a phrase split across
// two writes is still seen.
type watcher struct {
	mu   sync.Mutex
	w    io.Writer
	tail []byte
	seen map[string]bool
}

func newWatcher(w io.Writer) *watcher { return &watcher{w: w, seen: map[string]bool{}} }

func (w *watcher) Write(p []byte) (int, error) {
	n, err := w.w.Write(p)
	w.mu.Lock()
	defer w.mu.Unlock()
	buf := append(w.tail, p[:n]...)
	for _, h := range buildHints {
		if bytes.Contains(buf, []byte(h.phrase)) {
			w.seen[h.phrase] = true
		}
	}
	const keep = 64
	if len(buf) > keep {
		buf = buf[len(buf)-keep:]
	}
	w.tail = append([]byte(nil), buf...)
	return n, err
}

// advice returns the first matching hint, or "".
func (w *watcher) advice() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, h := range buildHints {
		if w.seen[h.phrase] {
			return h.advice
		}
	}
	return ""
}
