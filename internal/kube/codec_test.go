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
			if kinds := kindsOf(objs); strings.Join(kinds, ",") != strings.Join(tc.kinds, ",") {
				t.Errorf("kinds = %v, want %v", kinds, tc.kinds)
			}
		})
	}
}

// apiReleaseSuffix is what the unknown-field notices put after "Kubernetes
// API": " v1.N" in a binary, nothing in a test binary (no build info).
func apiReleaseSuffix() string {
	if r := apiRelease(); r != "" {
		return " " + r
	}
	return ""
}

// TestDecodeLenient: input from a newer cluster decodes with its unknown
// fields named, one notice per object, while the known fields are all
// there; every other strictness violation is still an error, and Decode
// stays strict for the same input.
func TestDecodeLenient(t *testing.T) {
	t.Parallel()
	const newerJob = `apiVersion: batch/v1
kind: Job
metadata: {name: build-image}
spec:
  futureKnob: {enabled: true}
  backoffLimit: 2
  template:
    spec:
      restartPolicy: Never
      containers:
      - name: kaniko
        image: gcr.io/kaniko-project/executor:v1.24.0
        args: [--context=dir:///workspace/app, --no-push]
        futureField: x
`
	api := "(newer than kanikorun's Kubernetes API" + apiReleaseSuffix() + ", or misspelt)"
	cases := []struct {
		name    string
		in      string
		kinds   []string
		notices []string
		say     string // an error, with ErrBadManifest
	}{
		{name: "job from a newer cluster", in: newerJob, kinds: []string{"Job"},
			notices: []string{`unknown fields in Job "build-image": spec.futureKnob, spec.template.spec.containers[0].futureField ` + api}},
		{name: "generateName names the object", in: strings.Replace(newerJob, "{name: build-image}", "{generateName: build-}", 1), kinds: []string{"Job"},
			notices: []string{`unknown fields in Job "build-": spec.futureKnob, spec.template.spec.containers[0].futureField ` + api}},
		{name: "clean input has no notices", in: "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata: {k: v}\n", kinds: []string{"ConfigMap"}},
		{name: "one notice per document", in: newerJob + "---\napiVersion: v1\nkind: Secret\nmetadata: {name: s}\nimmutable: true\nfutureTop: 1\n",
			kinds: []string{"Job", "Secret"},
			notices: []string{
				`unknown fields in Job "build-image": spec.futureKnob, spec.template.spec.containers[0].futureField ` + api,
				`unknown fields in Secret "s": futureTop ` + api,
			}},
		{name: "v1 List item", in: `{"apiVersion":"v1","kind":"List","items":[{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p"},"spec":{"containers":[{"name":"k","image":"i","futureField":[]}]}}]}`,
			kinds: []string{"Pod"}, notices: []string{`unknown fields in Pod "p": spec.containers[0].futureField ` + api}},
		{name: "typed JobList", in: `{"apiVersion":"batch/v1","kind":"JobList","items":[{"metadata":{"name":"a"},"spec":{"futureKnob":1}}]}`,
			kinds: []string{"Job"}, notices: []string{`unknown fields in JobList: items[0].spec.futureKnob ` + api}},
		{name: "unknown kinds are not checked", in: "apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w}\nspec: {anything: goes}\n", kinds: []string{"Widget"}},
		{name: "duplicate YAML key", in: newerJob + "metadata: {name: again}\n", say: `key "metadata" already set`},
		{name: "duplicate JSON field", in: `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"c"},"data":{},"data":{}}`, say: `key "data" already set`},
		{name: "wrong type beside an unknown field", in: strings.Replace(newerJob, "backoffLimit: 2", "backoffLimit: two", 1), say: "document 1"},
		{name: "bad YAML", in: "kind: [\n", say: "document 1"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			objs, notices, err := DecodeLenient([]byte(tc.in))
			if tc.say != "" {
				if !errors.Is(err, ErrBadManifest) || !strings.Contains(err.Error(), tc.say) {
					t.Fatalf("DecodeLenient error = %v; want ErrBadManifest saying %q", err, tc.say)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if kinds := kindsOf(objs); strings.Join(kinds, ",") != strings.Join(tc.kinds, ",") {
				t.Errorf("kinds = %v, want %v", kinds, tc.kinds)
			}
			if strings.Join(notices, "\n") != strings.Join(tc.notices, "\n") {
				t.Errorf("notices:\n got %q\nwant %q", notices, tc.notices)
			}
			for _, n := range notices {
				if strings.Contains(n, "\n") {
					t.Errorf("notice is not one line: %q", n)
				}
			}
			_, strictErr := Decode([]byte(tc.in))
			if (strictErr != nil) != (len(tc.notices) > 0) {
				t.Errorf("strict Decode error = %v; want one exactly when there are unknown fields", strictErr)
			}
		})
	}

	// The known fields of the newer Job all arrive.
	objs, _, err := DecodeLenient([]byte(newerJob))
	if err != nil {
		t.Fatal(err)
	}
	job := objs[0].(*batchv1.Job)
	c := job.Spec.Template.Spec.Containers
	if job.Name != "build-image" || job.Spec.BackoffLimit == nil || *job.Spec.BackoffLimit != 2 || len(c) != 1 ||
		c[0].Image != "gcr.io/kaniko-project/executor:v1.24.0" || strings.Join(c[0].Args, " ") != "--context=dir:///workspace/app --no-push" ||
		job.Spec.Template.Spec.RestartPolicy != corev1.RestartPolicyNever || job.APIVersion != "batch/v1" || job.Kind != "Job" {
		t.Errorf("lenient decoding lost known fields: %+v", job)
	}
}

func TestReleaseOf(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"v0.37.2":                            "v1.37",
		"v0.30.0-rc.1":                       "v1.30",
		"v0.0.0-20260721132016-d427ff9ee9ad": "",
		"v1.2.3":                             "",
		"(devel)":                            "",
		"":                                   "",
		"v0.x.1":                             "",
	} {
		if got := releaseOf(in); got != want {
			t.Errorf("releaseOf(%q) = %q, want %q", in, got, want)
		}
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

// kindsOf lists the decoded objects' kinds, in order.
func kindsOf(objs []runtime.Object) []string {
	var kinds []string
	for _, o := range objs {
		kinds = append(kinds, o.GetObjectKind().GroupVersionKind().Kind)
	}
	return kinds
}
