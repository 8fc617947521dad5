package storepath

import (
	"archive/zip"
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/klauspost/compress/zstd"
)

type zeroReader struct{}

func (zeroReader) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

// A bomb: few bytes that decompress to many.
func TestLeftoversBudget(t *testing.T) {
	zeros := make([]byte, 64<<20)
	for _, tc := range []struct {
		name string
		data func(t *testing.T) []byte
	}{
		{"gzip", func(t *testing.T) []byte { return gzipBytes(t, zeros, 9) }},
		{"zstd in zip", func(t *testing.T) []byte {
			return zipBytes(t, zipEntry{"a.zst", zstdBytes(t, zeros), zip.Store})
		}},
		{"zip in gzip", func(t *testing.T) []byte {
			return gzipBytes(t, zipBytes(t, zipEntry{"a", zeros, zip.Deflate}), 9)
		}},
		{"many members", func(t *testing.T) []byte {
			var es []zipEntry
			for range 5000 {
				es = append(es, zipEntry{"e", nil, zip.Deflate})
			}
			return zipBytes(t, es...)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := mustRewriter(t, leftoverMap).WithBudget(NewBudget(1 << 20))
			_, err := r.Inside(tc.data(t))
			var be *BudgetError
			if !errors.As(err, &be) || be.Limit != 1<<20 {
				t.Fatalf("Inside = %v, want a BudgetError of 1 MiB", err)
			}
		})
	}
	t.Run("shared", func(t *testing.T) {
		// Two calls that share a Budget share its bound.
		r := mustRewriter(t, leftoverMap).WithBudget(NewBudget(3 << 20))
		data := gzipBytes(t, make([]byte, 2<<20), 9)
		if _, err := r.Inside(data); err != nil {
			t.Fatalf("first call: %v", err)
		}
		if _, err := r.Inside(data); err == nil {
			t.Fatal("second call: no error past the shared bound")
		}
	})
	t.Run("default", func(t *testing.T) {
		// Without a Budget, a file gets ScanBound of its size.
		p := filepath.Join(t.TempDir(), "bomb.zst")
		f, err := os.Create(p)
		if err != nil {
			t.Fatal(err)
		}
		enc, _ := zstd.NewWriter(f)
		if _, err := io.Copy(enc, io.LimitReader(zeroReader{}, 2*ScanBound(0))); err != nil {
			t.Fatal(err)
		}
		if err := enc.Close(); err != nil {
			t.Fatal(err)
		}
		f.Close()
		_, err = mustRewriter(t, leftoverMap).Leftovers(p)
		var be *BudgetError
		if !errors.As(err, &be) {
			t.Fatalf("Leftovers = %v, want a BudgetError", err)
		}
	})
}

// Data that merely starts with a zip signature is plain data.
func TestLeftoversNotZip(t *testing.T) {
	junk := append([]byte("PK\x03\x04"), bytes.Repeat([]byte{0xee}, 100)...)
	inner := append(junk, payload...)
	for name, data := range map[string][]byte{
		"file":         junk,
		"in gzip":      gzipBytes(t, inner, 9),
		"stored first": append([]byte("PK\x03\x04\x14\x00\x00\x00\x00\x00"), payload...),
	} {
		t.Run(name, func(t *testing.T) {
			found, err := mustRewriter(t, leftoverMap).Inside(data)
			if err != nil {
				t.Fatal(err)
			}
			if name == "in gzip" && !reflect.DeepEqual(found, []Leftover{{hA, ""}}) {
				t.Errorf("Leftovers = %v, want the hash in the gzip's content", found)
			}
		})
	}
}

// A zip inside compressed data is streamed: never written to a temporary
// file, and a member stored with a data descriptor (as Go's archive/zip
// writes one) ends at the right descriptor even when its data holds the
// descriptor's signature.
func TestLeftoversZipStreamed(t *testing.T) {
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	tricky := append([]byte("PK\x07\x08 not the end PK\x07\x08\x00\x00\x00\x00\x05\x00\x00\x00\x05\x00\x00\x00"), payload...)
	inner := zipBytes(t,
		zipEntry{"x/Y.class", payload, zip.Deflate},
		zipEntry{"s", tricky, zip.Store},
		zipEntry{"d/", nil, zip.Store},
		zipEntry{"nix/store/" + hB, nil, zip.Store})
	found, err := mustRewriter(t, leftoverMap).Inside(gzipBytes(t, inner, 9))
	if err != nil {
		t.Fatal(err)
	}
	want := []Leftover{{hA, "!/x/Y.class"}, {hA, "!/s"}, {hB, ""}}
	if !reflect.DeepEqual(found, want) {
		t.Errorf("Leftovers = %v, want %v", found, want)
	}
	if es, _ := os.ReadDir(tmp); len(es) > 0 {
		t.Errorf("temporary files left: %v", es)
	}
	// A damaged member after the first fails.
	bad := bytes.Replace(inner, tricky[:30], append([]byte("PK\x07\x08 not the end PK\x07\x08"), make([]byte, 7)...), 1)
	if _, err := mustRewriter(t, leftoverMap).Inside(gzipBytes(t, bad, 9)); err == nil {
		t.Error("a damaged stored member: no error")
	}
}

// Names are data: escaped and shortened in what Leftovers returns.
func TestLeftoversMemberNames(t *testing.T) {
	long := string(bytes.Repeat([]byte("n"), 500))
	data := zipBytes(t, zipEntry{"evil\x1b[2J\n" + long + ".gz", gzipBytes(t, payload, 9), zip.Store})
	found, err := mustRewriter(t, leftoverMap).Inside(data)
	if err != nil || len(found) != 1 {
		t.Fatalf("Inside = %v, %v", found, err)
	}
	if m := found[0].Member; bytes.ContainsAny([]byte(m), "\x1b\n") || len(m) > 260 {
		t.Errorf("member name not escaped or shortened: %q", m)
	}
}

// FuzzInside looks into forged compressed data and archives: it must end,
// within its Budget, with leftovers or an error, never a panic.
func FuzzInside(f *testing.F) {
	t := &testing.T{}
	zeros := make([]byte, 4<<10)
	for _, seed := range [][]byte{
		gzipBytes(t, payload, 9),
		zstdBytes(t, payload),
		zipBytes(t, zipEntry{"a", payload, zip.Deflate}, zipEntry{"b", payload, zip.Store}),
		gzipBytes(t, zipBytes(t, zipEntry{"x/Y.class", payload, zip.Deflate}, zipEntry{"s", payload, zip.Store}), 1),
		zipBytes(t, zipEntry{"in.jar", zipBytes(t, zipEntry{"a", zeros, zip.Deflate}), zip.Store}),
		gzipBytes(t, append([]byte("PK\x03\x04"), payload...), 1),
		append([]byte("\x89PNG\r\n\x1a\n"), payload...),
	} {
		f.Add(seed)
	}
	r := mustRewriter(f, leftoverMap)
	f.Fuzz(func(t *testing.T, data []byte) {
		const limit = 8 << 20
		found, err := r.WithBudget(NewBudget(limit)).Inside(data)
		for _, l := range found {
			if len(l.Member) > 4*260 {
				t.Fatalf("member name of %d bytes", len(l.Member))
			}
		}
		_ = err
	})
}
