package storepath

import (
	"bytes"
	"errors"
	"io"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

var (
	hA  = testHash("a")
	hA2 = testHash("a2")
	hB  = testHash("b")
	hB2 = testHash("b2")
	hC  = testHash("c")
	// Periodic keys whose occurrences can overlap themselves and each other.
	hZeros  = strings.Repeat("0", HashLen)
	hZeros1 = strings.Repeat("0", HashLen-1) + "1"
	hOnes   = strings.Repeat("1", HashLen)
	hTwos   = strings.Repeat("2", HashLen)
)

func TestIsHash(t *testing.T) {
	for _, tc := range []struct {
		s    string
		want bool
	}{
		{hA, true},
		{"0123456789abcdfghijklmnpqrsvwxyz", true},
		{"", false},
		{hA[:31], false},
		{hA + "0", false},
		{"e" + hA[1:], false},
		{"o" + hA[1:], false},
		{"u" + hA[1:], false},
		{"t" + hA[1:], false},
		{strings.ToUpper(hA[:1]) + hA[1:], strings.ToUpper(hA[:1]) == hA[:1]},
		{"-" + hA[1:], false},
		{hA[:31] + "\x00", false},
		{hA[:31] + "\xff", false},
	} {
		if got := IsHash(tc.s); got != tc.want {
			t.Errorf("IsHash(%q) = %v, want %v", tc.s, got, tc.want)
		}
	}
}

func TestNewRewriterInvalid(t *testing.T) {
	for _, tc := range []struct {
		name string
		m    map[string]string
		bad  string
	}{
		{"short old", map[string]string{hA[:31]: hB}, hA[:31]},
		{"long new", map[string]string{hA: hB + "0"}, hB + "0"},
		{"e in old", map[string]string{"e" + hA[1:]: hB}, "e" + hA[1:]},
		{"upper new", map[string]string{hA: "A" + hB[1:]}, "A" + hB[1:]},
		{"store path", map[string]string{"/nix/store/" + hA: hB}, "/nix/store/" + hA},
		{"empty new", map[string]string{hA: ""}, `""`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, err := NewRewriter(tc.m)
			if err == nil {
				t.Fatalf("NewRewriter(%v) = %v, nil; want an error", tc.m, r)
			}
			if !strings.Contains(err.Error(), tc.bad) {
				t.Errorf("error %q does not name %q", err, tc.bad)
			}
		})
	}
}

func TestEmptyRewriter(t *testing.T) {
	for _, m := range []map[string]string{nil, {}, {hA: hA}} {
		r := mustRewriter(t, m)
		if r.Len() != 0 {
			t.Errorf("Len() = %d, want 0", r.Len())
		}
		in := "x/nix/store/" + hA + "-y"
		b := []byte(in)
		if n := r.ReplaceBytes(b); n != 0 || string(b) != in {
			t.Errorf("Bytes changed %q to %q (%d)", in, b, n)
		}
		var out bytes.Buffer
		w := r.Writer(&out)
		io.WriteString(w, in)
		if out.String() != in {
			t.Errorf("an empty Rewriter's Writer held back %q", in[out.Len():])
		}
		if err := w.Close(); err != nil || out.String() != in {
			t.Errorf("Writer: %q, %v", out.String(), err)
		}
	}
	var zero Rewriter
	if s, n := zero.Replace(hA); s != hA || n != 0 {
		t.Errorf("zero Rewriter changed %q to %q", hA, s)
	}
}

type rewriteCase struct {
	name  string
	m     map[string]string
	in    string
	want  string
	count int
}

func rewriteCases() []rewriteCase {
	ab := map[string]string{hA: hA2}
	two := map[string]string{hA: hA2, hB: hB2}
	periodic := map[string]string{hZeros: hOnes, hZeros1: hTwos}
	return []rewriteCase{
		{"empty input", ab, "", "", 0},
		{"no match", ab, "hello, world\n/nix/store/" + hC + "-c\n", "hello, world\n/nix/store/" + hC + "-c\n", 0},
		{"exactly the hash", ab, hA, hA2, 1},
		{"at start", ab, hA + "-name/bin", hA2 + "-name/bin", 1},
		{"at end", ab, "/nix/store/" + hA, "/nix/store/" + hA2, 1},
		{"store path", ab, "exec /nix/store/" + hA + "-bash/bin/bash \"$@\"", "exec /nix/store/" + hA2 + "-bash/bin/bash \"$@\"", 1},
		{"bare in an alphabet run", ab, "xyz" + hA + "abc", "xyz" + hA2 + "abc", 1},
		{"adjacent", ab, hA + hA + hA, hA2 + hA2 + hA2, 3},
		{"binary around", ab, "\x00\xff" + hA + "\x00", "\x00\xff" + hA2 + "\x00", 1},
		{"two keys", two, hB + ":" + hA + ":" + hB, hB2 + ":" + hA2 + ":" + hB2, 3},
		{"new is not rescanned", map[string]string{hA: hB, hB: hC}, hA + hB, hB + hC, 2},
		{"swap", map[string]string{hA: hB, hB: hA}, hA + "/" + hB, hB + "/" + hA, 2},
		{"prefix only", ab, hA[:31], hA[:31], 0},
		{"near miss last char", ab, hA[:31] + "_" + hA[1:], hA[:31] + "_" + hA[1:], 0},
		{"near miss then match", ab, hA[:31] + hA, hA[:31] + hA2, 1},
		{"near miss first char", ab, "_" + hA[1:] + hA[:1], "_" + hA[1:] + hA[:1], 0},
		{"truncated twice", ab, hA[:16] + hA[:31] + hA[1:], hA[:16] + hA[:31] + hA[1:], 0},
		{"periodic exact", periodic, hZeros, hOnes, 1},
		{"periodic leftmost wins", periodic, "0" + hZeros, hOnes + "0", 1},
		{"periodic overlap other key", periodic, hZeros + "1", hOnes + "1", 1},
		{"periodic leftmost beats other key", periodic, "0" + hZeros1, hOnes + "1", 1},
		{"periodic other key", periodic, "1" + hZeros1, "1" + hTwos, 1},
		{"periodic non-overlapping", periodic, strings.Repeat("0", 70), hOnes + hOnes + "000000", 2},
		{"periodic long run", periodic, strings.Repeat("0", 63) + "1", hOnes + hTwos, 2},
	}
}

