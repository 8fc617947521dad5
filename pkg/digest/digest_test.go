package digest

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"hash/crc32"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func TestReplacer(t *testing.T) {
	oldData, newData := []byte("prefix=/nix/store/aaaa\n"), []byte("prefix=/nix/store/bbbb\n")
	o, n := sha256.Sum256(oldData), sha256.Sum256(newData)
	oc, nc := crc32.ChecksumIEEE(oldData), crc32.ChecksumIEEE(newData)
	r := New([]Change{{Of(oldData), Of(newData)}})
	cases := []struct{ name, in, want string }{
		{"sha256sum", hex.EncodeToString(o[:]) + "  lib/x\n", hex.EncodeToString(n[:]) + "  lib/x\n"},
		{"RECORD", "x.py,sha256=" + base64.RawURLEncoding.EncodeToString(o[:]) + ",23\n", "x.py,sha256=" + base64.RawURLEncoding.EncodeToString(n[:]) + ",23\n"},
		{"SRI", `"sha256-` + base64.StdEncoding.EncodeToString(o[:]) + `"`, `"sha256-` + base64.StdEncoding.EncodeToString(n[:]) + `"`},
		{"upper", strings.ToUpper(hex.EncodeToString(o[:])), strings.ToUpper(hex.EncodeToString(n[:]))},
		{"crc32", fmt.Sprintf("crc=%08x;", oc), fmt.Sprintf("crc=%08x;", nc)},
		{"other digest kept", strings.Repeat("ab", 32), strings.Repeat("ab", 32)},
		{"truncated kept", hex.EncodeToString(o[:])[:20], hex.EncodeToString(o[:])[:20]},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			b := []byte(c.in)
			r.Bytes(b)
			if string(b) != c.want {
				t.Errorf("got %q, want %q", b, c.want)
			}
		})
	}
}

// TestSha256sumCheck writes a SHA256SUMS with the real sha256sum, changes
// the file it covers, replaces the digest and lets sha256sum -c judge.
func TestSha256sumCheck(t *testing.T) {
	for _, tool := range []string{"sha256sum", "md5sum", "sha1sum", "sha512sum"} {
		t.Run(tool, func(t *testing.T) {
			if _, err := exec.LookPath(tool); err != nil {
				t.Skipf("%s is not installed", tool)
			}
			dir := t.TempDir()
			f := filepath.Join(dir, "config.h")
			oldData := []byte("#define PREFIX \"/nix/store/0123456789abcdfghijklmnpqrsvwxyz-x\"\n")
			if err := os.WriteFile(f, oldData, 0o644); err != nil {
				t.Fatal(err)
			}
			sum := exec.Command(tool, "config.h")
			sum.Dir = dir
			sums, err := sum.Output()
			if err != nil {
				t.Fatal(err)
			}
			newData := []byte(strings.ReplaceAll(string(oldData), "0123456789abcdfghijklmnpqrsvwxyz", "zyxwvsrqpnmlkjihgfdcba9876543210"))
			if err := os.WriteFile(f, newData, 0o644); err != nil {
				t.Fatal(err)
			}
			if n := New([]Change{{Of(oldData), Of(newData)}}).Bytes(sums); n != 1 {
				t.Fatalf("replaced %d digests, want 1", n)
			}
			if err := os.WriteFile(filepath.Join(dir, "SUMS"), sums, 0o644); err != nil {
				t.Fatal(err)
			}
			cmd := exec.Command(tool, "-c", "SUMS")
			cmd.Dir = dir
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("%s -c: %v\n%s", tool, err, out)
			}
		})
	}
}

func TestConflictingChangesDropped(t *testing.T) {
	a := Of([]byte("a"))
	r := New([]Change{{a, Of([]byte("b"))}, {a, Of([]byte("c"))}})
	if r.Len() != 0 {
		t.Errorf("%d encodings kept for an old content changed two ways", r.Len())
	}
}

// An old digest whose standard and URL-safe base64 are one text, a new one
// whose are not: a RECORD ("sha256=") gets the URL-safe new digest, an
// SRI string ("sha256-") the standard one.
func TestAmbiguousBase64(t *testing.T) {
	var old, cur Sums
	found := false
	for i := 0; i < 10000 && !found; i++ {
		old = Of([]byte(fmt.Sprint("old ", i)))
		o := base64.RawStdEncoding.EncodeToString(old.SHA256[:])
		for j := 0; j < 100; j++ {
			cur = Of([]byte(fmt.Sprint("new ", i, j)))
			n := base64.RawStdEncoding.EncodeToString(cur.SHA256[:])
			if !strings.ContainsAny(o, "+/") && strings.ContainsAny(n, "+/") {
				found = true
				break
			}
		}
	}
	if !found {
		t.Fatal("no such pair found")
	}
	r := New([]Change{{Old: old, New: cur}})
	text := "f,sha256=" + base64.RawURLEncoding.EncodeToString(old.SHA256[:]) + ",3\nsha256-" + base64.StdEncoding.EncodeToString(old.SHA256[:]) + "\n"
	b := []byte(text)
	if n := r.Bytes(b); n != 2 {
		t.Fatalf("replaced %d digests, want 2", n)
	}
	want := "f,sha256=" + base64.RawURLEncoding.EncodeToString(cur.SHA256[:]) + ",3\nsha256-" + base64.StdEncoding.EncodeToString(cur.SHA256[:]) + "\n"
	if string(b) != want {
		t.Errorf("got %q, want %q", b, want)
	}
}
