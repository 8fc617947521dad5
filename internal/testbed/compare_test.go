package testbed

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func gzipped(s string) []byte {
	var buf bytes.Buffer
	w, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	w.Write([]byte(s))
	w.Close()
	return buf.Bytes()
}

// TestCompareOutputs checks the comparison the split tests rely on: output
// paths are mapped, a gzip file counts as equal only if its decompressed
// contents are, and anything else that differs is reported.
func TestCompareOutputs(t *testing.T) {
	page := func(out, conf string) string {
		return "see " + out + "/etc/" + conf + " and a line long enough to compress well\n"
	}
	// Each case makes a file's contents from its output's path.
	tests := []struct {
		name      string
		a, b      func(out string) []byte
		equal     bool
		gzipCount int
	}{
		{"same text",
			func(out string) []byte { return []byte("hello " + out) },
			func(out string) []byte { return []byte("hello " + out) },
			true, 0},
		{"different text",
			func(out string) []byte { return []byte("hello " + out) },
			func(out string) []byte { return []byte("hallo " + out) },
			false, 0},
		{"gzip of the same contents",
			func(out string) []byte { return gzipped(page(out, "p.conf")) },
			func(out string) []byte { return gzipped(page(out, "p.conf")) },
			true, 1},
		{"gzip of other contents",
			func(out string) []byte { return gzipped(page(out, "p.conf")) },
			func(out string) []byte { return gzipped(page(out, "q.conf")) },
			false, 0},
		{"gzip against its plain text",
			func(out string) []byte { return gzipped(page(out, "p.conf")) },
			func(out string) []byte { return []byte(page(out, "p.conf")) },
			false, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// Output paths of different names, as store paths of two
			// derivations have different hashes.
			da := filepath.Join(t.TempDir(), "aaaa-p")
			db := filepath.Join(t.TempDir(), "bbbb-p")
			for dir, data := range map[string][]byte{da: tt.a(da), db: tt.b(db)} {
				if err := os.Mkdir(dir, 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(filepath.Join(dir, "f"), data, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			c, err := CompareOutputs(Outputs{"out": da}, Outputs{"out": db})
			if err != nil {
				t.Fatal(err)
			}
			if got := len(c.Differences) == 0; got != tt.equal {
				t.Errorf("equal = %v, want %v (differences: %v)", got, tt.equal, c.Differences)
			}
			if c.GzipOnly != tt.gzipCount {
				t.Errorf("GzipOnly = %d, want %d", c.GzipOnly, tt.gzipCount)
			}
		})
	}
}

// A SHA256SUMS over a file naming the output path is equal when each
// build's list holds its own file's digest; a wrong digest still differs.
func TestCompareDigests(t *testing.T) {
	store := t.TempDir()
	mk := func(t *testing.T, hash, sums string) string {
		dir := filepath.Join(store, hash+"-pkg-1.0")
		conf := "prefix=" + dir + "\n"
		if sums == "" {
			sums = fmt.Sprintf("%x  conf\n", sha256.Sum256([]byte(conf)))
		}
		for name, data := range map[string]string{"conf": conf, "SHA256SUMS": sums} {
			if err := os.MkdirAll(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		return dir
	}
	a := mk(t, strings.Repeat("a", 32), "")
	b := mk(t, strings.Repeat("b", 32), "")
	c, err := CompareOutputs(Outputs{"out": a}, Outputs{"out": b})
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Differences) != 0 || c.DigestOnly != 1 {
		t.Errorf("valid lists: %+v", c)
	}
	// The split build shipped the vanilla stage's digest.
	stale := mk(t, strings.Repeat("c", 32), fmt.Sprintf("%x  conf\n", sha256.Sum256([]byte("prefix="+filepath.Join(store, strings.Repeat("d", 32)+"-pkg-1.0")+"\n"))))
	c, err = CompareOutputs(Outputs{"out": a}, Outputs{"out": stale})
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Differences) != 1 {
		t.Errorf("a stale list compares equal: %+v", c)
	}
}
