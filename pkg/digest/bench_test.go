package digest

import (
	"bytes"
	"fmt"
	"testing"
)

// BenchmarkBytes scans 1 MiB of object-file-like text, rich in runs of
// digest characters (store paths), for the digests of 2,000 changed files.
func BenchmarkBytes(b *testing.B) {
	var changes []Change
	for i := range 2000 {
		changes = append(changes, Change{Old: Of([]byte(fmt.Sprint("old", i))), New: Of([]byte(fmt.Sprint("new", i)))})
	}
	r := New(changes)
	data := bytes.Repeat([]byte("/nix/store/0123456789abcdfghijklmnpqrsvwxyz-pkg-1.0/lib \x00\x01 sha256-"), 1<<20/64)
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if n := r.Bytes(data); n != 0 {
			b.Fatal(n)
		}
	}
}
