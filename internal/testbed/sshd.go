package testbed

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// SSHDaemon is a real OpenSSH server on a loopback port through which
// this machine's Docker daemon is an ssh:// daemon: the docker client's
// connection helper runs `ssh ... docker system dial-stdio`, and the
// server runs that docker CLI beside the daemon, as on a remote build
// host. Only what the client reads is set up for the test: a key pair and
// known_hosts in a temporary directory, and an `ssh` on PATH that passes
// that configuration (-F) to the real ssh, which sends this process's
// DOCKER_HOST along, so the far side's docker reaches the same daemon.
type SSHDaemon struct {
	// Host is the DOCKER_HOST value: ssh://USER@127.0.0.1:PORT.
	Host string
	// PathDir holds the ssh that reads the test's client configuration;
	// put it first on PATH.
	PathDir string
	// Log is sshd's log file.
	Log string
}

// StartSSHDaemon starts sshd for the test's user, stopped when the test
// ends. It needs OpenSSH's sshd, ssh and ssh-keygen and the docker CLI:
// a test fails without them when CI is set (CI installs them), and skips
// otherwise.
func StartSSHDaemon(t testing.TB) *SSHDaemon {
	t.Helper()
	missing := func(what string, err error) {
		if inCI() {
			t.Fatalf("%s is required when CI is set: %v", what, err)
		}
		t.Skipf("skipping: needs %s: %v", what, err)
	}
	sshd := "/usr/sbin/sshd"
	if _, err := os.Stat(sshd); err != nil {
		missing("OpenSSH's sshd (apt-get install openssh-server)", err)
	}
	for _, bin := range []string{"ssh", "ssh-keygen", "docker"} {
		if _, err := exec.LookPath(bin); err != nil {
			missing(bin, err)
		}
	}
	u, err := user.Current()
	if err != nil {
		t.Fatal(err)
	}
	// sshd's privilege separation directory; Debian's package makes it at
	// boot, which a container may not have had.
	if err := os.MkdirAll("/run/sshd", 0o755); err != nil && u.Uid == "0" {
		t.Fatal(err)
	}
	dir, err := os.MkdirTemp("", "krsshd")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	for _, k := range []string{"host", "client"} {
		if out, err := exec.Command("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "kanikorun-test", "-f", filepath.Join(dir, k)).CombinedOutput(); err != nil {
			t.Fatalf("ssh-keygen: %v\n%s", err, out)
		}
	}
	clientPub, err := os.ReadFile(filepath.Join(dir, "client.pub"))
	if err != nil {
		t.Fatal(err)
	}
	write := func(name, content string, mode os.FileMode) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), mode); err != nil {
			t.Fatal(err)
		}
		return p
	}
	write("authorized_keys", string(clientPub), 0o600)
	hostPub, err := os.ReadFile(filepath.Join(dir, "host.pub"))
	if err != nil {
		t.Fatal(err)
	}
	real, err := exec.LookPath("ssh")
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "bin")
	if err := os.Mkdir(bin, 0o755); err != nil {
		t.Fatal(err)
	}
	log := filepath.Join(dir, "sshd.log")
	// The far side's docker reaches the daemon this process does: the
	// client sends DOCKER_HOST along (SetEnv) and the server takes it.
	dockerHost := os.Getenv("DOCKER_HOST")
	if dockerHost == "" {
		dockerHost = "unix:///var/run/docker.sock"
	}
	// A free port can be taken between the pick and sshd's bind: then
	// sshd exits, and another port is tried.
	var lastErr string
	for range 3 {
		port := freePort(t)
		config := write("sshd_config", fmt.Sprintf(`Port %d
ListenAddress 127.0.0.1
HostKey %s
AuthorizedKeysFile %s
PidFile %s
PasswordAuthentication no
KbdInteractiveAuthentication no
PubkeyAuthentication yes
PermitRootLogin prohibit-password
AllowUsers %s
AcceptEnv DOCKER_HOST
StrictModes no
UsePAM no
`, port, filepath.Join(dir, "host"), filepath.Join(dir, "authorized_keys"), filepath.Join(dir, "sshd.pid"), u.Username), 0o600)
		if out, err := exec.Command(sshd, "-t", "-f", config).CombinedOutput(); err != nil {
			t.Fatalf("sshd -t: %v\n%s", err, out)
		}
		fields := strings.Fields(string(hostPub))
		write("known_hosts", fmt.Sprintf("[127.0.0.1]:%d %s %s\n", port, fields[0], fields[1]), 0o600)
		clientConfig := write("ssh_config", fmt.Sprintf(`Host 127.0.0.1
	IdentityFile %s
	IdentitiesOnly yes
	UserKnownHostsFile %s
	StrictHostKeyChecking yes
	BatchMode yes
	ConnectTimeout 5
	SetEnv DOCKER_HOST=%s
	LogLevel ERROR
`, filepath.Join(dir, "client"), filepath.Join(dir, "known_hosts"), dockerHost), 0o600)
		write("bin/ssh", fmt.Sprintf("#!/bin/sh\nexec %s -F %s \"$@\"\n", real, clientConfig), 0o755)

		// Its own process group, so that the end of the test stops the
		// per-connection sshd processes and their dial-stdio too.
		cmd := exec.Command(sshd, "-D", "-f", config, "-E", log)
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		if err := cmd.Start(); err != nil {
			t.Fatalf("starting sshd: %v", err)
		}
		exited := make(chan struct{})
		go func() { _ = cmd.Wait(); close(exited) }()
		stop := func() {
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-exited
		}
		s := &SSHDaemon{Host: fmt.Sprintf("ssh://%s@127.0.0.1:%d", u.Username, port), PathDir: bin, Log: log}
		if lastErr = s.waitReady(port, u.Username, exited); lastErr == "" {
			t.Cleanup(stop)
			return s
		}
		stop()
	}
	logged, _ := os.ReadFile(log)
	t.Fatalf("sshd does not let the test log in: %s\nsshd log:\n%s", lastErr, logged)
	return nil
}

// waitReady waits until a login on port runs a command; it returns why
// not ("" when ready), at once if sshd exited.
func (s *SSHDaemon) waitReady(port int, user string, exited <-chan struct{}) string {
	deadline := time.Now().Add(10 * time.Second)
	for {
		out, err := exec.Command(filepath.Join(s.PathDir, "ssh"), "-p", fmt.Sprint(port), "-l", user, "127.0.0.1", "true").CombinedOutput()
		if err == nil {
			return ""
		}
		select {
		case <-exited:
			return fmt.Sprintf("sshd on port %d exited: %s", port, bytes.TrimSpace(out))
		default:
		}
		if time.Now().After(deadline) {
			return fmt.Sprintf("port %d: %v: %s", port, err, bytes.TrimSpace(out))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Logins are how many logins sshd has accepted so far (the readiness
// check's among them).
func (s *SSHDaemon) Logins() int {
	b, _ := os.ReadFile(s.Log)
	return bytes.Count(b, []byte("Accepted publickey for "))
}

// freePort is a loopback TCP port nothing listens on just now.
func freePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}
