package testbed

import (
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// DaemonProxy is a socket that forwards to the Docker daemon's, for tests
// of a daemon that goes away mid-build (point DOCKER_HOST at Host, then
// Cut it) and of a daemon that looks remote (NewDaemonProxyTCP). The
// machine's daemon itself is never touched.
type DaemonProxy struct {
	// Host is the DOCKER_HOST value that reaches the daemon through the
	// proxy: unix:///path/to/proxy.sock, or tcp://127.0.0.1:PORT.
	Host string

	target string
	lis    net.Listener
	mu     sync.Mutex
	conns  []net.Conn
	cut    bool
	reqs   []string
}

// NewDaemonProxy starts a unix-socket proxy to the daemon DOCKER_HOST
// names (a unix socket; the default one when unset), closed when the test
// ends.
func NewDaemonProxy(t testing.TB) *DaemonProxy {
	t.Helper()
	// Unix socket paths are short: t.TempDir() may be too long.
	dir, err := os.MkdirTemp("", "krproxy")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	sock := filepath.Join(dir, "docker.sock")
	lis, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatalf("listening on %s: %v", sock, err)
	}
	return startProxy(t, lis, "unix://"+sock)
}

// NewDaemonProxyTCP starts a proxy on a loopback TCP port: a tcp://
// daemon, which kanikorun treats as remote even on loopback.
func NewDaemonProxyTCP(t testing.TB) *DaemonProxy {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return startProxy(t, lis, "tcp://"+lis.Addr().String())
}

func startProxy(t testing.TB, lis net.Listener, host string) *DaemonProxy {
	t.Helper()
	target := "/var/run/docker.sock"
	if h := os.Getenv("DOCKER_HOST"); h != "" {
		p, ok := strings.CutPrefix(h, "unix://")
		if !ok {
			lis.Close()
			t.Skipf("the daemon proxy forwards unix sockets only; DOCKER_HOST=%s", h)
		}
		target = p
	}
	p := &DaemonProxy{Host: host, target: target, lis: lis}
	go p.serve()
	t.Cleanup(p.Cut)
	return p
}

func (p *DaemonProxy) serve() {
	for {
		c, err := p.lis.Accept()
		if err != nil {
			return
		}
		d, err := net.Dial("unix", p.target)
		if err != nil {
			c.Close()
			continue
		}
		p.mu.Lock()
		if p.cut {
			p.mu.Unlock()
			c.Close()
			d.Close()
			return
		}
		p.conns = append(p.conns, c, d)
		p.mu.Unlock()
		// Half-closes pass on: a client closes its side once it has sent
		// a container's stdin (the context, in stream mode).
		go func() { _, _ = io.Copy(d, &requestLog{r: c, p: p}); closeWrite(d) }()
		go func() { _, _ = io.Copy(c, d); closeWrite(c) }()
	}
}

// Cut closes the proxy and every connection through it: to its clients
// the daemon is gone, mid-request or not. It is safe to call twice.
func (p *DaemonProxy) Cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cut {
		return
	}
	p.cut = true
	_ = p.lis.Close()
	for _, c := range p.conns {
		_ = c.Close()
	}
}

// Requests are the API requests made through the proxy so far, in the
// order they were sent, each as its method and path without the version
// prefix or query: "POST /containers/create", "HEAD /_ping".
func (p *DaemonProxy) Requests() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.reqs...)
}

// requestLog passes a client's bytes on, noting each HTTP request line in
// them. A line that is not one (a body, a container's stdin) is skipped.
type requestLog struct {
	r    io.Reader
	p    *DaemonProxy
	line []byte
}

func (l *requestLog) Read(b []byte) (int, error) {
	n, err := l.r.Read(b)
	for _, c := range b[:n] {
		if c != '\n' {
			if len(l.line) < 4096 {
				l.line = append(l.line, c)
			}
			continue
		}
		if r, ok := requestLine(string(l.line)); ok {
			l.p.mu.Lock()
			l.p.reqs = append(l.p.reqs, r)
			l.p.mu.Unlock()
		}
		l.line = l.line[:0]
	}
	return n, err
}

// requestLine turns "POST /v1.41/containers/ID/wait?condition=removed
// HTTP/1.1" into "POST /containers/ID/wait".
func requestLine(s string) (string, bool) {
	f := strings.Fields(s)
	if len(f) != 3 || !strings.HasPrefix(f[2], "HTTP/1.") || !strings.HasPrefix(f[1], "/") {
		return "", false
	}
	switch f[0] {
	case "GET", "HEAD", "POST", "PUT", "DELETE":
	default:
		return "", false
	}
	path, _, _ := strings.Cut(f[1], "?")
	if rest, ok := strings.CutPrefix(path, "/v1."); ok {
		if _, after, ok := strings.Cut(rest, "/"); ok {
			path = "/" + after
		}
	}
	return f[0] + " " + path, true
}

// String is the proxy's DOCKER_HOST.
func (p *DaemonProxy) String() string { return fmt.Sprintf("daemon proxy %s", p.Host) }

// closeWrite half-closes a connection that can, and closes one that cannot.
func closeWrite(c net.Conn) {
	if hc, ok := c.(interface{ CloseWrite() error }); ok {
		_ = hc.CloseWrite()
		return
	}
	_ = c.Close()
}
