package runner

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"

	"github.com/kanikorun/kanikorun/internal/spec"
)

func TestLoadedID(t *testing.T) {
	t.Parallel()
	id := "sha256:" + strings.Repeat("1", 64)
	for _, tt := range []struct {
		name  string
		names []string
		want  string
		calls string
	}{
		{"untagged: the daemon said the ID", []string{"sha256:" + strings.Repeat("a", 64)}, "sha256:" + strings.Repeat("a", 64), ""},
		{"tagged: the daemon is asked", []string{"example.com/app:1"}, id, "image-id example.com/app:1"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := &fakeEngine{}
			r := &Runner{Engine: f}
			got, err := r.LoadedID(context.Background(), tt.names)
			if err != nil || got != tt.want {
				t.Fatalf("LoadedID = %q, %v; want %q", got, err, tt.want)
			}
			if calls := strings.Join(f.calls, ","); calls != tt.calls {
				t.Errorf("calls = %q, want %q", calls, tt.calls)
			}
		})
	}
	if _, err := (&Runner{Engine: &fakeEngine{}}).LoadedID(context.Background(), nil); err == nil {
		t.Error("no names: want an error")
	}
}

func TestAuthFromConfig(t *testing.T) {
	t.Parallel()
	cfg := []byte(`{"auths":{"127.0.0.1:5000":{"username":"u","password":"p"},"https://index.docker.io/v1/":{"auth":"aHViOnNlY3JldA=="}}}`)
	for _, tt := range []struct {
		registry, user string
	}{{"127.0.0.1:5000", "u"}, {"index.docker.io", "hub"}, {"ghcr.io", ""}} {
		reg, err := name.NewRegistry(tt.registry)
		if err != nil {
			t.Fatal(err)
		}
		ac, err := authn.Authorization(context.Background(), authFromConfig(cfg, reg))
		if err != nil {
			t.Fatal(err)
		}
		if ac.Username != tt.user {
			t.Errorf("%s: user %q, want %q", tt.registry, ac.Username, tt.user)
		}
	}
}

func TestMetadataKeys(t *testing.T) {
	t.Parallel()
	b := &spec.Build{Destinations: []string{"r.example/a:1"}, ExtraDestinations: []string{"r.example/a:2"}, ExecutorImage: "exec:1"}
	data, err := metadata(b, "sha256:d", "sha256:c", "")
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]string
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"containerimage.digest":        "sha256:d",
		"containerimage.config.digest": "sha256:c",
		"image.name":                   "r.example/a:1,r.example/a:2",
		"kanikorun.executor.image":     "exec:1",
	}
	if len(m) != len(want) {
		t.Errorf("metadata = %v, want %v", m, want)
	}
	for k, v := range want {
		if m[k] != v {
			t.Errorf("%s = %q, want %q", k, m[k], v)
		}
	}
}
