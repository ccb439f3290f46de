package main

import (
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/v1/tarball"

	"github.com/kanikorun/kanikorun/internal/kube"
	"github.com/kanikorun/kanikorun/internal/testbed"
)

// The context kanikorun uploads (a gzip tar) reaches the stand-in as
// tar://PATH, as it reaches kaniko; the Dockerfile is found inside it.
func TestTarContextFromPath(t *testing.T) {
	t.Parallel()
	ctxDir := writeContext(t, map[string]string{
		"sub/Dockerfile": "FROM scratch\nCOPY hello.txt /hello.txt\n",
		"hello.txt":      "hi from a tar\n",
	})
	p, err := kube.PackContext(ctxDir, "sub/Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	rc, _ := p.Open()
	data, _ := io.ReadAll(rc)
	tarPath := filepath.Join(t.TempDir(), "context.tar.gz")
	if err := os.WriteFile(tarPath, data, 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "image.tar")
	r := runStandIn(t, "--context=tar://"+tarPath, "--dockerfile=sub/Dockerfile", "--destination=kanikorun.local/tar:1", "--no-push", "--tar-path="+out)
	if r.code != 0 {
		t.Fatalf("exit %d\n%s", r.code, r.stderr)
	}
	if !strings.Contains(r.stderr, "Extracted the tar context to") {
		t.Errorf("stderr does not say where the tar went:\n%s", r.stderr)
	}
	img, err := tarball.ImageFromPath(out, nil)
	if err != nil {
		t.Fatal(err)
	}
	files, err := testbed.Files(img)
	if err != nil {
		t.Fatal(err)
	}
	if files["hello.txt"] != "hi from a tar\n" {
		t.Errorf("image files = %v", files)
	}
	r = runStandIn(t, "--context=tar://"+filepath.Join(t.TempDir(), "none.tar.gz"), "--no-push")
	if r.code == 0 {
		t.Error("a missing tar built")
	}
}
