package dockerfile

import (
	"strings"
	"testing"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
)

func TestParseTypesEachInstructionOnce(t *testing.T) {
	before := Parses()
	f := Parse("Dockerfile", []byte("ARG A=1\nFROM alpine AS one\nARG B\nRUN true\nFROM one\nCOPY --from=one /x /x\n"))
	if Parses()-before != 1 {
		t.Errorf("Parses advanced by %d", Parses()-before)
	}
	if f.Err != nil || len(f.Instructions) != 6 {
		t.Fatalf("err %v, %d instructions", f.Err, len(f.Instructions))
	}
	stages, meta, err := f.Stages()
	if err != nil {
		t.Fatal(err)
	}
	if len(meta) != 1 || meta[0].Args[0].Key != "A" {
		t.Errorf("meta args %+v", meta)
	}
	if len(stages) != 2 || stages[0].Name != "one" || len(stages[0].Commands) != 2 || stages[1].BaseName != "one" {
		t.Errorf("stages %+v", stages)
	}
	if _, ok := stages[1].Commands[0].(*instructions.CopyCommand); !ok {
		t.Errorf("second stage's command is %T", stages[1].Commands[0])
	}
}

func TestParseErrors(t *testing.T) {
	t.Parallel()
	for src, want := range map[string]string{
		"RUN true\n":                "before the first FROM",
		"FROM alpine\nCOPY\n":       "COPY requires at least two arguments",
		"FROM alpine\nBOGUS x\n":    "unknown instruction",
		"\xef\xbb\xbf# x\nFROM a\n": "",
	} {
		f := Parse("", []byte(src))
		_, _, err := f.Stages()
		switch {
		case want == "" && err != nil:
			t.Errorf("%q: %v", src, err)
		case want != "" && (err == nil || !strings.Contains(strings.ToLower(err.Error()), strings.ToLower(want))):
			t.Errorf("%q: error %v, want %q", src, err, want)
		}
	}
}

func TestReadMissing(t *testing.T) {
	t.Parallel()
	if _, err := Read("/nonexistent/Dockerfile"); err == nil {
		t.Error("no error for a missing file")
	}
}
