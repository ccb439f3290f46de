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
		go func() { _, _ = io.Copy(d, c); closeWrite(d) }()
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
