package cache

import (
	"archive/tar"
	"bytes"
	"io"
	"path"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/v1/random"
)

// volumeTar turns what Stream writes (names relative to the volume root)
// into what CopyFrom of the root gives (names under its base name).
func volumeTar(t *testing.T, streams ...[]byte) []byte {
	t.Helper()
	var out bytes.Buffer
	tw := tar.NewWriter(&out)
	for _, s := range streams {
		tr := tar.NewReader(bytes.NewReader(s))
		for {
			h, err := tr.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			h.Name = path.Join("cache", h.Name)
			if h.Typeflag == tar.TypeDir {
				h.Name += "/"
			}
			if err := tw.WriteHeader(h); err != nil {
				t.Fatal(err)
			}
			if _, err := io.Copy(tw, tr); err != nil {
				t.Fatal(err)
			}
		}
	}
	_ = tw.Close()
	return out.Bytes()
}

func TestStreamScanSelectFilter(t *testing.T) {
	t.Parallel()
	for _, flavor := range []string{"upstream", "fork"} {
		t.Run(flavor, func(t *testing.T) {
			t.Parallel()
			img, err := random.Image(512, 2)
			if err != nil {
				t.Fatal(err)
			}
			d, _ := img.Digest()
			old := time.Now().Add(-48 * time.Hour)
			var a, b bytes.Buffer
			build := &BuildMeta{Dockerfile: "/src/Dockerfile", Context: "/src", Bases: []string{"reg/x:1"}, Flavor: flavor, Last: old}
			if err := Stream(&a, flavor, []Entry{{Ref: "reg/x:1", Image: img}}, build, old); err != nil {
				t.Fatal(err)
			}
			// A second warm of the same image that was cut short: data, no link.
			if err := Stream(&b, flavor, []Entry{{Ref: "reg/x:1", Image: img}}, nil, time.Now()); err != nil {
				t.Fatal(err)
			}
			unlinked := stripLinks(t, b.Bytes())
			idx, err := Scan(bytes.NewReader(volumeTar(t, a.Bytes(), unlinked)), "/cache")
			if err != nil {
				t.Fatal(err)
			}
			var kinds []string
			for _, e := range idx.Entries {
				kinds = append(kinds, string(e.Kind))
				if e.Kind == KindBase {
					if e.Name != BasePath(flavor, d.String()) || e.Base == nil || e.Base.Ref != "reg/x:1" || e.Size == 0 {
						t.Errorf("base entry %+v", e)
					}
				}
			}
			if got := strings.Join(kinds, ","); got != "base,orphan" {
				t.Errorf("entries %s, want base,orphan", got)
			}
			if len(idx.Builds) != 1 || idx.Builds[0].Dockerfile != "/src/Dockerfile" {
				t.Errorf("builds %+v", idx.Builds)
			}
			if sel := idx.Select(PruneOptions{}, time.Now()); len(sel) != 1 || sel[0].Kind != KindOrphan {
				t.Errorf("default prune selects %+v, want the orphan", sel)
			}
			sel := idx.Select(PruneOptions{OlderThan: 24 * time.Hour}, time.Now())
			if len(sel) != 2 {
				t.Fatalf("--older-than 24h selects %d entries, want 2", len(sel))
			}
			drop := map[string]bool{}
			for _, e := range sel {
				for _, p := range e.Paths {
					drop[p] = true
				}
			}
			var out bytes.Buffer
			if err := Filter(bytes.NewReader(volumeTar(t, a.Bytes(), unlinked)), &out, "/cache", drop); err != nil {
				t.Fatal(err)
			}
			left, err := Scan(bytes.NewReader(volumeTar(t, out.Bytes())), "/cache")
			if err != nil {
				t.Fatal(err)
			}
			if len(left.Entries) != 0 || len(left.Builds) != 1 {
				t.Errorf("after the filter: %+v", left)
			}
		})
	}
}

// stripLinks drops the symlinks and records of a stream, as a warm cut
// short leaves it.
func stripLinks(t *testing.T, s []byte) []byte {
	t.Helper()
	var out bytes.Buffer
	tw := tar.NewWriter(&out)
	tr := tar.NewReader(bytes.NewReader(s))
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if h.Typeflag == tar.TypeSymlink || strings.HasPrefix(h.Name, "meta/") {
			continue
		}
		_ = tw.WriteHeader(h)
		_, _ = io.Copy(tw, tr)
	}
	_ = tw.Close()
	return out.Bytes()
}
