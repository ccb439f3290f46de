package main

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The flags with their names worked out once are the same flags: every
// command's help is what urfave prints for the flags as written, and
// parsing, the set flags and the refusals still work (the scripts).
func TestNamesOnceChangesNoHelp(t *testing.T) {
	// urfave's help and version flags are package variables that every
	// run applies: in-process runs take turns.
	cliMu.Lock()
	defer cliMu.Unlock()
	for _, cmd := range newApp(io.Discard, io.Discard, nil).Commands {
		help := func(wrap bool) string {
			var out bytes.Buffer
			app := newApp(&out, &out, nil)
			args := []string{"kanikorun", cmd.Name, "--help"}
			if wrap {
				namesOnce(app, args)
			}
			if err := app.RunContext(context.Background(), args); err != nil {
				t.Fatalf("%s --help: %v", cmd.Name, err)
			}
			return out.String()
		}
		plain, wrapped := help(false), help(true)
		if plain != wrapped {
			t.Errorf("%s --help changed:\n%s\n--- with the names worked out once:\n%s", cmd.Name, plain, wrapped)
		}
		if !strings.Contains(plain, "--") {
			t.Errorf("%s --help shows no flags:\n%s", cmd.Name, plain)
		}
	}
}

// BenchmarkCommandLine is the cost of kanikorun's own command line, in
// process and without a daemon: lint and job of a small context.
func BenchmarkCommandLine(b *testing.B) {
	dir := b.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte("FROM alpine:3.20\nRUN echo hi\nCOPY . /src\n"), 0o644); err != nil {
		b.Fatal(err)
	}
	for _, args := range [][]string{
		{"lint", dir},
		{"job", "--destination", "registry.example/app:1", dir},
	} {
		b.Run(args[0], func(b *testing.B) {
			for b.Loop() {
				if code := run(context.Background(), append([]string{"kanikorun"}, args...), strings.NewReader(""), io.Discard, io.Discard); code != 0 {
					b.Fatalf("%v: exit %d", args, code)
				}
			}
		})
	}
}