func TestRewrite(t *testing.T) {
	for _, tc := range rewriteCases() {
		t.Run(tc.name, func(t *testing.T) {
			if got, n := reference(tc.m, tc.in); got != tc.want || n != tc.count {
				t.Fatalf("bad case: reference gives %q, %d", got, n)
			}
			r := mustRewriter(t, tc.m)

			b := []byte(tc.in)
			if n := r.ReplaceBytes(b); string(b) != tc.want || n != tc.count {
				t.Errorf("Bytes: %q, %d; want %q, %d", b, n, tc.want, tc.count)
			}
			if s, n := r.Replace(tc.in); s != tc.want || n != tc.count {
				t.Errorf("String: %q, %d; want %q, %d", s, n, tc.want, tc.count)
			}
			var pairs []string
			for o, n := range tc.m {
				pairs = append(pairs, o, n)
			}
			if s := strings.NewReplacer(pairs...).Replace(tc.in); s != tc.want {
				t.Errorf("strings.Replacer disagrees: %q", s)
			}

			// One Write, then every split into two Writes.
			for i := 0; i <= len(tc.in); i++ {
				got, n := writeChunks(t, r, tc.in[:i], tc.in[i:])
				if got != tc.want || n != tc.count {
					t.Fatalf("Writer split at %d: %q, %d; want %q, %d", i, got, n, tc.want, tc.count)
				}
			}
			// One byte at a time.
			var chunks []string
			for i := range len(tc.in) {
				chunks = append(chunks, tc.in[i:i+1])
			}
			if got, n := writeChunks(t, r, chunks...); got != tc.want || n != tc.count {
				t.Errorf("Writer byte by byte: %q, %d; want %q, %d", got, n, tc.want, tc.count)
			}
			// Index finds the first match.
			if s, h := r.Index([]byte(tc.in)); tc.count == 0 && s != -1 || tc.count > 0 && (s < 0 || tc.in[s:s+HashLen] != h || tc.m[h] == "") {
				t.Errorf("Index = %d, %q", s, h)
			}
		})
	}
}

