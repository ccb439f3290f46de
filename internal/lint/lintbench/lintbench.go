// Package lintbench makes the linter's benchmark input: a 300-line
// multi-stage Dockerfile and a 10,000-file context with a .dockerignore.
// The Go benchmark and make bench (which times the whole kanikorun lint
// process) share it, so both figures are about the same input.
package lintbench

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// WriteContext writes the benchmark's context into dir: 10,000 files, a
// third of them excluded by .dockerignore. It returns a 300-line
// multi-stage Dockerfile that copies from it the way real Dockerfiles do
// (not written: callers decide where it goes).
func WriteContext(dir string) (dockerfile []byte, err error) {
	write := func(p, content string) {
		if err != nil {
			return
		}
		full := filepath.Join(dir, filepath.FromSlash(p))
		if err = os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			return
		}
		err = os.WriteFile(full, []byte(content), 0o644)
	}
	n := 0
	for d := 0; d < 80; d++ {
		for f := 0; f < 80; f++ {
			write(fmt.Sprintf("src/pkg%02d/file%02d.go", d, f), "package x\n")
			n++
		}
	}
	for d := 0; d < 30; d++ {
		for f := 0; f < 100; f++ {
			write(fmt.Sprintf("node_modules/mod%02d/lib/f%03d.js", d, f), "x\n")
			n++
		}
	}
	for f := 0; n < 9990; f++ {
		write(fmt.Sprintf("docs/page%03d.md", f), "# x\n")
		n++
	}
	for _, p := range []string{"go.mod", "go.sum", "package.json", "package-lock.json", "Makefile", "README.md", "config/app.yaml", "scripts/entrypoint.sh", "web/index.html"} {
		write(p, "x\n")
		n++
	}
	write(".dockerignore", ".git\nnode_modules\n*.md\ndocs/*.md\n!docs/page000.md\n**/*.tmp\nbin/\n")
	if err != nil {
		return nil, err
	}
	if n+1 != 10000 {
		return nil, fmt.Errorf("context has %d files, want 10000", n+1)
	}

	var df strings.Builder
	df.WriteString("# syntax=docker/dockerfile:1\nARG GO_VERSION=1.22\nARG NODE_VERSION=20\n")
	for s := 0; s < 6; s++ {
		fmt.Fprintf(&df, "\nFROM golang:${GO_VERSION}-alpine AS stage%d\n", s)
		df.WriteString("ARG VERSION=dev\nENV CGO_ENABLED=0 GOFLAGS=-trimpath\nWORKDIR /src\n")
		df.WriteString("COPY go.mod go.sum ./\n")
		df.WriteString("RUN --mount=type=cache,target=/go/pkg/mod go mod download\n")
		for c := 0; c < 12; c++ {
			fmt.Fprintf(&df, "COPY src/pkg%02d/ ./pkg%02d/\n", s*12+c, s*12+c)
		}
		df.WriteString("COPY src/pkg0*/*.go ./all/\n")
		df.WriteString("RUN apk add --no-cache \\\n    git \\\n    make \\\n    ca-certificates \\\n  && go build -o /out/app ./... \\\n  && echo built > /tmp/stamp\n")
		for r := 0; r < 15; r++ {
			fmt.Fprintf(&df, "RUN echo step %d && ls -la /src/pkg%02d | wc -l\n", r, s)
		}
		if s > 0 {
			fmt.Fprintf(&df, "COPY --from=stage%d /out/app /usr/local/bin/app%d\n", s-1, s)
		}
		df.WriteString("LABEL org.opencontainers.image.source=https://example.com/app\nEXPOSE 8080\nUSER 65532:65532\n")
		for e := 0; e < 5; e++ {
			fmt.Fprintf(&df, "ENV VAR%d=value%d\n", e, e)
		}
	}
	df.WriteString("\nFROM alpine:3.20\nCOPY --from=stage5 /out/app /app\nCOPY config/ /etc/app/\nCOPY scripts/entrypoint.sh web/ docs/ /srv/\n")
	df.WriteString("COPY . /context/\nENTRYPOINT [\"/app\"]\n")
	return []byte(df.String()), nil
}
