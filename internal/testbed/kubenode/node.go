// Package kubenode starts a real single-node Kubernetes cluster on loopback
// for kanikorun's cluster tests: etcd, kube-apiserver,
// kube-controller-manager, kube-scheduler, and a kubelet with a containerd
// of its own, with the images the tests need imported into the node.
// ../shared/kube/NODE.md (in the workspace) has the settings and why.
//
// The Kubernetes binaries come from the separate module in tools/, built
// by tools/build.sh into the user cache directory (BinDir). The cluster
// uses machine-wide resources (the kubelet's ports, the node name in
// /etc/hosts, three kernel settings the kubelet changes, which Start
// restores), so there is one per machine: keep the tests that use it in
// one package.
package kubenode

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
)

// Version is the Kubernetes release the node runs.
const Version = "v1.34.4"

// Ports and names of the node. They avoid a cluster someone runs on the
// usual ports (6443, 2379, 10250).
const (
	EtcdPort      = 23790
	etcdPeerPort  = 23800
	APIServerPort = 16443
	KubeletPort   = 20250
	kubeletHealth = 20248
	// NodeName is the node's name; /etc/hosts maps it to 127.0.0.1, since
	// the apiserver reaches the kubelet by it.
	NodeName = "kanikorun-node"
	// PauseImage is the sandbox image Start builds and imports.
	PauseImage = "kanikorun.local/pause:1"
	bridgeName = "knkr0"
	podSubnet  = "10.88.77.0/24"
	hostsTag   = "# kanikorun test node"
)

// ErrUnavailable marks a machine that cannot run the node (missing
// binaries, not root); tests skip on it unless CI is set.
var ErrUnavailable = errors.New("the test cluster cannot run here")

// Image is one image to import into the node's containerd.
type Image struct {
	// Ref is the name pods use.
	Ref string
	// Image is its content.
	Image v1.Image
}

// Node is a running cluster.
type Node struct {
	// Dir holds all the node's state, certificates and logs.
	Dir string
	// Server is the apiserver's URL.
	Server string
	// Kubeconfig is a kubeconfig file for the admin user (system:masters).
	Kubeconfig string
	// NoRightsKubeconfig is a kubeconfig file for a user with no RBAC
	// rights at all.
	NoRightsKubeconfig string
	// Client is an admin clientset.
	Client kubernetes.Interface

	procs     []*process
	sysctls   map[string]string
	addedHost bool
}

type process struct {
	name string
	cmd  *exec.Cmd
	done chan struct{}
}

// BinDir is where tools/build.sh puts the Kubernetes binaries:
// os.UserCacheDir()/kanikorun/kube-VERSION.
func BinDir() (string, error) {
	cache, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("%w: no user cache directory: %w", ErrUnavailable, err)
	}
	return filepath.Join(cache, "kanikorun", "kube-"+Version), nil
}

var binaries = []string{"kube-apiserver", "kube-controller-manager", "kube-scheduler", "kubelet", "kubectl"}

// Check says whether this machine can run the node, without starting
// anything.
func Check() error {
	if runtime.GOOS != "linux" || os.Geteuid() != 0 {
		return fmt.Errorf("%w: the kubelet needs Linux and root", ErrUnavailable)
	}
	dir, err := BinDir()
	if err != nil {
		return err
	}
	for _, b := range binaries {
		if _, err := os.Stat(filepath.Join(dir, b)); err != nil {
			return fmt.Errorf("%w: %s is missing from %s; run internal/testbed/kubenode/tools/build.sh (about 9 min once)", ErrUnavailable, b, dir)
		}
	}
	for _, b := range []string{"etcd", "containerd", "ctr"} {
		if _, err := exec.LookPath(b); err != nil {
			return fmt.Errorf("%w: %s is not on PATH; apt-get install etcd-server containerd", ErrUnavailable, b)
		}
	}
	if _, err := os.Stat("/usr/lib/cni/bridge"); err != nil {
		return fmt.Errorf("%w: /usr/lib/cni/bridge is missing; apt-get install containernetworking-plugins", ErrUnavailable)
	}
	return nil
}

// Tokens of the two users the apiserver knows.
const (
	adminToken    = "kanikorun-admin-token"
	noRightsToken = "kanikorun-norights-token"
)

