package storepath

import (
	"bytes"
	"io"
	"testing"
	"testing/iotest"
)

// fuzzMap has keys that overlap themselves and each other, and an
// ordinary one.
var fuzzMap = map[string]string{hZeros: hOnes, hZeros1: hTwos, hA: hA2}

var fuzzKeys = []string{hZeros, hZeros1, hA}

// fuzzInput turns the fuzzer's bytes into data rich in matches and near
// misses: 0x00-0x9f are literal bytes, 0xa0-0xbf insert a whole key, and
// 0xc0-0xff insert a prefix of a key (a near miss).
func fuzzInput(ops []byte) []byte {
	var b []byte
	for _, op := range ops {
		switch {
		case op < 0xa0:
			b = append(b, op)
		case op < 0xc0:
			b = append(b, fuzzKeys[int(op)%len(fuzzKeys)]...)
		default:
			k := fuzzKeys[int(op>>5)%len(fuzzKeys)]
			b = append(b, k[:int(op)%HashLen]...)
		}
	}
	return b
}

// FuzzWriter checks the Writer, however its input is cut, and Bytes
// against the reference implementation, with and without the two-part
// scan.
func FuzzWriter(f *testing.F) {
	f.Add([]byte{0xa0, '0', 0xa1, 0xa2}, []byte{1, 31, 32, 33})
	f.Add([]byte{'0', 0xa0, 0xff, 0xa1, 0xc5, 0xa2}, []byte{0, 5})
	f.Add([]byte{0xdf, 0xa0, 0xa0, 0xa1, '1'}, []byte{64, 1, 1, 1})
	f.Add([]byte("hello"), []byte{})
	r := mustRewriter(f, fuzzMap)
	defer func(v int) { interleaveMin = v }(interleaveMin)
	f.Fuzz(func(t *testing.T, ops, cuts []byte) {
		in := fuzzInput(ops)
		want, wantN := reference(fuzzMap, string(in))
		for _, im := range []int{1 << 30, 2 + len(cuts)%61} {
			interleaveMin = im
			checkRewrite(t, r, in, cuts, want, wantN)
		}
	})
}

func checkRewrite(t *testing.T, r *Rewriter, in, cuts []byte, want string, wantN int) {
	b := bytes.Clone(in)
	if n := r.ReplaceBytes(b); string(b) != want || n != wantN {
		t.Fatalf("Bytes(%q) = %q, %d; want %q, %d", in, b, n, want, wantN)
	}

	var out bytes.Buffer
	w := r.Writer(&out)
	rest := in
	for i := 0; len(rest) > 0; i++ {
		c := len(rest)
		if i < len(cuts) {
			c = min(int(cuts[i]), c)
		}
		orig := bytes.Clone(rest[:c])
		if n, err := w.Write(rest[:c]); n != c || err != nil {
			t.Fatalf("Write = %d, %v", n, err)
		}
		if !bytes.Equal(orig, rest[:c]) {
			t.Fatal("Write modified its argument")
		}
		rest = rest[c:]
		if held := len(in) - len(rest) - out.Len(); held < 0 || held >= HashLen {
			t.Fatalf("%d bytes held back", held)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if out.String() != want || w.Count() != wantN {
		t.Fatalf("Writer(%q) cut by %v = %q, %d; want %q, %d", in, cuts, out.String(), w.Count(), want, wantN)
	}

	// ReadFrom with short reads.
	out.Reset()
	w = r.Writer(&out)
	if _, err := io.Copy(w, iotest.HalfReader(bytes.NewReader(in))); err != nil {
		t.Fatal(err)
	}
	w.Close()
	if out.String() != want {
		t.Fatalf("ReadFrom(%q) = %q, want %q", in, out.String(), want)
	}
}