// writeChunks writes chunks through a Writer, checking that it never holds
// back more than HashLen-1 bytes, and returns what came out.
func writeChunks(t *testing.T, r *Rewriter, chunks ...string) (string, int) {
	t.Helper()
	var out bytes.Buffer
	w := r.Writer(&out)
	written := 0
	for _, c := range chunks {
		n, err := w.Write([]byte(c))
		if err != nil || n != len(c) {
			t.Fatalf("Write(%q) = %d, %v", c, n, err)
		}
		written += n
		if held := written - out.Len(); held < 0 || held > r.holdBack() {
			t.Fatalf("after writing %d bytes, %d are held back", written, held)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if out.Len() != written {
		t.Fatalf("wrote %d bytes, got %d", written, out.Len())
	}
	return out.String(), w.Count()
}

func TestManyKeys(t *testing.T) {
	// More keys than maxLoopKeys takes the map path.
	m := map[string]string{}
	var in, want strings.Builder
	for i := range 3 * maxLoopKeys {
		o, n := testHash("old"+string(rune('A'+i))), testHash("new"+string(rune('A'+i)))
		m[o] = n
		in.WriteString("/nix/store/" + o + "-x\n")
		want.WriteString("/nix/store/" + n + "-x\n")
	}
	in.WriteString(hA)
	want.WriteString(hA)
	r := mustRewriter(t, m)
	if r.Len() != 3*maxLoopKeys {
		t.Fatalf("Len() = %d", r.Len())
	}
	got, n := r.Replace(in.String())
	if got != want.String() || n != 3*maxLoopKeys {
		t.Errorf("got %q, %d", got, n)
	}
	if got, n := writeChunks(t, r, in.String()[:100], in.String()[100:]); got != want.String() || n != 3*maxLoopKeys {
		t.Errorf("Writer: %q, %d", got, n)
	}
}

func TestWriterLarge(t *testing.T) {
	// Hashes across the Writer's internal chunk boundaries, through
	// io.Copy (ReadFrom) and through large Writes.
	r := mustRewriter(t, map[string]string{hA: hA2})
	in := make([]byte, 3*writerChunk+1000)
	for i := range in {
		in[i] = Alphabet[i*7%32] // alphabet noise
	}
	for _, off := range []int{0, writerChunk - 100, writerChunk - 20, 2*writerChunk - 36, 2 * writerChunk, len(in) - HashLen} {
		copy(in[off:], hA)
	}
	want := bytes.Clone(in)
	wantN := r.ReplaceBytes(want)
	if wantN != 6 {
		t.Fatalf("Bytes replaced %d", wantN)
	}

	var out bytes.Buffer
	w := r.Writer(&out)
	if _, err := io.Copy(w, struct{ io.Reader }{bytes.NewReader(in)}); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(out.Bytes(), want) || w.Count() != wantN {
		t.Errorf("io.Copy: %d replacements, output differs: %v", w.Count(), !bytes.Equal(out.Bytes(), want))
	}

	out.Reset()
	w = r.Writer(&out)
	w.Write(in[:writerChunk+3])
	w.Write(in[writerChunk+3:])
	w.Close()
	if !bytes.Equal(out.Bytes(), want) || w.Count() != wantN {
		t.Errorf("Write: %d replacements, output differs: %v", w.Count(), !bytes.Equal(out.Bytes(), want))
	}
}

func TestWriterFlush(t *testing.T) {
	r := mustRewriter(t, map[string]string{hA: hA2})
	var out bytes.Buffer
	w := r.Writer(&out)
	io.WriteString(w, "x"+hA[:10])
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	if out.String() != "x"+hA[:10] {
		t.Errorf("after Flush: %q", out.String())
	}
	// A hash cut by Flush is not replaced; later ones are.
	io.WriteString(w, hA[10:]+hA)
	w.Close()
	if want := "x" + hA + hA2; out.String() != want {
		t.Errorf("got %q, want %q", out.String(), want)
	}
	if _, err := w.Write([]byte("x")); !errors.Is(err, ErrClosed) {
		t.Errorf("Write after Close: %v", err)
	}
	if err := w.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

type failWriter struct{ n int }

func (f *failWriter) Write(p []byte) (int, error) {
	if f.n == 0 {
		return 0, errors.New("disk full")
	}
	f.n--
	return len(p), nil
}

func TestWriterError(t *testing.T) {
	r := mustRewriter(t, map[string]string{hA: hA2})
	w := r.Writer(&failWriter{n: 1})
	big := bytes.Repeat([]byte("z"), 100)
	if _, err := w.Write(big); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(big); err == nil || err.Error() != "disk full" {
		t.Fatalf("second Write: %v", err)
	}
	if _, err := w.Write(big); err == nil {
		t.Error("error is not sticky")
	}
	if err := w.Close(); err == nil {
		t.Error("Close after a failed Write succeeded")
	}
}

func TestDense(t *testing.T) {
	// Large inputs full of matches, near misses and overlapping periodic
	// keys, so that the two-part scan fills its pending list and parts
	// meet inside matches.
	m := map[string]string{hZeros: hOnes, hZeros1: hTwos, hA: hA2, hB: hB2}
	r := mustRewriter(t, m)
	rng := rand.New(rand.NewPCG(3, 4))
	pieces := []string{hZeros, hZeros1, hA, hB, hA[:31], hB[1:], "0", "00000", "1", "x", "\x00", "/nix/store/"}
	for _, size := range []int{10 << 10, 100 << 10, 300 << 10} {
		var sb strings.Builder
		for sb.Len() < size {
			sb.WriteString(pieces[rng.IntN(len(pieces))])
			if rng.IntN(4) == 0 {
				sb.WriteString(strings.Repeat("k", rng.IntN(2000)))
			}
		}
		in := sb.String()
		want, wantN := reference(m, in)
		if got, n := r.Replace(in); got != want || n != wantN {
			t.Fatalf("size %d: String differs from the reference (%d, want %d)", size, n, wantN)
		}
		// Every (overlapping) occurrence, in order.
		var all []int
		for i := 0; i+HashLen <= len(in); i++ {
			if _, ok := m[in[i:i+HashLen]]; ok {
				all = append(all, i)
			}
		}
		var got []int
		r.each([]byte(in), 0, func(s, k int) bool {
			got = append(got, s)
			return true
		})
		if !slices.Equal(got, all) {
			t.Fatalf("size %d: each found %d occurrences, want %d", size, len(got), len(all))
		}
		if s, _ := r.Index([]byte(in)); len(all) > 0 && s != all[0] {
			t.Fatalf("Index = %d, want %d", s, all[0])
		}
		if got, n := writeChunks(t, r, in[:size/3], in[size/3:]); got != want || n != wantN {
			t.Fatalf("size %d: Writer differs from the reference", size)
		}
	}
}