// Start starts the cluster and imports the images; on error everything
// started is stopped again.
func Start(ctx context.Context, images []Image) (n *Node, err error) {
	if err := Check(); err != nil {
		return nil, err
	}
	reapStale()
	for _, p := range []int{EtcdPort, etcdPeerPort, APIServerPort, KubeletPort, kubeletHealth} {
		l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", p))
		if err != nil {
			return nil, fmt.Errorf("port %d is taken: another test cluster (another checkout's tests?) runs on this machine; wait for it or stop it: %w", p, err)
		}
		l.Close()
	}
	dir, err := os.MkdirTemp("", stateDirPrefix)
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(dir, "owner"), []byte(fmt.Sprint(os.Getpid())), 0o644); err != nil {
		return nil, err
	}
	n = &Node{Dir: dir, Server: fmt.Sprintf("https://127.0.0.1:%d", APIServerPort)}
	defer func() {
		if err != nil {
			n.Stop()
			err = fmt.Errorf("%w (logs were in %s)", err, dir)
		}
	}()
	bin, _ := BinDir()
	p, err := newPKI(dir)
	if err != nil {
		return n, err
	}
	for _, c := range []struct {
		name, cn string
		orgs     []string
		hosts    []string
	}{
		{"apiserver", "kube-apiserver", nil, []string{"127.0.0.1", "localhost", "kubernetes", "kubernetes.default.svc", "10.96.0.1"}},
		{"kubelet", NodeName, nil, []string{NodeName, "127.0.0.1", "localhost"}},
		{"kubelet-client", "kube-apiserver-kubelet-client", []string{"system:masters"}, nil},
	} {
		if err := p.issue(c.name, c.cn, c.orgs, c.hosts); err != nil {
			return n, err
		}
	}
	if err := p.serviceAccountKey(); err != nil {
		return n, err
	}
	tokens := adminToken + ",admin,admin-uid,system:masters\n" + noRightsToken + ",nobody,nobody-uid\n"
	if err := os.WriteFile(p.path("tokens.csv"), []byte(tokens), 0o600); err != nil {
		return n, err
	}
	n.Kubeconfig = filepath.Join(dir, "admin.kubeconfig")
	n.NoRightsKubeconfig = filepath.Join(dir, "nobody.kubeconfig")
	for path, tok := range map[string]string{n.Kubeconfig: adminToken, n.NoRightsKubeconfig: noRightsToken} {
		if err := os.WriteFile(path, []byte(kubeconfig(n.Server, p.path("ca.crt"), tok)), 0o600); err != nil {
			return n, err
		}
	}

	if err := n.start("etcd", "etcd", "--name=kanikorun", "--data-dir="+filepath.Join(dir, "etcd"),
		fmt.Sprintf("--listen-client-urls=http://127.0.0.1:%d", EtcdPort),
		fmt.Sprintf("--advertise-client-urls=http://127.0.0.1:%d", EtcdPort),
		fmt.Sprintf("--listen-peer-urls=http://127.0.0.1:%d", etcdPeerPort),
		fmt.Sprintf("--initial-advertise-peer-urls=http://127.0.0.1:%d", etcdPeerPort),
		fmt.Sprintf("--initial-cluster=kanikorun=http://127.0.0.1:%d", etcdPeerPort),
		"--unsafe-no-fsync"); err != nil {
		return n, err
	}
	if err := n.start("kube-apiserver", filepath.Join(bin, "kube-apiserver"),
		fmt.Sprintf("--etcd-servers=http://127.0.0.1:%d", EtcdPort),
		"--bind-address=127.0.0.1", fmt.Sprintf("--secure-port=%d", APIServerPort),
		"--cert-dir="+filepath.Join(dir, "apiserver-certs"),
		"--tls-cert-file="+p.path("apiserver.crt"), "--tls-private-key-file="+p.path("apiserver.key"),
		"--service-cluster-ip-range=10.96.0.0/24",
		"--service-account-issuer=https://kubernetes.default.svc",
		"--service-account-key-file="+p.path("sa.pub"),
		"--service-account-signing-key-file="+p.path("sa.key"),
		"--token-auth-file="+p.path("tokens.csv"),
		"--authorization-mode=RBAC",
		"--kubelet-client-certificate="+p.path("kubelet-client.crt"),
		"--kubelet-client-key="+p.path("kubelet-client.key"),
		"--kubelet-certificate-authority="+p.path("ca.crt"),
		"--kubelet-preferred-address-types=Hostname",
		"--profiling=false"); err != nil {
		return n, err
	}
	cfg, err := clientcmd.BuildConfigFromFlags("", n.Kubeconfig)
	if err != nil {
		return n, err
	}
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return n, err
	}
	n.Client = cs
	if err := n.until(ctx, 60*time.Second, "the apiserver to be ready", func() (bool, error) {
		body, err := cs.Discovery().RESTClient().Get().AbsPath("/readyz").DoRaw(ctx)
		return err == nil && string(body) == "ok", nil
	}); err != nil {
		return n, err
	}
	if err := n.start("kube-controller-manager", filepath.Join(bin, "kube-controller-manager"),
		"--kubeconfig="+n.Kubeconfig,
		"--controllers=job-controller,garbage-collector-controller,serviceaccount-controller,serviceaccount-token-controller,persistentvolume-binder-controller,root-ca-certificate-publisher-controller,node-lifecycle-controller",
		"--root-ca-file="+p.path("ca.crt"),
		"--service-account-private-key-file="+p.path("sa.key"),
		"--leader-elect=false", "--bind-address=127.0.0.1", "--secure-port=0"); err != nil {
		return n, err
	}
	if err := n.start("kube-scheduler", filepath.Join(bin, "kube-scheduler"),
		"--kubeconfig="+n.Kubeconfig, "--authentication-kubeconfig="+n.Kubeconfig,
		"--authorization-kubeconfig="+n.Kubeconfig,
		"--bind-address=127.0.0.1", "--secure-port=0", "--leader-elect=false"); err != nil {
		return n, err
	}

	if err := n.startContainerd(ctx); err != nil {
		return n, err
	}
	if err := n.importImages(ctx, images); err != nil {
		return n, err
	}
	if err := n.addHostsLine(); err != nil {
		return n, err
	}
	n.sysctls = readSysctls()
	var saved strings.Builder
	for k, v := range n.sysctls {
		fmt.Fprintf(&saved, "%s %s\n", k, v)
	}
	_ = os.WriteFile(filepath.Join(dir, "sysctls"), []byte(saved.String()), 0o644)
	if err := n.startKubelet(p); err != nil {
		return n, err
	}
	if err := n.until(ctx, 90*time.Second, "the node to be Ready and schedulable", func() (bool, error) {
		node, err := cs.CoreV1().Nodes().Get(ctx, NodeName, metav1.GetOptions{})
		if err != nil {
			return false, nil
		}
		for _, t := range node.Spec.Taints {
			if t.Key == corev1.TaintNodeNotReady {
				return false, nil
			}
		}
		for _, c := range node.Status.Conditions {
			if c.Type == corev1.NodeReady {
				return c.Status == corev1.ConditionTrue, nil
			}
		}
		return false, nil
	}); err != nil {
		return n, err
	}
	// The kubelet set them at start only.
	writeSysctls(n.sysctls)
	if err := n.until(ctx, 30*time.Second, "the default service account", func() (bool, error) {
		_, err := cs.CoreV1().ServiceAccounts("default").Get(ctx, "default", metav1.GetOptions{})
		return err == nil, nil
	}); err != nil {
		return n, err
	}
	return n, nil
}

