package kube

import (
	"errors"
	"strings"
	"testing"

	"github.com/kanikorun/kanikorun/internal/spec"
)

func TestRenderOverrides(t *testing.T) {
	t.Parallel()
	b := &spec.Build{Context: "/src/app", Dockerfile: "/src/app/Dockerfile", Destinations: []string{"r.example/a:1"}, ExecutorImage: spec.DefaultExecutorImage}
	for _, tc := range []struct {
		name, patch, err string
		check            func(t *testing.T, r *Rendered)
	}{
		{name: "node selector, tolerations, pull secrets, hostNetwork, annotations", patch: `{"metadata":{"annotations":{"team":"core"}},"spec":{"template":{"spec":{"hostNetwork":true,"nodeSelector":{"pool":"builds"},"tolerations":[{"key":"builds","operator":"Exists"}],"imagePullSecrets":[{"name":"pull"}]}}}}`,
			check: func(t *testing.T, r *Rendered) {
				ps := r.Job.Spec.Template.Spec
				if !ps.HostNetwork || ps.NodeSelector["pool"] != "builds" || len(ps.Tolerations) != 1 || ps.ImagePullSecrets[0].Name != "pull" || r.Job.Annotations["team"] != "core" {
					t.Errorf("patch not applied: %+v", ps)
				}
				if len(ps.Containers) != 1 || len(ps.Containers[0].VolumeMounts) != 1 {
					t.Errorf("the patch lost the executor container's mounts: %+v", ps.Containers)
				}
			}},
		{name: "yaml", patch: "spec:\n  template:\n    spec:\n      hostNetwork: true\n", check: func(t *testing.T, r *Rendered) {
			if !r.Job.Spec.Template.Spec.HostNetwork {
				t.Error("YAML patch not applied")
			}
		}},
		{name: "a container's resources merge by name", patch: `{"spec":{"template":{"spec":{"containers":[{"name":"kaniko","resources":{"limits":{"cpu":"2"}}}]}}}}`, check: func(t *testing.T, r *Rendered) {
			c := r.Job.Spec.Template.Spec.Containers[0]
			if c.Resources.Limits.Cpu().String() != "2" || c.Image != spec.DefaultExecutorImage {
				t.Errorf("container = %+v", c)
			}
		}},
		{name: "unknown field", patch: `{"spec":{"template":{"spec":{"hostNetwrk":true}}}}`, err: `unknown field "hostNetwrk"`},
		{name: "args", patch: `{"spec":{"template":{"spec":{"containers":[{"name":"kaniko","args":["--no-push"]}]}}}}`, err: "may not change the executor container"},
		{name: "image", patch: `{"spec":{"template":{"spec":{"containers":[{"name":"kaniko","image":"evil"}]}}}}`, err: "may not change the executor container"},
		{name: "not an object", patch: `[1]`, err: "must be a JSON object"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r, err := Render(b, JobOptions{Overrides: []byte(tc.patch)}, nil)
			if tc.err != "" {
				if err == nil || !errors.Is(err, ErrBadOverride) || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err = %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tc.check(t, r)
		})
	}
}

func TestRenderUploadDeliveries(t *testing.T) {
	t.Parallel()
	b := &spec.Build{Context: "/src/app", Dockerfile: "/src/app/sub/Dockerfile", Destinations: []string{"r.example/a:1"}, ExecutorImage: spec.DefaultExecutorImage}
	r, err := Render(b, JobOptions{Delivery: DeliverConfigMap, UploadConfigMap: "kanikorun-context-abc"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	c := r.Job.Spec.Template.Spec.Containers[0]
	if c.Args[0] != "--context=tar:///kaniko/upload/context.tar.gz" || c.Args[1] != "--dockerfile=sub/Dockerfile" {
		t.Errorf("args = %q", c.Args)
	}
	v := r.Job.Spec.Template.Spec.Volumes
	if len(v) != 1 || v[0].ConfigMap == nil || v[0].ConfigMap.Name != "kanikorun-context-abc" || c.VolumeMounts[0].MountPath != "/kaniko/upload" || !c.VolumeMounts[0].ReadOnly {
		t.Errorf("volumes %+v mounts %+v", v, c.VolumeMounts)
	}
	r, err = Render(b, JobOptions{Delivery: DeliverStdin}, nil)
	if err != nil {
		t.Fatal(err)
	}
	c = r.Job.Spec.Template.Spec.Containers[0]
	if c.Args[0] != "--context=tar://stdin" || !c.Stdin || !c.StdinOnce || len(r.Job.Spec.Template.Spec.Volumes) != 0 {
		t.Errorf("stdin container %+v", c)
	}
	if _, err := Render(b, JobOptions{Delivery: DeliverConfigMap}, nil); err == nil {
		t.Error("a ConfigMap delivery without the ConfigMap's name rendered")
	}
}
