package main

import (
	"context"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kanikorun/kanikorun/internal/testbed"
	"github.com/kanikorun/kanikorun/internal/testbed/kubenode"
)

// The cluster tests run against a real single-node Kubernetes
// (internal/testbed/kubenode), started once for this package.

// clusterExecutor is the stand-in executor's name inside the node.
const clusterExecutor = "kanikorun.local/executor:standin"

// clusterRegistry is an anonymous registry on 127.0.0.1 for cluster
// builds (pods reach it with hostNetwork).
var clusterRegistry *testbed.Registry

func requireCluster(t *testing.T) *kubenode.Node {
	t.Helper()
	n := kubenode.Require(t, func(ctx context.Context) ([]kubenode.Image, error) {
		img, err := testbed.StandIn(ctx)
		if err != nil {
			return nil, err
		}
		if clusterRegistry, err = testbed.StartRegistry("", ""); err != nil {
			return nil, err
		}
		return []kubenode.Image{{Ref: clusterExecutor, Image: img}}, nil
	})
	t.Setenv("KUBECONFIG", n.Kubeconfig)
	return n
}

func TestClusterNodeRunsAPod(t *testing.T) {
	n := requireCluster(t)
	nodes, err := n.Client.CoreV1().Nodes().List(context.Background(), metav1ListOptions())
	if err != nil {
		t.Fatal(err)
	}
	if len(nodes.Items) != 1 || !strings.Contains(nodes.Items[0].Name, "kanikorun") {
		t.Fatalf("nodes = %v", nodes.Items)
	}
}

func metav1ListOptions() metav1.ListOptions { return metav1.ListOptions{} }