func kubeconfig(server, ca, token string) string {
	return fmt.Sprintf(`apiVersion: v1
kind: Config
clusters:
- name: kanikorun-test
  cluster:
    server: %s
    certificate-authority: %s
users:
- name: user
  user:
    token: %s
contexts:
- name: kanikorun-test
  context:
    cluster: kanikorun-test
    user: user
    namespace: default
current-context: kanikorun-test
`, server, ca, token)
}

// start runs one of the node's processes, its output in DIR/NAME.log.
func (n *Node) start(name, bin string, args ...string) error {
	logf, err := os.Create(filepath.Join(n.Dir, name+".log"))
	if err != nil {
		return err
	}
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = logf, logf
	// Its own process group, so a Ctrl-C of go test reaches it only
	// through Stop.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		logf.Close()
		return fmt.Errorf("starting %s: %w", name, err)
	}
	p := &process{name: name, cmd: cmd, done: make(chan struct{})}
	n.recordPID(name, cmd.Process.Pid)
	go func() { _ = cmd.Wait(); logf.Close(); close(p.done) }()
	n.procs = append(n.procs, p)
	return nil
}

func (n *Node) until(ctx context.Context, limit time.Duration, what string, ok func() (bool, error)) error {
	deadline := time.Now().Add(limit)
	for {
		done, err := ok()
		if err != nil {
			return err
		}
		if done {
			return nil
		}
		for _, p := range n.procs {
			select {
			case <-p.done:
				return fmt.Errorf("%s exited while waiting for %s; see %s", p.name, what, filepath.Join(n.Dir, p.name+".log"))
			default:
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("timed out after %s waiting for %s", limit, what)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func (n *Node) socket() string { return filepath.Join(n.Dir, "containerd", "containerd.sock") }

func (n *Node) startContainerd(ctx context.Context) error {
	cdir := filepath.Join(n.Dir, "containerd")
	cni := filepath.Join(n.Dir, "cni")
	for _, d := range []string{cdir, cni} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return err
		}
	}
	conf := fmt.Sprintf(`version = 2
root = %[1]q
state = %[2]q
[grpc]
  address = %[3]q
[ttrpc]
  address = %[4]q
[debug]
  address = ""
[metrics]
  address = ""
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = %[5]q
  disable_apparmor = true
  netns_mounts_under_state_dir = true
  # The sandbox's oom_score_adj of -998 needs CAP_SYS_RESOURCE, which
  # root lacks on some machines (runc: "failed to update
  # /proc/self/oom_score_adj: Permission denied"); clamp to ours.
  restrict_oom_score_adj = true
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
        Root = %[6]q
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = %[7]q
`, filepath.Join(cdir, "root"), filepath.Join(cdir, "state"), n.socket(), n.socket()+".ttrpc",
		PauseImage, filepath.Join(cdir, "runc"), cni)
	if err := os.WriteFile(filepath.Join(cdir, "config.toml"), []byte(conf), 0o644); err != nil {
		return err
	}
	conflist := fmt.Sprintf(`{"cniVersion":"0.4.0","name":"kanikorun","plugins":[
{"type":"bridge","bridge":%q,"isGateway":true,"ipMasq":true,"hairpinMode":true,
 "ipam":{"type":"host-local","ranges":[[{"subnet":%q}]],"routes":[{"dst":"0.0.0.0/0"}],"dataDir":%q}},
{"type":"portmap","capabilities":{"portMappings":true}}]}`, bridgeName, podSubnet, filepath.Join(n.Dir, "cni-ipam"))
	if err := os.WriteFile(filepath.Join(cni, "10-kanikorun.conflist"), []byte(conflist), 0o644); err != nil {
		return err
	}
	if err := n.start("containerd", "containerd", "--config", filepath.Join(cdir, "config.toml")); err != nil {
		return err
	}
	return n.until(ctx, 30*time.Second, "containerd", func() (bool, error) {
		return exec.CommandContext(ctx, "ctr", "-a", n.socket(), "version").Run() == nil, nil
	})
}

// importImages writes the pause image and the given ones into one tarball
// and imports it into the node's containerd.
func (n *Node) importImages(ctx context.Context, images []Image) error {
	pause, err := pauseImage(ctx)
	if err != nil {
		return err
	}
	refs := map[name.Reference]v1.Image{}
	for _, im := range append([]Image{{Ref: PauseImage, Image: pause}}, images...) {
		tag, err := name.NewTag(im.Ref)
		if err != nil {
			return err
		}
		refs[tag] = im.Image
	}
	path := filepath.Join(n.Dir, "images.tar")
	if err := tarball.MultiRefWriteToFile(path, refs); err != nil {
		return fmt.Errorf("writing the node's images: %w", err)
	}
	defer os.Remove(path)
	out, err := exec.CommandContext(ctx, "ctr", "-a", n.socket(), "-n", "k8s.io", "images", "import", path).CombinedOutput()
	if err != nil {
		return fmt.Errorf("importing images into the node: %w: %s", err, out)
	}
	return nil
}

// pauseImage builds ./pause into a one-layer image.
func pauseImage(ctx context.Context) (v1.Image, error) {
	_, file, _, _ := runtime.Caller(0)
	tmp, err := os.MkdirTemp("", "kanikorun-pause-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	bin := filepath.Join(tmp, "pause")
	cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-ldflags=-s -w", "-o", bin, ".")
	cmd.Dir = filepath.Join(filepath.Dir(file), "pause")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux")
	if out, err := cmd.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("building the pause image: %w: %s", err, out)
	}
	data, err := os.ReadFile(bin)
	if err != nil {
		return nil, err
	}
	l, err := singleFileLayer("pause", data)
	if err != nil {
		return nil, err
	}
	img, err := mutate.AppendLayers(empty.Image, l)
	if err != nil {
		return nil, err
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture = "linux", runtime.GOARCH
	cf.Config.Entrypoint = []string{"/pause"}
	return mutate.ConfigFile(img, cf)
}

func (n *Node) startKubelet(p *pki) error {
	kdir := filepath.Join(n.Dir, "kubelet")
	for _, d := range []string{kdir, filepath.Join(n.Dir, "pod-logs"), filepath.Join(n.Dir, "volume-plugins")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return err
		}
	}
	conf := fmt.Sprintf(`apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
containerRuntimeEndpoint: unix://%s
cgroupDriver: cgroupfs
failCgroupV1: false
failSwapOn: false
address: 127.0.0.1
port: %d
healthzBindAddress: 127.0.0.1
healthzPort: %d
readOnlyPort: 0
tlsCertFile: %s
tlsPrivateKeyFile: %s
authentication:
  anonymous:
    enabled: false
  webhook:
    enabled: true
  x509:
    clientCAFile: %s
authorization:
  mode: Webhook
podLogsDir: %s
volumePluginDir: %s
evictionHard:
  memory.available: "1Mi"
  nodefs.available: "1%%"
  nodefs.inodesFree: "1%%"
  imagefs.available: "1%%"
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
serializeImagePulls: false
resolvConf: /etc/resolv.conf
`, n.socket(), KubeletPort, kubeletHealth, p.path("kubelet.crt"), p.path("kubelet.key"), p.path("ca.crt"),
		filepath.Join(n.Dir, "pod-logs"), filepath.Join(n.Dir, "volume-plugins"))
	cfgPath := filepath.Join(n.Dir, "kubelet.yaml")
	if err := os.WriteFile(cfgPath, []byte(conf), 0o644); err != nil {
		return err
	}
	bin, _ := BinDir()
	return n.start("kubelet", filepath.Join(bin, "kubelet"),
		"--config="+cfgPath, "--kubeconfig="+n.Kubeconfig, "--root-dir="+kdir,
		"--cert-dir="+filepath.Join(n.Dir, "kubelet-certs"), "--hostname-override="+NodeName)
}

var sysctlKeys = []string{"vm/overcommit_memory", "kernel/panic", "kernel/panic_on_oops"}

func readSysctls() map[string]string {
	m := map[string]string{}
	for _, k := range sysctlKeys {
		if b, err := os.ReadFile("/proc/sys/" + k); err == nil {
			m[k] = strings.TrimSpace(string(b))
		}
	}
	return m
}

func writeSysctls(m map[string]string) {
	for k, v := range m {
		_ = os.WriteFile("/proc/sys/"+k, []byte(v+"\n"), 0o644)
	}
}

func (n *Node) addHostsLine() error {
	b, err := os.ReadFile("/etc/hosts")
	if err != nil {
		return err
	}
	for _, l := range strings.Split(string(b), "\n") {
		f := strings.Fields(l)
		if len(f) >= 2 && f[0] == "127.0.0.1" && f[1] == NodeName {
			return nil
		}
	}
	f, err := os.OpenFile("/etc/hosts", os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		return fmt.Errorf("adding %s to /etc/hosts: %w", NodeName, err)
	}
	defer f.Close()
	sep := ""
	if len(b) > 0 && b[len(b)-1] != '\n' {
		sep = "\n"
	}
	if _, err := f.WriteString(sep + "127.0.0.1 " + NodeName + " " + hostsTag + "\n"); err != nil {
		return err
	}
	n.addedHost = true
	return nil
}

func (n *Node) removeHostsLine() {
	if !n.addedHost {
		return
	}
	b, err := os.ReadFile("/etc/hosts")
	if err != nil {
		return
	}
	var keep []string
	for _, l := range strings.SplitAfter(string(b), "\n") {
		if strings.TrimSpace(l) == "127.0.0.1 "+NodeName+" "+hostsTag {
			continue
		}
		keep = append(keep, l)
	}
	// In place: /etc/hosts may be a bind mount that a rename would break.
	_ = os.WriteFile("/etc/hosts", []byte(strings.Join(keep, "")), 0o644)
}

// Stop deletes every Job and Pod (their containers would outlive the
// kubelet in their shims), stops the processes Start started, by PID, in
// reverse order, unmounts what the kubelet mounted, undoes the machine
// settings and removes Dir.
func (n *Node) Stop() {
	if n.Client != nil && n.running("kubelet") {
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		n.drain(ctx)
		cancel()
	}
	for i := len(n.procs) - 1; i >= 0; i-- {
		p := n.procs[i]
		if p.name == "containerd" {
			n.killShims()
		}
		stop(p)
	}
	n.unmountAll()
	_ = exec.Command("ip", "link", "del", bridgeName).Run()
	if n.sysctls != nil {
		writeSysctls(n.sysctls)
	}
	n.removeHostsLine()
	if os.Getenv("KANIKORUN_TEST_KEEP_NODE_DIR") == "" {
		_ = os.RemoveAll(n.Dir)
	}
}

func (n *Node) running(name string) bool {
	for _, p := range n.procs {
		if p.name == name {
			select {
			case <-p.done:
				return false
			default:
				return true
			}
		}
	}
	return false
}

func (n *Node) drain(ctx context.Context) {
	bg := metav1.DeletePropagationBackground
	nss, err := n.Client.CoreV1().Namespaces().List(ctx, metav1.ListOptions{})
	if err != nil {
		return
	}
	for _, ns := range nss.Items {
		_ = n.Client.BatchV1().Jobs(ns.Name).DeleteCollection(ctx, metav1.DeleteOptions{PropagationPolicy: &bg}, metav1.ListOptions{})
		_ = n.Client.CoreV1().Pods(ns.Name).DeleteCollection(ctx, metav1.DeleteOptions{GracePeriodSeconds: new(int64)}, metav1.ListOptions{})
	}
	_ = n.until(ctx, 50*time.Second, "the pods to go", func() (bool, error) {
		pods, err := n.Client.CoreV1().Pods("").List(ctx, metav1.ListOptions{})
		return err != nil || len(pods.Items) == 0, nil
	})
	// Give the kubelet a moment to tear the sandboxes down.
	_ = n.until(ctx, 10*time.Second, "the sandboxes to go", func() (bool, error) {
		out, err := exec.CommandContext(ctx, "ctr", "-a", n.socket(), "-n", "k8s.io", "tasks", "ls", "-q").Output()
		return err != nil || strings.TrimSpace(string(out)) == "", nil
	})
}

// killShims stops the containerd shims this node's containerd started:
// they name its socket on their command line.
func (n *Node) killShims() {
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		var pid int
		if _, err := fmt.Sscanf(e.Name(), "%d", &pid); err != nil {
			continue
		}
		cmdline, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil {
			continue
		}
		args := strings.Split(string(cmdline), "\x00")
		if len(args) > 0 && strings.Contains(args[0], "containerd-shim") && strings.Contains(string(cmdline), n.socket()) {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
	}
}

func stop(p *process) {
	select {
	case <-p.done:
		return
	default:
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(10 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.done
	}
}

// unmountAll unmounts everything mounted under Dir, deepest first.
func (n *Node) unmountAll() {
	b, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return
	}
	var mounts []string
	for _, l := range strings.Split(string(b), "\n") {
		f := strings.Fields(l)
		if len(f) > 4 && strings.HasPrefix(f[4], n.Dir+"/") {
			mounts = append(mounts, f[4])
		}
	}
	for i := len(mounts) - 1; i >= 0; i-- {
		_ = syscall.Unmount(mounts[i], syscall.MNT_DETACH)
	}
}

// DeleteJobs removes every Job and its pods in a namespace, for tests that
// want an empty queue.
func (n *Node) DeleteJobs(ctx context.Context, ns string) error {
	fg := metav1.DeletePropagationForeground
	return n.Client.BatchV1().Jobs(ns).DeleteCollection(ctx, metav1.DeleteOptions{PropagationPolicy: &fg}, metav1.ListOptions{})
}
