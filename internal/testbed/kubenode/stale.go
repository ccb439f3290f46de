package kubenode

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// stateDirPrefix names the node's state directory in the temp dir.
const stateDirPrefix = "kanikorun-kubenode-"

// recordPID notes a started process in DIR/pids, so that a node whose test
// binary died without Stop (a test timeout's panic) can be stopped by the
// next Start.
func (n *Node) recordPID(name string, pid int) {
	f, err := os.OpenFile(filepath.Join(n.Dir, "pids"), os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return
	}
	defer f.Close()
	fmt.Fprintf(f, "%d %s\n", pid, name)
}

// reapStale stops the nodes whose owning test process is gone: only the
// processes they recorded, by PID, and only while each PID still runs the
// program recorded for it.
func reapStale() {
	dirs, _ := filepath.Glob(filepath.Join(os.TempDir(), stateDirPrefix+"*"))
	for _, dir := range dirs {
		owner, err := os.ReadFile(filepath.Join(dir, "owner"))
		if err != nil {
			continue
		}
		if pid, err := strconv.Atoi(strings.TrimSpace(string(owner))); err == nil && alive(pid) {
			continue
		}
		data, _ := os.ReadFile(filepath.Join(dir, "pids"))
		n := &Node{Dir: dir}
		var pids []int
		var names []string
		for _, l := range strings.Split(strings.TrimSpace(string(data)), "\n") {
			var pid int
			var name string
			if _, err := fmt.Sscanf(l, "%d %s", &pid, &name); err == nil {
				pids, names = append(pids, pid), append(names, name)
			}
		}
		for i := len(pids) - 1; i >= 0; i-- {
			if !runs(pids[i], names[i]) {
				continue
			}
			if names[i] == "containerd" {
				n.killShims()
			}
			_ = syscall.Kill(pids[i], syscall.SIGTERM)
			for w := 0; w < 100 && runs(pids[i], names[i]); w++ {
				time.Sleep(100 * time.Millisecond)
			}
			if runs(pids[i], names[i]) {
				_ = syscall.Kill(pids[i], syscall.SIGKILL)
			}
		}
		n.unmountAll()
		if saved, err := os.ReadFile(filepath.Join(dir, "sysctls")); err == nil {
			m := map[string]string{}
			for _, l := range strings.Split(strings.TrimSpace(string(saved)), "\n") {
				if k, v, ok := strings.Cut(l, " "); ok {
					m[k] = v
				}
			}
			writeSysctls(m)
		}
		n.addedHost = true
		n.removeHostsLine()
		_ = os.RemoveAll(dir)
		fmt.Fprintf(os.Stderr, "kubenode: stopped a test node left behind in %s\n", dir)
	}
}

func alive(pid int) bool { return syscall.Kill(pid, 0) == nil }

// runs reports whether pid is a live process running the program name.
func runs(pid int, name string) bool {
	cmdline, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	if err != nil {
		return false
	}
	argv0 := strings.SplitN(string(cmdline), "\x00", 2)[0]
	return filepath.Base(argv0) == name
}
