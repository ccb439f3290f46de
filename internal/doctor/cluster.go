package doctor

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/kanikorun/kanikorun/internal/cluster"
)

// submitRight is one thing kanikorun submit (and wait, logs, list,
// cancel) asks of the cluster: the README's minimal Role, rule by rule.
type submitRight struct {
	group, resource, subresource, verb string
}

func (r submitRight) String() string {
	res := r.resource
	if r.subresource != "" {
		res += "/" + r.subresource
	}
	if r.group != "" {
		res += "." + r.group
	}
	return r.verb + " " + res
}

// submitRights are the rights checked, in the README Role's order.
var submitRights = []submitRight{
	{"batch", "jobs", "", "create"},
	{"batch", "jobs", "", "get"},
	{"batch", "jobs", "", "list"},
	{"batch", "jobs", "", "watch"},
	{"batch", "jobs", "", "patch"},
	{"batch", "jobs", "", "delete"},
	{"", "secrets", "", "create"},
	{"", "configmaps", "", "create"},
	{"", "configmaps", "", "get"},
	{"", "configmaps", "", "update"},
	{"", "pods", "", "get"},
	{"", "pods", "", "list"},
	{"", "pods", "", "watch"},
	{"", "pods", "log", "get"},
	{"", "pods", "attach", "create"},
	{"", "events", "", "list"},
	{"", "events", "", "watch"},
}

// clusterChecks reach the kubeconfig's cluster, loaded as submit loads it
// (cluster.Connect: the loading rules, --kubeconfig, --kube-context), and
// ask it with SelfSubjectAccessReviews whether the user may do what
// submit needs in the namespace. Two lines: "cluster" and "cluster rights".
func clusterChecks(ctx context.Context, conn cluster.Conn, timeout time.Duration, add func(Check)) {
	cl, err := cluster.Connect(conn)
	if err != nil {
		add(Check{Name: "cluster", Status: Failed, Detail: oneLine(err.Error()), Hint: "kubectl config view shows what kanikorun reads; fix --kubeconfig, --kube-context or KUBECONFIG"})
		return
	}
	host := cl.Config.Host
	vctx, cancel := context.WithTimeout(ctx, timeout)
	v, err := cl.ServerVersion(vctx)
	cancel()
	if err != nil {
		add(Check{Name: "cluster", Status: Failed, Detail: fmt.Sprintf("API server at %s: %s", host, oneLine(err.Error())), Hint: "check that the cluster runs and that --kube-context names it (kubectl version)"})
		return
	}
	add(Check{Name: "cluster", Status: OK, Detail: fmt.Sprintf("reachable at %s, Kubernetes %s", host, v.GitVersion)})

	var missing []string
	for _, r := range submitRights {
		rctx, cancel := context.WithTimeout(ctx, timeout)
		allowed, err := cl.Allowed(rctx, r.group, r.resource, r.subresource, r.verb)
		cancel()
		if err != nil {
			hint := "kubectl auth can-i --list -n " + cl.Namespace + " shows what you may do"
			if errors.Is(rctx.Err(), context.DeadlineExceeded) {
				hint = "the API server is slow to answer; try again"
			}
			add(Check{Name: "cluster rights", Status: Failed, Detail: fmt.Sprintf("cannot ask the cluster what you may do (SelfSubjectAccessReview): %s", oneLine(err.Error())), Hint: hint})
			return
		}
		if !allowed {
			missing = append(missing, r.String())
		}
	}
	if len(missing) > 0 {
		add(Check{Name: "cluster rights", Status: Failed,
			Detail: fmt.Sprintf("in namespace %s submit may not: %s", cl.Namespace, strings.Join(missing, ", ")),
			Hint:   "ask your cluster admin for the Role in kanikorun's README (Jobs, Secrets, ConfigMaps, Pods, pods/log, pods/attach, Events) in namespace " + cl.Namespace})
		return
	}
	add(Check{Name: "cluster rights", Status: OK, Detail: fmt.Sprintf("in namespace %s: everything submit, wait, logs, list and cancel need (%d rights)", cl.Namespace, len(submitRights))})
}
