package kube

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"sync/atomic"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	kjson "k8s.io/apimachinery/pkg/runtime/serializer/json"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"
)

// Output formats for Encode.
const (
	FormatYAML = "yaml"
	FormatJSON = "json"
)

// ErrBadManifest marks input that is not the Kubernetes objects expected:
// bad YAML or JSON, unknown fields, a missing kind.
var ErrBadManifest = errors.New("invalid manifest")

// Encode writes objects as kubectl would print them: YAML documents
// separated by "---", or JSON: the object itself, or a v1 List when there
// are several. Every object must carry its apiVersion and kind.
func Encode(w io.Writer, objs []runtime.Object, format string) error {
	var out []byte
	switch format {
	case FormatYAML, "":
		for i, o := range objs {
			b, err := yaml.Marshal(o)
			if err != nil {
				return fmt.Errorf("encoding %s as YAML: %w", kindOf(o), err)
			}
			if i > 0 {
				out = append(out, "---\n"...)
			}
			out = append(out, b...)
		}
	case FormatJSON:
		var v any
		switch len(objs) {
		case 0:
			return errors.New("encoding nothing: no objects given")
		case 1:
			v = objs[0]
		default:
			list := &corev1.List{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "List"}}
			for _, o := range objs {
				raw, err := json.Marshal(o)
				if err != nil {
					return fmt.Errorf("encoding %s as JSON: %w", kindOf(o), err)
				}
				list.Items = append(list.Items, runtime.RawExtension{Raw: raw})
			}
			v = list
		}
		b, err := json.MarshalIndent(v, "", "    ")
		if err != nil {
			return fmt.Errorf("encoding JSON: %w", err)
		}
		out = append(b, '\n')
	default:
		return fmt.Errorf("unknown output format %q: use yaml or json", format)
	}
	if _, err := w.Write(out); err != nil {
		return fmt.Errorf("writing %s: %w", format, err)
	}
	return nil
}

// oneLine folds a multi-line decoder error (the YAML library lists each
// problem on its own line) into the one line users see.
func oneLine(err error) string {
	return strings.Join(strings.Fields(err.Error()), " ")
}

func kindOf(o runtime.Object) string {
	gvk := o.GetObjectKind().GroupVersionKind()
	if gvk.Kind == "" {
		return fmt.Sprintf("%T", o)
	}
	return gvk.Kind
}

// schemeBuilt records that codecs ran, so a test can prove that importing
// the package does not build the scheme.
var schemeBuilt atomic.Bool

// codecs holds the scheme and the strict decoder, built on first use:
// registering the core and batch types walks hundreds of structs by
// reflection, which a CLI that only lints must not pay for at start-up.
var codecs = sync.OnceValues(func() (*runtime.Scheme, *kjson.Serializer) {
	schemeBuilt.Store(true)
	s := runtime.NewScheme()
	// AddToScheme only fails on conflicting registrations, which two
	// fixed API groups cannot have.
	if err := corev1.AddToScheme(s); err != nil {
		panic(err)
	}
	if err := batchv1.AddToScheme(s); err != nil {
		panic(err)
	}
	return s, kjson.NewSerializerWithOptions(kjson.DefaultMetaFactory, s, s, kjson.SerializerOptions{Yaml: true, Strict: true})
})

// Decode reads a stream of Kubernetes objects: YAML documents separated by
// "---", or JSON, with any v1 List (or typed list) flattened into its items.
// Kinds of the core and batch groups are decoded strictly: an unknown or
// duplicated field is an error, as with `kubectl apply --validate=strict`.
// Objects of other kinds come back as *metav1.PartialObjectMetadata so a
// caller can name what it skips.
func Decode(data []byte) ([]runtime.Object, error) {
	r := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(data)))
	var objs []runtime.Object
	for n := 1; ; n++ {
		doc, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%w: reading document %d: %s", ErrBadManifest, n, oneLine(err))
		}
		if isEmptyDoc(doc) {
			continue
		}
		got, err := decodeDoc(doc)
		if err != nil {
			return nil, fmt.Errorf("%w: document %d: %s", ErrBadManifest, n, oneLine(err))
		}
		objs = append(objs, got...)
	}
	return objs, nil
}

// isEmptyDoc reports a document with nothing but comments and blank lines.
func isEmptyDoc(doc []byte) bool {
	var v any
	return yaml.Unmarshal(doc, &v) == nil && v == nil
}

func decodeDoc(doc []byte) ([]runtime.Object, error) {
	var tm metav1.TypeMeta
	if err := yaml.Unmarshal(doc, &tm); err != nil {
		return nil, err
	}
	if tm.Kind == "" || tm.APIVersion == "" {
		return nil, errors.New("an object without apiVersion and kind; every object needs both")
	}
	gvk := schema.FromAPIVersionAndKind(tm.APIVersion, tm.Kind)
	scheme, codec := codecs()
	if !scheme.Recognizes(gvk) {
		var p metav1.PartialObjectMetadata
		if err := yaml.Unmarshal(doc, &p); err != nil {
			return nil, fmt.Errorf("%s: %v", tm.Kind, err)
		}
		return []runtime.Object{&p}, nil
	}
	obj, _, err := codec.Decode(doc, nil, nil)
	if err != nil {
		return nil, fmt.Errorf("%s: %v", tm.Kind, err)
	}
	// The serializer clears apiVersion and kind after decoding into a
	// typed object; callers print them, so put them back.
	obj.GetObjectKind().SetGroupVersionKind(gvk)
	var items []runtime.RawExtension
	switch l := obj.(type) {
	case *corev1.List:
		items = l.Items
	case *batchv1.JobList, *corev1.PodList, *corev1.SecretList, *corev1.ConfigMapList:
		return flattenTyped(obj), nil
	default:
		return []runtime.Object{obj}, nil
	}
	var out []runtime.Object
	for i, it := range items {
		got, err := decodeDoc(it.Raw)
		if err != nil {
			return nil, fmt.Errorf("list item %d: %w", i, err)
		}
		out = append(out, got...)
	}
	return out, nil
}

// flattenTyped returns the items of a typed list with their kinds set, as
// a kind-less item in `kubectl get` output would otherwise lose them.
func flattenTyped(obj runtime.Object) []runtime.Object {
	var out []runtime.Object
	switch l := obj.(type) {
	case *batchv1.JobList:
		for i := range l.Items {
			l.Items[i].TypeMeta = metav1.TypeMeta{APIVersion: "batch/v1", Kind: "Job"}
			out = append(out, &l.Items[i])
		}
	case *corev1.PodList:
		for i := range l.Items {
			l.Items[i].TypeMeta = metav1.TypeMeta{APIVersion: "v1", Kind: "Pod"}
			out = append(out, &l.Items[i])
		}
	case *corev1.SecretList:
		for i := range l.Items {
			l.Items[i].TypeMeta = metav1.TypeMeta{APIVersion: "v1", Kind: "Secret"}
			out = append(out, &l.Items[i])
		}
	case *corev1.ConfigMapList:
		for i := range l.Items {
			l.Items[i].TypeMeta = metav1.TypeMeta{APIVersion: "v1", Kind: "ConfigMap"}
			out = append(out, &l.Items[i])
		}
	}
	return out
}
