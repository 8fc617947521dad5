package elfid

import (
	"bytes"
	"hash/crc32"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestDebugLink splits debug information off a program as nixpkgs'
// separateDebugInfo does, rewrites the debug file, fixes the link and has
// gdb load the symbols through it (gdb checks the CRC).
func TestDebugLink(t *testing.T) {
	for _, tool := range []string{"gcc", "objcopy", "gdb"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s is not installed", tool)
		}
	}
	dir := t.TempDir()
	run := func(name string, args ...string) string {
		t.Helper()
		cmd := exec.Command(name, args...)
		cmd.Dir = dir
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("%s %v: %v\n%s", name, args, err, out)
		}
		return string(out)
	}
	old, cur := "0123456789abcdfghijklmnpqrsvwxyz", "zyxwvsrqpnmlkjihgfdcba9876543210"
	src := "#define P \"/nix/store/" + old + "-p/share\"\nconst char *p = P;\nint main(void) { return p[0] == 0; }\n"
	if err := os.WriteFile(filepath.Join(dir, "p.c"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	run("gcc", "-g3", "-o", "p", "p.c")
	run("objcopy", "--only-keep-debug", "p", "p.debug")
	run("objcopy", "--strip-debug", "--add-gnu-debuglink=p.debug", "p")

	// Rewrite both files as a restore does.
	for _, f := range []string{"p", "p.debug"} {
		data, _ := os.ReadFile(filepath.Join(dir, f))
		if err := os.WriteFile(filepath.Join(dir, f), bytes.ReplaceAll(data, []byte(old), []byte(cur)), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	gdb := func() string {
		cmd := exec.Command("gdb", "-batch", "-nx", "-ex", "print p", "-ex", "info macro -at main P", "./p")
		cmd.Dir = dir
		out, _ := cmd.CombinedOutput() // gdb's status says nothing here
		return string(out)
	}
	if out := gdb(); !strings.Contains(out, "CRC mismatch") || strings.Contains(out, cur) {
		t.Fatalf("gdb found the symbols before the CRC was fixed; the test proves nothing:\n%s", out)
	}
	l, err := ReadDebugLink(filepath.Join(dir, "p"))
	if err != nil || l == nil || l.Name != "p.debug" {
		t.Fatalf("ReadDebugLink = %+v, %v", l, err)
	}
	data, _ := os.ReadFile(filepath.Join(dir, "p.debug"))
	if err := l.SetCRC(filepath.Join(dir, "p"), crc32.ChecksumIEEE(data)); err != nil {
		t.Fatal(err)
	}
	if out := gdb(); strings.Contains(out, "CRC mismatch") || !strings.Contains(out, cur) {
		t.Errorf("gdb did not accept the debug file after the fix:\n%s", out)
	}
	if l, _ := ReadDebugLink(filepath.Join(dir, "p.debug")); l != nil {
		t.Errorf("p.debug has a debuglink: %+v", l)
	}
}
