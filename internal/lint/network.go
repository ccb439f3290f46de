package lint

import (
	"bytes"
	"os"
	"strings"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
)

// NeedsNetwork reports whether building the Dockerfile may reach the
// network by itself: a base image or COPY --from image to pull, a RUN step
// (which may download anything), an ADD of a URL or git repository, or an
// ONBUILD trigger. It is conservative: anything it cannot read needs the
// network. Registries named by executor flags (destinations, caches,
// mirrors) are the caller's to add.
func NeedsNetwork(dockerfile string) bool {
	src, err := os.ReadFile(dockerfile)
	if err != nil {
		return true
	}
	return sourceNeedsNetwork(src)
}

func sourceNeedsNetwork(src []byte) bool {
	res, err := parser.Parse(bytes.NewReader(src))
	if err != nil {
		return true
	}
	stages, _, err := instructions.Parse(res.AST, nil)
	if err != nil {
		return true
	}
	known := map[string]bool{}
	for i, s := range stages {
		base := strings.ToLower(s.BaseName)
		if base != "scratch" && !known[base] {
			return true
		}
		for _, c := range s.Commands {
			switch c := c.(type) {
			case *instructions.RunCommand, *instructions.OnbuildCommand:
				return true
			case *instructions.AddCommand:
				for _, src := range c.SourcePaths {
					if strings.Contains(src, "://") || strings.HasPrefix(src, "git@") {
						return true
					}
				}
			case *instructions.CopyCommand:
				if c.From != "" && !known[strings.ToLower(c.From)] && !isIndex(c.From, i) {
					return true
				}
			}
		}
		if s.Name != "" {
			known[strings.ToLower(s.Name)] = true
		}
	}
	return false
}

// isIndex reports whether from names an earlier stage by number.
func isIndex(from string, stage int) bool {
	n := 0
	for _, r := range from {
		if r < '0' || r > '9' {
			return false
		}
		n = n*10 + int(r-'0')
		if n >= stage {
			return false
		}
	}
	return from != ""
}
