package ctxtar

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/rand"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"testing"

	"github.com/kanikorun/kanikorun/internal/testfs"
)

// names reads the gzip tar back with the standard library's reader, as
// kaniko does, and returns its names and the content of each file.
func names(t *testing.T, data []byte) ([]string, map[string]string) {
	t.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(zr)
	var out []string
	files := map[string]string{}
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, h.Name)
		b, _ := io.ReadAll(tr)
		files[h.Name] = string(b)
	}
	sort.Strings(out)
	return out, files
}

func TestWriteAppliesTheIgnoreFile(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		files      map[string]string
		dockerfile string
		want       []string
	}{
		{name: "no ignore file", files: map[string]string{"Dockerfile": "FROM scratch\n", "a.txt": "a", "sub/b.txt": "b"},
			want: []string{"Dockerfile", "a.txt", "sub/", "sub/b.txt"}},
		{name: "patterns, exceptions, directories", files: map[string]string{
			"Dockerfile": "x", ".dockerignore": "*.log\nnode_modules\nbuild/\n!build/keep.txt\n",
			"a.log": "l", "a.txt": "a", "node_modules/m/x.js": "m", "build/out.o": "o", "build/keep.txt": "k"},
			want: []string{".dockerignore", "Dockerfile", "a.txt", "build/keep.txt"}},
		{name: "the Dockerfile and the ignore file always go", files: map[string]string{
			"Dockerfile": "x", ".dockerignore": "*\n", "a.txt": "a"},
			want: []string{".dockerignore", "Dockerfile"}},
		{name: "the Dockerfile's own ignore file wins", dockerfile: "docker/app.Dockerfile", files: map[string]string{
			"docker/app.Dockerfile": "x", "docker/app.Dockerfile.dockerignore": "a.txt\n", ".dockerignore": "b.txt\n", "a.txt": "a", "b.txt": "b"},
			want: []string{".dockerignore", "b.txt", "docker/", "docker/app.Dockerfile", "docker/app.Dockerfile.dockerignore"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dir := testfs.WriteTree(t, t.TempDir(), tc.files)
			df := tc.dockerfile
			if df == "" {
				df = "Dockerfile"
			}
			var buf bytes.Buffer
			if _, err := Write(&buf, dir, Options{Dockerfile: filepath.Join(dir, df)}); err != nil {
				t.Fatal(err)
			}
			got, files := names(t, buf.Bytes())
			if !slices.Equal(got, tc.want) {
				t.Errorf("tar holds %q, want %q", got, tc.want)
			}
			for n, c := range tc.files {
				if slices.Contains(got, n) && files[n] != c {
					t.Errorf("%s holds %q, want %q", n, files[n], c)
				}
			}
		})
	}
}

func TestWriteManyBlocks(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	big := make([]byte, 5*blockSize+123)
	_, _ = rand.Read(big)
	if err := os.WriteFile(filepath.Join(dir, "big.bin"), big, 0o644); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	st, err := Write(&buf, dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	_, files := names(t, buf.Bytes())
	if files["big.bin"] != string(big) || st.Bytes != int64(len(big)) || st.Files != 1 {
		t.Errorf("big.bin came back with %d bytes (stats %+v), want %d", len(files["big.bin"]), st, len(big))
	}
	var empty bytes.Buffer
	if _, err := Write(&empty, t.TempDir(), Options{}); err != nil {
		t.Fatal(err)
	}
	if got, _ := names(t, empty.Bytes()); len(got) != 0 {
		t.Errorf("empty context gave %q", got)
	}
}

// BenchmarkWrite measures the context tar+gzip throughput (MB/s of file
// content) on a source-like tree: text files, some repeated, with a
// .dockerignore excluding a directory of build output.
func BenchmarkWrite(b *testing.B) {
	dir := b.TempDir()
	text := bytes.Repeat([]byte("func main() { fmt.Println(\"hello, kanikorun\") } // some source text\n"), 1500)
	var total int64
	for i := range 200 {
		p := filepath.Join(dir, "src", string(rune('a'+i%26)), "f"+string(rune('0'+i%10))+string(rune('a'+i/26))+".go")
		_ = os.MkdirAll(filepath.Dir(p), 0o755)
		noise := make([]byte, 32<<10)
		_, _ = rand.Read(noise)
		data := append(append([]byte(nil), text...), noise...)
		_ = os.WriteFile(p, data, 0o644)
		total += int64(len(data))
	}
	_ = os.MkdirAll(filepath.Join(dir, "out"), 0o755)
	_ = os.WriteFile(filepath.Join(dir, "out", "skip.bin"), make([]byte, 50<<20), 0o644)
	_ = os.WriteFile(filepath.Join(dir, ".dockerignore"), []byte("out\n"), 0o644)
	b.SetBytes(total)
	b.ResetTimer()
	for range b.N {
		if _, err := Write(io.Discard, dir, Options{}); err != nil {
			b.Fatal(err)
		}
	}
}
