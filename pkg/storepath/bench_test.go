package storepath

import (
	"bytes"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync"
	"testing"
)

const benchSize = 64 << 20

var benchData = sync.OnceValues(func() ([]byte, []string) {
	return makeBenchData(benchSize)
})

// makeBenchData returns about size bytes that look like a build tree:
// binary segments (zero runs, random bytes, embedded strings), text
// segments (code-like words, store paths of other packages), and here and
// there one of the returned old hashes (about one per 64 KiB).
func makeBenchData(size int) ([]byte, []string) {
	rng := rand.New(rand.NewPCG(1, 2))
	var olds, others []string
	for i := range 8 {
		olds = append(olds, testHash(fmt.Sprint("bench-old", i)))
	}
	for i := range 64 {
		others = append(others, testHash(fmt.Sprint("bench-other", i)))
	}
	words := []string{"static", "int", "return", "if", "else", "for", "buffer", "size_t", "char", "const",
		"config", "include", "define", "lib", "usr", "share", "python3.12", "site-packages", "libc.so.6",
		"__init__", "self", "import", "from", "def", "class", "0x1f", "42", "NULL", "struct", "void",
		"install", "prefix", "makefile", "cc", "-O2", "-Wall", "printf", "malloc", "free", "argv"}
	storePath := func(h string) string { return "/nix/store/" + h + "-" + words[rng.IntN(len(words))] + "-1.2.3" }

	b := make([]byte, 0, size+1<<16)
	for len(b) < size {
		segEnd := len(b) + 4<<10 + rng.IntN(60<<10)
		if rng.IntN(2) == 0 { // binary
			for len(b) < segEnd {
				switch x := rng.IntN(100); {
				case x < 30:
					b = append(b, make([]byte, 1+rng.IntN(64))...)
				case x < 85:
					for range 1 + rng.IntN(64) {
						b = append(b, byte(rng.Uint32()))
					}
				case x < 99:
					b = append(b, words[rng.IntN(len(words))]...)
					b = append(b, 0)
				default:
					b = append(b, storePath(others[rng.IntN(len(others))])...)
					b = append(b, 0)
				}
			}
		} else { // text
			for len(b) < segEnd {
				for range 1 + rng.IntN(12) {
					b = append(b, words[rng.IntN(len(words))]...)
					b = append(b, " \t(),;="[rng.IntN(7)])
				}
				if rng.IntN(8) == 0 {
					b = append(b, storePath(others[rng.IntN(len(others))])...)
				}
				b = append(b, '\n')
			}
		}
		b = append(b, storePath(olds[rng.IntN(len(olds))])...)
	}
	return b, olds
}

// BenchmarkRewrite measures the search and the rewrite on 64 MiB of
// build-tree-like data with about a thousand old hashes among many other
// store paths, next to baselines from the bytes package.
func BenchmarkRewrite(b *testing.B) {
	data, olds := benchData()
	maps := func(n int) (fwd, back map[string]string) {
		fwd, back = map[string]string{}, map[string]string{}
		for i, o := range olds[:n] {
			nw := testHash(fmt.Sprint("bench-new", i))
			fwd[o], back[nw] = nw, o
		}
		return fwd, back
	}

	for _, keys := range []int{1, 8} {
		fwd, back := maps(keys)
		rf, rb := mustRewriter(b, fwd), mustRewriter(b, back)
		buf := bytes.Clone(data)
		b.Run(fmt.Sprintf("Bytes/keys=%d", keys), func(b *testing.B) {
			b.SetBytes(int64(len(buf)))
			n := 0
			for i := 0; b.Loop(); i++ {
				// Alternate directions so that every pass replaces.
				if i%2 == 0 {
					n = rf.ReplaceBytes(buf)
				} else {
					rb.ReplaceBytes(buf)
				}
			}
			b.ReportMetric(float64(n), "hashes")
		})
		b.Run(fmt.Sprintf("Writer/keys=%d", keys), func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			for b.Loop() {
				w := rf.Writer(io.Discard)
				io.Copy(w, bytes.NewReader(data))
				w.Close()
			}
		})
		b.Run(fmt.Sprintf("File/keys=%d", keys), func(b *testing.B) {
			path := filepath.Join(b.TempDir(), "f")
			if err := os.WriteFile(path, data, 0o644); err != nil {
				b.Fatal(err)
			}
			b.SetBytes(int64(len(data)))
			for i := 0; b.Loop(); i++ {
				r := rf
				if i%2 == 1 {
					r = rb
				}
				if _, err := r.File(path); err != nil {
					b.Fatal(err)
				}
			}
		})
	}

	// Searching for hashes that are not there: the cost of a file that
	// needs no rewrite.
	none := map[string]string{}
	for i := range 8 {
		none[testHash(fmt.Sprint("absent", i))] = testHash(fmt.Sprint("new", i))
	}
	rn := mustRewriter(b, none)
	b.Run("Index/keys=8/absent", func(b *testing.B) {
		b.SetBytes(int64(len(data)))
		for b.Loop() {
			if s, _ := rn.Index(data); s >= 0 {
				b.Fatal("found")
			}
		}
	})

	// Baselines.
	b.Run("bytes.Count/newline", func(b *testing.B) {
		b.SetBytes(int64(len(data)))
		for b.Loop() {
			bytes.Count(data, []byte{'\n'})
		}
	})
	b.Run("bytes.Count/one-hash", func(b *testing.B) {
		b.SetBytes(int64(len(data)))
		key := []byte(olds[0])
		for b.Loop() {
			bytes.Count(data, key)
		}
	})
	b.Run("bytes.Index/8-hashes-8-passes", func(b *testing.B) {
		b.SetBytes(int64(len(data)))
		for b.Loop() {
			for k := range none {
				bytes.Index(data, []byte(k))
			}
		}
	})
}
