package kube

import (
	"archive/tar"
	"compress/gzip"
	"crypto/rand"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/kanikorun/kanikorun/internal/testfs"
)

func packedNames(t *testing.T, p *PackedContext) []string {
	t.Helper()
	rc, err := p.Open()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	gz, err := gzip.NewReader(rc)
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(gz)
	var names []string
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, h.Name)
	}
	sort.Strings(names)
	return names
}

func TestPackContextAppliesDockerignore(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, ignore, dockerfile string
		want                     string
	}{
		{"none", "", "Dockerfile", ".dockerignore Dockerfile keep/ keep/a.txt node_modules/ node_modules/x.js secret.env"},
		{"file and dir", "secret.env\nnode_modules\n", "Dockerfile", ".dockerignore Dockerfile keep/ keep/a.txt"},
		{"exception", "*\n!keep/a.txt\n", "Dockerfile", ".dockerignore Dockerfile keep/a.txt"},
		{"the Dockerfile and .dockerignore always go", "Dockerfile\n.dockerignore\n**/*.txt\n", "Dockerfile", ".dockerignore Dockerfile keep/ node_modules/ node_modules/x.js secret.env"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dir := testfs.WriteTree(t, t.TempDir(), map[string]string{
				"Dockerfile": "FROM scratch\n", "secret.env": "TOKEN=x", "keep/a.txt": "a", "node_modules/x.js": "x", ".dockerignore": tc.ignore,
			})
			p, err := PackContext(dir, tc.dockerfile)
			if err != nil {
				t.Fatal(err)
			}
			defer p.Close()
			if got := strings.Join(packedNames(t, p), " "); got != tc.want {
				t.Errorf("packed %q, want %q", got, tc.want)
			}
		})
	}
}

func TestPackContextHashIsStableAndSpillsLargeContexts(t *testing.T) {
	t.Parallel()
	dir := testfs.WriteTree(t, t.TempDir(), map[string]string{"Dockerfile": "FROM scratch\n", "a": "a"})
	p1, err := PackContext(dir, "Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	p2, _ := PackContext(dir, "Dockerfile")
	if p1.Hash != p2.Hash || p1.ConfigMapName() != p2.ConfigMapName() || p1.Bytes() == nil {
		t.Fatalf("an unchanged context packed twice: %s vs %s", p1.Hash, p2.Hash)
	}
	if err := os.WriteFile(filepath.Join(dir, "a"), []byte("b"), 0o644); err != nil {
		t.Fatal(err)
	}
	p3, _ := PackContext(dir, "Dockerfile")
	if p3.Hash == p1.Hash {
		t.Error("a changed file kept the hash")
	}
	big := make([]byte, MaxConfigMapContext+1)
	_, _ = rand.Read(big)
	if err := os.WriteFile(filepath.Join(dir, "big"), big, 0o644); err != nil {
		t.Fatal(err)
	}
	p4, err := PackContext(dir, "Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	if p4.Bytes() != nil || p4.Size <= MaxConfigMapContext {
		t.Errorf("a %d-byte tar stayed in memory", p4.Size)
	}
	if got := packedNames(t, p4); len(got) != 3 {
		t.Errorf("spilled tar holds %q", got)
	}
	path := p4.path
	p4.Close()
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Errorf("Close left %s", path)
	}
}
