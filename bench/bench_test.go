package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestSmoke runs the bench on its smallest workload, once, and checks that
// it writes a table and a plot. It asserts nothing about times.
func TestSmoke(t *testing.T) {
	out := t.TempDir()
	if err := run(options{smoke: true, reps: 1, out: out}); err != nil {
		t.Fatal(err)
	}
	md, err := os.ReadFile(filepath.Join(out, "results.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"## make-baked", "| clean build |", "| postFixup changed |", "| wrapping dependency changed |", "-unwrapped + symlinkJoin", "P4 checkpoint / build tree", "![rebuild times](results.png)"} {
		if !strings.Contains(string(md), want) {
			t.Errorf("results.md lacks %q:\n%s", want, md)
		}
	}
	png, err := os.ReadFile(filepath.Join(out, "results.png"))
	if err != nil || !strings.HasPrefix(string(png), "\x89PNG") {
		t.Errorf("results.png is not a PNG: %v", err)
	}
}

// A subset of the bench never writes over the committed results.
func TestDefaultOut(t *testing.T) {
	if got := defaultOut("/r/bench/results", false); got != "/r/bench/results" {
		t.Errorf("full run: %s", got)
	}
	if got := defaultOut("/r/bench/results", true); got == "/r/bench/results" || !strings.HasPrefix(got, os.TempDir()) {
		t.Errorf("subset: %s", got)
	}
}
