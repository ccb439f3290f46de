package kube

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"runtime/debug"
	"sort"
	"strings"
	"sync"
	"sync/atomic"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
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

// codecSet is the scheme with its strict and lenient decoders.
type codecSet struct {
	scheme          *runtime.Scheme
	strict, lenient *kjson.Serializer
}

// codecs holds the scheme and the decoders, built on first use:
// registering the core and batch types walks hundreds of structs by
// reflection, which a CLI that only lints must not pay for at start-up.
var codecs = sync.OnceValue(func() *codecSet {
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
	return &codecSet{
		scheme:  s,
		strict:  kjson.NewSerializerWithOptions(kjson.DefaultMetaFactory, s, s, kjson.SerializerOptions{Yaml: true, Strict: true}),
		lenient: kjson.NewSerializerWithOptions(kjson.DefaultMetaFactory, s, s, kjson.SerializerOptions{Yaml: true}),
	}
})

// Decode reads a stream of Kubernetes objects: YAML documents separated by
// "---", or JSON, with any v1 List (or typed list) flattened into its items.
// Kinds of the core and batch groups are decoded strictly: an unknown or
// duplicated field is an error, as with `kubectl apply --validate=strict`.
// Objects of other kinds come back as *metav1.PartialObjectMetadata so a
// caller can name what it skips.
func Decode(data []byte) ([]runtime.Object, error) {
	d := &decoder{}
	return d.stream(data)
}

// DecodeLenient is Decode for input that may come from a cluster newer
// than the k8s.io/api this program is built with (replay input): a field
// unknown to these types is dropped and named in the returned notices, one
// line per object, instead of failing the whole stream. Everything else
// stays strict: a duplicated field, a wrong type or bad YAML is still an
// error, because which value the cluster took is then unclear.
func DecodeLenient(data []byte) ([]runtime.Object, []string, error) {
	d := &decoder{lenient: true}
	objs, err := d.stream(data)
	if err != nil {
		return nil, nil, err
	}
	return objs, d.unknown, nil
}

// decoder carries one decoding of a stream.
type decoder struct {
	// lenient accepts fields unknown to the scheme's types.
	lenient bool
	// unknown collects, in lenient mode, one notice per object with
	// unknown fields.
	unknown []string
}

func (d *decoder) stream(data []byte) ([]runtime.Object, error) {
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
		got, err := d.doc(doc)
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

func (d *decoder) doc(doc []byte) ([]runtime.Object, error) {
	var tm metav1.TypeMeta
	if err := yaml.Unmarshal(doc, &tm); err != nil {
		return nil, err
	}
	if tm.Kind == "" || tm.APIVersion == "" {
		return nil, errors.New("an object without apiVersion and kind; every object needs both")
	}
	gvk := schema.FromAPIVersionAndKind(tm.APIVersion, tm.Kind)
	c := codecs()
	if !c.scheme.Recognizes(gvk) {
		var p metav1.PartialObjectMetadata
		if err := yaml.Unmarshal(doc, &p); err != nil {
			return nil, fmt.Errorf("%s: %w", tm.Kind, err)
		}
		return []runtime.Object{&p}, nil
	}
	obj, _, err := c.strict.Decode(doc, nil, nil)
	if fields, ok := unknownFields(err); ok && d.lenient {
		// Decoded again without strictness rather than trusting what the
		// strict pass left behind: only the lenient decoder promises to
		// fill every known field.
		if obj, _, err = c.lenient.Decode(doc, nil, nil); err == nil {
			api := "kanikorun's Kubernetes API"
			if r := apiRelease(); r != "" {
				api += " " + r
			}
			d.unknown = append(d.unknown, fmt.Sprintf("unknown fields in %s: %s (newer than %s, or misspelt)",
				objectLabel(gvk.Kind, obj), strings.Join(fields, ", "), api))
		}
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", tm.Kind, err)
	}
	// The serializer clears apiVersion and kind after decoding into a
	// typed object; callers print them, so put them back.
	obj.GetObjectKind().SetGroupVersionKind(gvk)
	var items []runtime.RawExtension
	switch l := obj.(type) {
	case *corev1.List:
		items = l.Items
	case *batchv1.JobList, *corev1.PodList, *corev1.SecretList, *corev1.ConfigMapList:
		return flattenTyped(obj, gvk)
	default:
		return []runtime.Object{obj}, nil
	}
	var out []runtime.Object
	for i, it := range items {
		got, err := d.doc(it.Raw)
		if err != nil {
			return nil, fmt.Errorf("list item %d: %w", i, err)
		}
		out = append(out, got...)
	}
	return out, nil
}

// unknownFields returns the paths of the unknown fields a strict decoding
// error names, and false when err is anything else or also reports another
// strictness violation (a duplicated field).
func unknownFields(err error) ([]string, bool) {
	se, ok := runtime.AsStrictDecodingError(err)
	if !ok {
		return nil, false
	}
	var fields []string
	for _, e := range se.Errors() {
		// sigs.k8s.io/json reports "unknown field \"a.b\"" and
		// "duplicate field \"a.b\"", both with the path; a YAML duplicate
		// key comes without one.
		fe, ok := e.(interface{ FieldPath() string })
		if !ok || !strings.HasPrefix(e.Error(), "unknown field ") {
			return nil, false
		}
		fields = append(fields, fe.FieldPath())
	}
	sort.Strings(fields)
	return fields, len(fields) > 0
}

// objectLabel names an object for a notice: its kind and name, or only
// the kind for a nameless object.
func objectLabel(kind string, obj runtime.Object) string {
	if mo, ok := obj.(metav1.Object); ok {
		name := mo.GetName()
		if name == "" {
			name = mo.GetGenerateName()
		}
		if name != "" {
			return fmt.Sprintf("%s %q", kind, name)
		}
	}
	return kind
}

// apiRelease is "v1.N", the Kubernetes release of the k8s.io/api this
// binary is built with, read from the build info so it cannot go stale;
// empty when the build info does not say (as in test binaries).
var apiRelease = sync.OnceValue(func() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return ""
	}
	for _, m := range bi.Deps {
		if m.Path == "k8s.io/api" {
			if m.Replace != nil {
				m = m.Replace
			}
			return releaseOf(m.Version)
		}
	}
	return ""
})

// releaseOf maps a k8s.io/api module version to its Kubernetes release:
// v0.N.x ships with v1.N.x. Pseudo-versions and anything else give "".
func releaseOf(version string) string {
	minor, rest, ok := strings.Cut(strings.TrimPrefix(version, "v0."), ".")
	if !ok || !strings.HasPrefix(version, "v0.") || minor == "" || minor == "0" || strings.Trim(minor, "0123456789") != "" || rest == "" {
		return ""
	}
	return "v1." + minor
}

// flattenTyped returns the items of a typed list with their kinds set (the
// list's kind without "List"), as a kind-less item in `kubectl get` output
// would otherwise lose them.
func flattenTyped(list runtime.Object, listKind schema.GroupVersionKind) ([]runtime.Object, error) {
	items, err := meta.ExtractList(list)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", listKind.Kind, err)
	}
	itemKind := listKind.GroupVersion().WithKind(strings.TrimSuffix(listKind.Kind, "List"))
	for _, it := range items {
		it.GetObjectKind().SetGroupVersionKind(itemKind)
	}
	return items, nil
}
