package cluster

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// clientset is client-go's generated clientset; its scheme package
// registers every API group of Kubernetes at init.
const clientset = "k8s.io/client-go/kubernetes"

func isClientset(path string) bool {
	return path == clientset || strings.HasPrefix(path, clientset+"/")
}

// TestNoClientset keeps the clientset out of the binary: every kanikorun
// command, lint and build too, would pay its init again. Test code may
// use it; the binary talks to the cluster through api.go.
func TestNoClientset(t *testing.T) {
	t.Parallel()
	root := filepath.Join("..", "..")
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		t.Fatalf("module root not found: %v", err)
	}
	// Without build tags: the release's urfave_cli_no_docs only drops
	// packages.
	cmd := exec.Command("go", "list", "-deps", "-f", "{{.ImportPath}}{{range .Imports}} {{.}}{{end}}", "./cmd/kanikorun")
	cmd.Dir = root
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list -deps ./cmd/kanikorun: %v", err)
	}
	var deps, found []string
	for line := range strings.Lines(string(out)) {
		fields := strings.Fields(line)
		if len(fields) == 0 {
			continue
		}
		deps = append(deps, fields[0])
		for _, imp := range fields[1:] {
			if isClientset(imp) && !isClientset(fields[0]) {
				found = append(found, fields[0]+" imports "+imp)
			}
		}
	}
	if len(found) > 0 {
		t.Errorf("./cmd/kanikorun links %s:\n%s\nuse internal/cluster's own client (api.go) instead", clientset, strings.Join(found, "\n"))
	}
	if !slices.Contains(deps, "k8s.io/client-go/rest") {
		t.Errorf("k8s.io/client-go/rest is not among the %d deps of ./cmd/kanikorun: has the client moved, or is go list's output not what this test reads?", len(deps))
	}
}
