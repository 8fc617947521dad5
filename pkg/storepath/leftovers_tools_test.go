package storepath

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// tool runs a program in dir, skipping the test if it is not installed.
func tool(t *testing.T, dir, name string, args ...string) {
	t.Helper()
	if _, err := exec.LookPath(name); err != nil {
		t.Skipf("%s is not installed", name)
	}
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Skipf("%s %v: %v (unsupported here?)\n%s", name, args, err, out)
	}
}

// TestLeftoversMadeByTools makes compressed data with the programs that
// make it in builds and checks that Leftovers finds the old hash inside,
// naming where it is.
func TestLeftoversMadeByTools(t *testing.T) {
	src := "#define PREFIX \"/nix/store/" + hA + "-p/share\"\nconst char *p = PREFIX;\nint main(void) { return p[0] == 0; }\n"
	cases := []struct {
		name   string
		make   func(t *testing.T, dir string) string // returns the file to check
		member string                                // a member where the hash must be reported
		err    string                                // or an error that must be reported
	}{
		{"gcc -gz (zlib debug sections)", func(t *testing.T, dir string) string {
			tool(t, dir, "gcc", "-g3", "-gz", "-c", "-o", "p.o", "p.c")
			return "p.o"
		}, "section .debug_", ""},
		{"objcopy zstd debug sections", func(t *testing.T, dir string) string {
			tool(t, dir, "gcc", "-g3", "-o", "p", "p.c")
			tool(t, dir, "objcopy", "--compress-debug-sections=zstd", "p", "pz")
			return "pz"
		}, "section .debug_", ""},
		{"fat LTO object in a static library", func(t *testing.T, dir string) string {
			lib := "#define PREFIX \"/nix/store/" + hA + "-p/share\"\nconst char *prefix(void) { return PREFIX; }\n"
			if err := os.WriteFile(filepath.Join(dir, "lib.c"), []byte(lib), 0o644); err != nil {
				t.Fatal(err)
			}
			tool(t, dir, "gcc", "-O2", "-flto", "-ffat-lto-objects", "-c", "-o", "p.o", "lib.c")
			tool(t, dir, "ar", "rcs", "libp.a", "p.o")
			return "libp.a"
		}, "p.o!/section .gnu.lto_", ""},
		{"lzma-alone", func(t *testing.T, dir string) string {
			tool(t, dir, "lzma", "-k", "p.c")
			return "p.c.lzma"
		}, "", ""},
		{"lz4 (literals rewritten in place break the content checksum)", func(t *testing.T, dir string) string {
			tool(t, dir, "lz4", "-q", "p.c", "p.c.lz4")
			return "p.c.lz4"
		}, "", "lz4"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			if err := os.WriteFile(filepath.Join(dir, "p.c"), []byte(src), 0o644); err != nil {
				t.Fatal(err)
			}
			path := filepath.Join(dir, c.make(t, dir))
			r := mustRewriter(t, leftoverMap)
			original, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := r.File(path); err != nil {
				t.Fatal(err)
			}
			if _, err := r.Leftovers(path); c.err != "" && (err == nil || !strings.Contains(err.Error(), c.err)) {
				t.Errorf("Leftovers after rewriting: %v; want an error about %s", err, c.err)
			}
			found, err := r.Inside(original)
			if err != nil {
				t.Fatal(err)
			}
			ok := false
			for _, l := range found {
				ok = ok || l.Hash == hA && strings.HasPrefix(l.Member, c.member)
			}
			if !ok {
				t.Errorf("Leftovers = %v; want %s in %q…", found, hA, c.member)
			}
		})
	}
}
