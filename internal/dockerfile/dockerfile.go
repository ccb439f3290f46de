// Package dockerfile reads a Dockerfile once for every part of kanikorun
// that needs it: BuildKit's parser turns the source into an AST, and each
// instruction is typed once. The preflight checks, the registries a build
// pulls from and the network choice all read the same File, so a build
// parses its Dockerfile exactly once.
package dockerfile

import (
	"bytes"
	"fmt"
	"os"
	"strings"
	"sync/atomic"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	bklinter "github.com/moby/buildkit/frontend/dockerfile/linter"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
)

// File is a parsed Dockerfile.
type File struct {
	// Path is the host path it was read from; empty for source given
	// directly.
	Path string
	// Source is the file's content.
	Source []byte
	// Result is BuildKit's parse result; nil when Err is set.
	Result *parser.Result
	// Err is the parser's error: the file could not be parsed at all.
	Err error
	// Instructions are the AST's top-level nodes, each typed once.
	Instructions []Instruction
}

// Instruction is one typed instruction.
type Instruction struct {
	// Node is the instruction's AST node.
	Node *parser.Node
	// Command is *instructions.Stage for FROM, otherwise an
	// instructions.Command (*instructions.ArgCommand, ...); nil when Err
	// is set.
	Command any
	// Err is why BuildKit refused to type the instruction.
	Err error
}

// parses counts Parse calls, so tests can prove a build parses once.
var parses atomic.Int64

// Parses returns how many times Parse has run in this process.
func Parses() int64 { return parses.Load() }

// Read reads and parses the Dockerfile at path. The error is only for
// reading; a Dockerfile that does not parse has File.Err set.
func Read(path string) (*File, error) {
	src, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading dockerfile %q: %w", path, err)
	}
	return Parse(path, src), nil
}

// Parse parses Dockerfile source. A panic inside BuildKit becomes an error,
// so malformed input can never take a build down.
func Parse(path string, src []byte) *File {
	parses.Add(1)
	f := &File{Path: path, Source: src}
	f.Result, f.Err = parse(src)
	if f.Err != nil {
		f.Result = nil
		return f
	}
	for _, n := range f.Result.AST.Children {
		cmd, err := typeInstruction(n)
		f.Instructions = append(f.Instructions, Instruction{Node: n, Command: cmd, Err: err})
	}
	return f
}

func parse(src []byte) (res *parser.Result, err error) {
	defer func() {
		if r := recover(); r != nil {
			res, err = nil, fmt.Errorf("the Dockerfile parser failed: %v", r)
		}
	}()
	return parser.Parse(bytes.NewReader(src))
}

// noopLinter is handed to BuildKit: its lint hooks dereference the linter
// when a comment carries a check= directive, so nil would panic.
var noopLinter = bklinter.New(&bklinter.Config{})

func typeInstruction(n *parser.Node) (v any, err error) {
	defer func() {
		if r := recover(); r != nil {
			v, err = nil, fmt.Errorf("the Dockerfile parser failed on this instruction: %v", r)
		}
	}()
	return instructions.ParseInstructionWithLinter(n, noopLinter)
}

// Stages groups the typed instructions into stages as BuildKit's
// instructions.Parse does: the ARGs before the first FROM are the meta
// ARGs, every other instruction belongs to the stage above it. The error
// is the first instruction that could not be typed or stands before any
// FROM.
func (f *File) Stages() ([]instructions.Stage, []instructions.ArgCommand, error) {
	if f.Err != nil {
		return nil, nil, f.Err
	}
	var stages []instructions.Stage
	var meta []instructions.ArgCommand
	for _, in := range f.Instructions {
		if in.Err != nil {
			return nil, nil, in.Err
		}
		switch c := in.Command.(type) {
		case *instructions.Stage:
			stages = append(stages, *c)
		case *instructions.ArgCommand:
			if len(stages) == 0 {
				meta = append(meta, *c)
				continue
			}
			stages[len(stages)-1].AddCommand(c)
		case instructions.Command:
			if len(stages) == 0 {
				return nil, nil, fmt.Errorf("line %d: %s before the first FROM: only ARG may come before FROM", in.Node.StartLine, strings.ToUpper(c.Name()))
			}
			stages[len(stages)-1].AddCommand(c)
		}
	}
	return stages, meta, nil
}
