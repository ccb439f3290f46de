package runner

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/docker/docker/pkg/jsonmessage"
)

// ErrLoad means the daemon refused the built image.
var ErrLoad = errors.New("loading image into the daemon failed")

// Load loads a docker-format image tarball into the daemon and returns the
// names the daemon reports ("name:tag", or an image ID when untagged).
func (r *Runner) Load(ctx context.Context, tarPath string) ([]string, error) {
	f, err := os.Open(tarPath)
	if err != nil {
		return nil, fmt.Errorf("%w: opening %q: %v", ErrLoad, tarPath, err)
	}
	defer f.Close()
	resp, err := r.Engine.ImageLoad(ctx, f, quietLoad)
	if err != nil {
		return nil, r.ctxOr(ctx, fmt.Errorf("%w: %s", ErrLoad, oneLine(err)))
	}
	defer drain(resp.Body)
	return loadedNames(resp.Body)
}

// loadedNames reads the daemon's load response stream.
func loadedNames(body io.Reader) ([]string, error) {
	var names []string
	dec := json.NewDecoder(body)
	for {
		var m jsonmessage.JSONMessage
		if err := dec.Decode(&m); err == io.EOF {
			break
		} else if err != nil {
			return nil, fmt.Errorf("%w: reading the daemon's answer: %v", ErrLoad, err)
		}
		if m.Error != nil {
			return nil, fmt.Errorf("%w: %s", ErrLoad, m.Error.Message)
		}
		for _, line := range strings.Split(m.Stream, "\n") {
			for _, p := range []string{"Loaded image: ", "Loaded image ID: "} {
				if n, ok := strings.CutPrefix(strings.TrimSpace(line), p); ok {
					names = append(names, n)
				}
			}
		}
	}
	return names, nil
}
