package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestHelpAndUnknownCommands: `help` works as git's and docker's, an
// unknown command gets one line, and a CONTEXT named like urfave's help
// subcommand is a context.
func TestHelpAndUnknownCommands(t *testing.T) {
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"help"}, "kanikorun - build images"},
		{[]string{"help", "build"}, "kanikorun build - build a Dockerfile"},
		{[]string{"help", "lint"}, "kanikorun lint - check a Dockerfile"},
		{[]string{"help", "help"}, "kanikorun - build images"},
		{[]string{"h"}, "kanikorun - build images"},
	} {
		r := kanikorun(t, tt.args...)
		if r.code != 0 || !strings.Contains(r.stdout, tt.want) || r.stderr != "" {
			t.Errorf("%v: want exit 0 and help containing %q, got\n%s", tt.args, tt.want, r)
		}
	}
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"bulid", "."}, `kanikorun: unknown command "bulid"; did you mean "build"? see kanikorun --help`},
		{[]string{"help", "nosuch"}, `kanikorun: unknown command "nosuch"`},
		{[]string{"hepl"}, `kanikorun: unknown command "hepl"; see kanikorun --help`},
		{[]string{"--nope"}, "kanikorun: flag provided but not defined: -nope; see kanikorun --help"},
		{[]string{"lint", "--nope"}, "kanikorun: flag provided but not defined: -nope; see kanikorun lint --help"},
	} {
		r := kanikorun(t, tt.args...)
		if r.code != exitUsage || r.stdout != "" || strings.Count(r.stderr, "\n") != 1 || !strings.HasPrefix(r.stderr, tt.want) {
			t.Errorf("%v: want exit %d and the one line %q..., got\n%s", tt.args, exitUsage, tt.want, r)
		}
	}

	dir := t.TempDir()
	for _, name := range []string{"help", "h"} {
		writeTree(t, filepath.Join(dir, name), map[string]string{"Dockerfile": "FROM scratch\nCOPY missing /\n"})
	}
	t.Chdir(dir)
	for _, name := range []string{"help", "h"} {
		r := kanikorun(t, "lint", name)
		if r.code != exitLint || !strings.Contains(r.stdout, "KR013") {
			t.Errorf("lint %s: want the context %s linted (exit %d, KR013), got\n%s", name, name, exitLint, r)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "help", "Dockerfile")); err != nil {
		t.Fatal(err)
	}
}

// TestVersionStamp: the linker flag `make build` passes reaches --version
// (-X on a renamed variable would silently do nothing), and a binary
// without it says dev rather than nothing.
func TestVersionStamp(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "kanikorun")
	build := exec.Command("go", "build", "-ldflags", "-X main.version=v1.2.3-test", "-o", bin, ".")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	out, err := exec.Command(bin, "--version").Output()
	if err != nil || string(out) != "kanikorun version v1.2.3-test\n" {
		t.Errorf("stamped --version = %q, %v; want %q", out, err, "kanikorun version v1.2.3-test\n")
	}
	plain := filepath.Join(t.TempDir(), "kanikorun")
	if out, err := exec.Command("go", "build", "-buildvcs=false", "-o", plain, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	out, err = exec.Command(plain, "--version").Output()
	if err != nil || string(out) != "kanikorun version dev\n" {
		t.Errorf("unstamped --version = %q, %v; want %q", out, err, "kanikorun version dev\n")
	}
}

// TestLintHonoursSkipUnusedStages: the executor flag after -- decides
// whether an unused stage is built, so whether its error stops the build.
func TestLintHonoursSkipUnusedStages(t *testing.T) {
	ctx := writeTree(t, t.TempDir(), map[string]string{"Dockerfile": "FROM alpine AS unused\nCOPY nothere.txt /x\nFROM alpine\nRUN true\n"})
	for _, tc := range []struct {
		args []string
		code int
	}{
		{[]string{"lint", "--executor-flavor", "upstream", ctx}, exitLint},
		{[]string{"lint", "--executor-flavor", "upstream", ctx, "--", "--skip-unused-stages"}, 0},
		{[]string{"lint", "--executor-flavor", "fork", ctx}, 0},
		{[]string{"lint", "--executor-flavor", "fork", ctx, "--", "--skip-unused-stages=false"}, exitLint},
	} {
		if r := kanikorun(t, tc.args...); r.code != tc.code {
			t.Errorf("%v: exit %d, want %d\n%s", tc.args[1:], r.code, tc.code, r)
		}
	}
}
