package pngcrc

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

const (
	oldPath = "/nix/store/0123456789abcdfghijklmnpqrsvwxyz-pkg"
	newPath = "/nix/store/zyxwvsrqpnmlkjihgfdcba9876543210-pkg"
)

// writePNG has Python's zlib write a 2x2 PNG with a tEXt chunk, an
// uncompressed iTXt chunk and a private chunk naming oldPath.
func writePNG(t *testing.T) []byte {
	t.Helper()
	if _, err := exec.LookPath("python3"); err != nil {
		t.Skip("python3 is not installed")
	}
	out, err := exec.Command("python3", "-c", `
import struct, sys, zlib
def chunk(t, d):
    return struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d))
p = b"`+oldPath+`"
ihdr = struct.pack(">IIBBBBB", 2, 2, 8, 0, 0, 0, 0)
raw = b"\x00\x10\x20\x00\x30\x40"
sys.stdout.buffer.write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) +
    chunk(b"tEXt", b"Comment\x00made in " + p) +
    chunk(b"iTXt", b"Source\x00\x00\x00\x00\x00" + p + b"/share") +
    chunk(b"prVt", p) +
    chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))
`).Output()
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// pngcheck runs pngcheck, or Python's own CRC check when it is missing.
func check(t *testing.T, data []byte) error {
	t.Helper()
	f := filepath.Join(t.TempDir(), "x.png")
	if err := os.WriteFile(f, data, 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("pngcheck", f)
	if _, err := exec.LookPath("pngcheck"); err != nil {
		cmd = exec.Command("python3", "-c", `
import struct, sys, zlib
d = open(sys.argv[1], "rb").read(); o = 8
while o < len(d):
    n, = struct.unpack(">I", d[o:o+4]); body = d[o+4:o+8+n]
    if struct.unpack(">I", d[o+8+n:o+12+n])[0] != zlib.crc32(body): sys.exit("CRC error in " + body[:4].decode())
    o += 12 + n`, f)
	}
	out, err := cmd.CombinedOutput()
	if err != nil {
		return errors.New(string(out))
	}
	return nil
}

func TestFix(t *testing.T) {
	orig := writePNG(t)
	if err := check(t, orig); err != nil {
		t.Fatalf("the original is not valid: %v", err)
	}
	cur := bytes.ReplaceAll(orig, []byte(oldPath), []byte(newPath))
	if check(t, cur) == nil {
		t.Fatal("the checker accepts stale CRCs: the test proves nothing")
	}
	n, err := Fix(cur, orig)
	if err != nil || n != 3 {
		t.Fatalf("Fix = %d, %v; want 3 chunks (tEXt, iTXt, prVt)", n, err)
	}
	if err := check(t, cur); err != nil {
		t.Errorf("after Fix: %v", err)
	}
	if _, err := exec.LookPath("identify"); err == nil {
		f := filepath.Join(t.TempDir(), "y.png")
		os.WriteFile(f, cur, 0o644)
		if out, err := exec.Command("identify", "-verbose", f).CombinedOutput(); err != nil || !bytes.Contains(out, []byte(newPath)) {
			t.Errorf("identify: %v\n%s", err, out)
		}
	}
	if n, err := Fix(cur, cur); n != 0 || err != nil {
		t.Errorf("Fix of an unchanged file = %d, %v", n, err)
	}
}

// A chunk whose CRC was wrong before the rewrite is left as it was.
func TestFixKeepsBadCRC(t *testing.T) {
	orig := writePNG(t)
	i := bytes.Index(orig, []byte("prVt")) + 4 + len(oldPath)
	orig[i] ^= 0xff
	cur := bytes.ReplaceAll(orig, []byte(oldPath), []byte(newPath))
	n, err := Fix(cur, orig)
	if err != nil || n != 2 {
		t.Errorf("Fix = %d, %v; want 2", n, err)
	}
	if cur[i] != orig[i] {
		t.Error("the bad CRC was changed")
	}
}

func TestFixErrors(t *testing.T) {
	orig := writePNG(t)
	var fe *FormatError
	for _, tc := range []struct {
		name      string
		cur, orig []byte
		want      any
	}{
		{"length", orig[:10], orig, ErrLength},
		{"not png", []byte("hello"), []byte("hello"), &fe},
		{"truncated", orig[:len(orig)-5], orig[:len(orig)-5], &fe},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Fix(bytes.Clone(tc.cur), tc.orig)
			switch w := tc.want.(type) {
			case error:
				if !errors.Is(err, w) {
					t.Errorf("err = %v, want %v", err, w)
				}
			default:
				if !errors.As(err, w) {
					t.Errorf("err = %v, want a *FormatError", err)
				}
			}
		})
	}
}
