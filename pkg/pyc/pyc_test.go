package pyc

import (
	"bytes"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func python(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("python3")
	if err != nil {
		t.Skip("python3 is not installed")
	}
	return p
}

// TestSourceHash compares with importlib.util.source_hash.
func TestSourceHash(t *testing.T) {
	py := python(t)
	for _, src := range []string{"", "x", "1234567", "12345678", "print('/nix/store/0123456789abcdfghijklmnpqrsvwxyz-p')\n" + strings.Repeat("#", 100)} {
		out, err := exec.Command(py, "-c", "import sys, importlib.util as u; print(u.MAGIC_NUMBER.hex(), u.source_hash(sys.argv[1].encode()).hex())", src).Output()
		if err != nil {
			t.Fatal(err)
		}
		f := strings.Fields(string(out))
		m, _ := hex.DecodeString(f[0])
		got := SourceHash([4]byte(m), []byte(src))
		if hex.EncodeToString(got[:]) != f[1] {
			t.Errorf("SourceHash(%q) = %x, python says %s", src, got, f[1])
		}
	}
}

// TestFixImport compiles checked and unchecked hash-based bytecode with
// py_compile, rewrites the source as a restore does, fixes the .pyc and
// has Python import it with --check-hash-based-pycs always: it must use
// the bytecode (python -v says "code object from") and print the new path.
func TestFixImport(t *testing.T) {
	py := python(t)
	for _, mode := range []string{"CHECKED_HASH", "UNCHECKED_HASH"} {
		t.Run(mode, func(t *testing.T) {
			dir := t.TempDir()
			src := filepath.Join(dir, "mod.py")
			old := []byte("PREFIX = '/nix/store/0123456789abcdfghijklmnpqrsvwxyz-p'\nprint(PREFIX)\n")
			if err := os.WriteFile(src, old, 0o644); err != nil {
				t.Fatal(err)
			}
			out, err := exec.Command(py, "-c", "import py_compile as p, sys; print(p.compile(sys.argv[1], invalidation_mode=p.PycInvalidationMode."+mode+"))", src).Output()
			if err != nil {
				t.Fatal(err)
			}
			pycPath := strings.TrimSpace(string(out))
			if Source(pycPath) != src {
				t.Fatalf("Source(%s) = %s, want %s", pycPath, Source(pycPath), src)
			}
			cur := bytes.ReplaceAll(old, []byte("0123456789abcdfghijklmnpqrsvwxyz"), []byte("zyxwvsrqpnmlkjihgfdcba9876543210"))
			if err := os.WriteFile(src, cur, 0o644); err != nil {
				t.Fatal(err)
			}
			h, err := Header(pycPath)
			if err != nil {
				t.Fatal(err)
			}
			changed, err := Fix(h, old, cur, pycPath, src)
			if err != nil || !changed {
				t.Fatalf("Fix = %v, %v", changed, err)
			}
			// The restore rewrites the bytecode's constants too.
			data, _ := os.ReadFile(pycPath)
			data = bytes.ReplaceAll(data, []byte("0123456789abcdfghijklmnpqrsvwxyz"), []byte("zyxwvsrqpnmlkjihgfdcba9876543210"))
			copy(data, h)
			if err := os.WriteFile(pycPath, data, 0o644); err != nil {
				t.Fatal(err)
			}
			// Python must not write a fresh .pyc: make the cache read-only.
			if err := os.Chmod(filepath.Dir(pycPath), 0o555); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { os.Chmod(filepath.Dir(pycPath), 0o755) })
			cmd := exec.Command(py, "-v", "--check-hash-based-pycs", "always", "-c", "import mod")
			cmd.Dir = dir
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			stdout, err := cmd.Output()
			if err != nil {
				t.Fatalf("import: %v\n%s", err, stderr.String())
			}
			if !strings.Contains(string(stdout), "zyxwvsrqpnmlkjihgfdcba9876543210") {
				t.Errorf("printed %q", stdout)
			}
			if !strings.Contains(stderr.String(), "code object from '"+pycPath+"'") {
				t.Errorf("python did not use the fixed bytecode:\n%s", grep(stderr.String(), "mod"))
			}
		})
	}
}

func grep(s, w string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, w) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

func TestFixRefuses(t *testing.T) {
	magic := []byte{0xa7, 0x0d, '\r', '\n'}
	ts := append(append([]byte{}, magic...), make([]byte, 12)...)
	if _, err := Fix(ts, []byte("a"), []byte("b"), "x.pyc", "x.py"); err != ErrNotHashBased {
		t.Errorf("timestamp pyc: %v", err)
	}
	h := append(append([]byte{}, magic...), 3, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8)
	if _, err := Fix(h, []byte("a"), []byte("b"), "x.pyc", "x.py"); err == nil {
		t.Error("a hash of another source was accepted")
	}
}
