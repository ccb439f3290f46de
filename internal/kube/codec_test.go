package kube

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

func TestMain(m *testing.M) {
	// Nothing may build the scheme before a function asks for it: the
	// CLI's lint command starts without it.
	if schemeBuilt.Load() {
		fmt.Fprintln(os.Stderr, "the Kubernetes scheme was built during package initialisation")
		os.Exit(1)
	}
	os.Exit(m.Run())
}

func TestEncodeFormats(t *testing.T) {
	t.Parallel()
	job := &batchv1.Job{TypeMeta: metav1.TypeMeta{APIVersion: "batch/v1", Kind: "Job"}, ObjectMeta: metav1.ObjectMeta{Name: "j"}}
	sec := &corev1.Secret{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Secret"}, ObjectMeta: metav1.ObjectMeta{Name: "s"}}
	cases := []struct {
		name   string
		objs   []runtime.Object
		format string
		check  func(string) error
	}{
		{"yaml one", []runtime.Object{job}, FormatYAML, func(s string) error {
			if strings.Contains(s, "---") || !strings.HasPrefix(s, "apiVersion: batch/v1\n") {
				return fmt.Errorf("want one YAML document")
			}
			return nil
		}},
		{"yaml default", []runtime.Object{job}, "", func(s string) error {
			if !strings.HasPrefix(s, "apiVersion: batch/v1\n") {
				return fmt.Errorf("empty format is not YAML")
			}
			return nil
		}},
		{"yaml two", []runtime.Object{sec, job}, FormatYAML, func(s string) error {
			if strings.Count(s, "\n---\n") != 1 || strings.Index(s, "kind: Secret") > strings.Index(s, "kind: Job") {
				return fmt.Errorf("want Secret, ---, Job")
			}
			return nil
		}},
		{"json one", []runtime.Object{job}, FormatJSON, func(s string) error {
			if !strings.HasPrefix(s, "{\n    \"kind\": \"Job\"") || !strings.HasSuffix(s, "}\n") {
				return fmt.Errorf("want the Job object itself")
			}
			return nil
		}},
		{"json two", []runtime.Object{sec, job}, FormatJSON, func(s string) error {
			if !strings.HasPrefix(s, "{\n    \"kind\": \"List\",\n    \"apiVersion\": \"v1\"") {
				return fmt.Errorf("want a v1 List")
			}
			return nil
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var buf bytes.Buffer
			if err := Encode(&buf, tc.objs, tc.format); err != nil {
				t.Fatal(err)
			}
			if err := tc.check(buf.String()); err != nil {
				t.Errorf("%v:\n%s", err, buf.String())
			}
			objs, err := Decode(buf.Bytes())
			if err != nil || len(objs) != len(tc.objs) {
				t.Fatalf("Decode = %d objects, %v", len(objs), err)
			}
			for i := range objs {
				if got, want := objs[i].GetObjectKind().GroupVersionKind(), tc.objs[i].GetObjectKind().GroupVersionKind(); got != want {
					t.Errorf("object %d decodes as %v, want %v", i, got, want)
				}
			}
		})
	}
	if err := Encode(&bytes.Buffer{}, []runtime.Object{job}, "toml"); err == nil || !strings.Contains(err.Error(), `unknown output format "toml": use yaml or json`) {
		t.Errorf("Encode toml = %v", err)
	}
	if err := Encode(&bytes.Buffer{}, nil, FormatJSON); err == nil {
		t.Error("Encode of nothing as JSON succeeded")
	}
}

func TestDecodeStrict(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, in string
		kinds    []string
		say      string
	}{
		{name: "typed JobList items lose no kind", in: `{"apiVersion":"batch/v1","kind":"JobList","items":[{"metadata":{"name":"a"}},{"metadata":{"name":"b"}}]}`, kinds: []string{"Job", "Job"}},
		{name: "nested List", in: `{"apiVersion":"v1","kind":"List","items":[{"apiVersion":"v1","kind":"List","items":[{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"c"}}]}]}`, kinds: []string{"ConfigMap"}},
		{name: "unknown kind kept as metadata", in: "apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w}\nspec: {anything: goes}\n", kinds: []string{"Widget"}},
		{name: "unknown field in a Secret", in: "apiVersion: v1\nkind: Secret\nmetadata: {name: s}\ndatum: {}\n", say: `unknown field "datum"`},
		{name: "unknown field in a list item", in: `{"apiVersion":"v1","kind":"List","items":[{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p"},"spec":{"containers":[{"name":"k","image":"i","argz":[]}]}}]}`, say: `list item 0`},
		{name: "wrong type", in: "apiVersion: batch/v1\nkind: Job\nspec: {backoffLimit: three}\n", say: "document 1"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			objs, err := Decode([]byte(tc.in))
			if tc.say != "" {
				if !errors.Is(err, ErrBadManifest) || !strings.Contains(err.Error(), tc.say) {
					t.Fatalf("Decode error = %v; want ErrBadManifest saying %q", err, tc.say)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var kinds []string
			for _, o := range objs {
				kinds = append(kinds, o.GetObjectKind().GroupVersionKind().Kind)
			}
			if strings.Join(kinds, ",") != strings.Join(tc.kinds, ",") {
				t.Errorf("kinds = %v, want %v", kinds, tc.kinds)
			}
		})
	}
}

func BenchmarkDecodeJob(b *testing.B) {
	r, err := Render(baseBuild(), JobOptions{WithSecret: true}, fakeDockerConfig)
	if err != nil {
		b.Fatal(err)
	}
	var buf bytes.Buffer
	if err := Encode(&buf, r.Objects(), FormatYAML); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := Decode(buf.Bytes()); err != nil {
			b.Fatal(err)
		}
	}
}
