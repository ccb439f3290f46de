package main

import (
	"os/exec"
	"path/filepath"
	"testing"
)

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
