package prepare

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kanikorun/kanikorun/internal/spec"
)

func TestReadStdinDockerfile(t *testing.T) {
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)

	o := Options{Build: spec.Options{Dockerfile: StdinDockerfile}}
	remove, err := o.ReadStdinDockerfile(strings.NewReader("FROM scratch\n"))
	if err != nil {
		t.Fatal(err)
	}
	if got, err := os.ReadFile(o.Build.Dockerfile); err != nil || string(got) != "FROM scratch\n" {
		t.Fatalf("Dockerfile %q: %q, %v", o.Build.Dockerfile, got, err)
	}
	if !o.Build.DockerfileFromStdin || filepath.Dir(filepath.Dir(o.Build.Dockerfile)) != tmp {
		t.Errorf("options = %+v, want a file under a directory of %s", o.Build, tmp)
	}
	remove()
	if entries, _ := os.ReadDir(tmp); len(entries) != 0 {
		t.Errorf("left in TMPDIR: %v", entries)
	}

	empty := Options{Build: spec.Options{Dockerfile: StdinDockerfile}}
	if _, err := empty.ReadStdinDockerfile(strings.NewReader("")); !errors.Is(err, spec.ErrUsage) {
		t.Errorf("empty stdin: err = %v, want ErrUsage", err)
	}
	if entries, _ := os.ReadDir(tmp); len(entries) != 0 {
		t.Errorf("left in TMPDIR after empty stdin: %v", entries)
	}

	path := Options{Build: spec.Options{Dockerfile: "Dockerfile"}}
	if remove, err := path.ReadStdinDockerfile(nil); err != nil || path.Build.Dockerfile != "Dockerfile" {
		t.Errorf("without -f -: %v, %+v", err, path.Build)
	} else {
		remove()
	}
}
