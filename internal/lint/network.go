package lint

import (
	"strings"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"

	parsed "github.com/kanikorun/kanikorun/internal/dockerfile"
)

// NeedsNetwork reports whether building the Dockerfile may reach the
// network by itself: a base image or COPY --from image to pull, a RUN step
// (which may download anything), an ADD of a URL or git repository, or an
// ONBUILD trigger. It is conservative: anything it cannot read needs the
// network, and so does an ADD source or COPY --from with a variable in it.
// Registries named by executor flags (destinations, caches, mirrors) are
// the caller's to add.
func NeedsNetwork(f *parsed.File) bool {
	if f == nil {
		return true
	}
	stages, _, err := f.Stages()
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
					// A variable may expand to a URL (ARG URL=https://...;
					// ADD $URL /x): with no network the download fails.
					if strings.Contains(src, "://") || strings.HasPrefix(src, "git@") || strings.Contains(src, "$") {
						return true
					}
				}
			case *instructions.CopyCommand:
				// --from=$STAGE may name an image; it is never a key of
				// known, so a variable always counts as a pull.
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

// sourceNeedsNetwork is NeedsNetwork of Dockerfile source.
func sourceNeedsNetwork(src []byte) bool {
	return NeedsNetwork(parsed.Parse("", src))
}
