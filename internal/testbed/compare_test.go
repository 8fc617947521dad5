package testbed

import (
	"bytes"
	"compress/gzip"
	"os"
	"path/filepath"
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
