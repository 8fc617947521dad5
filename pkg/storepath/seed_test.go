package storepath

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestSeed(t *testing.T) {
	a, b, other := testHash("a"), testHash("b"), testHash("other")
	r, err := mustRewriter(t, map[string]string{a: b, other: testHash("x")}).WithSeed(a, b)
	if err != nil {
		t.Fatal(err)
	}
	sa, sb := SeedFlag+a[:10], SeedFlag+b[:10]
	cases := []struct {
		name, in, want string
		n              int
	}{
		{"producer", "GNU C17 12.2.0 -mtune=generic " + sa + " -O2", "GNU C17 12.2.0 -mtune=generic " + sb + " -O2", 1},
		{"with hash", sa + " /nix/store/" + a + "-x", sb + " /nix/store/" + b + "-x", 2},
		{"twice", sa + sa, sb + sb, 2},
		{"bare seed kept", "seed " + a[:10] + " stays", "seed " + a[:10] + " stays", 0},
		{"other seed kept", SeedFlag + other[:10], SeedFlag + other[:10], 0},
		{"cut flag", "x" + SeedFlag + a[:9], "x" + SeedFlag + a[:9], 0},
		{"whole hash after flag", SeedFlag + a, SeedFlag + b, 1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, n := r.Replace(c.in)
			if got != c.want || n != c.n {
				t.Errorf("String = %q, %d; want %q, %d", got, n, c.want, c.n)
			}
			buf := []byte(c.in)
			if n := r.ReplaceBytes(buf); string(buf) != c.want || n != c.n {
				t.Errorf("Bytes = %q, %d; want %q, %d", buf, n, c.want, c.n)
			}
			for cut := range len(c.in) {
				got, n := writeChunks(t, r, c.in[:cut], c.in[cut:])
				if got != c.want || n != c.n {
					t.Fatalf("Writer cut at %d = %q, %d; want %q, %d", cut, got, n, c.want, c.n)
				}
			}
		})
	}
}

func TestSeedFile(t *testing.T) {
	a, b := testHash("a"), testHash("b")
	r, err := mustRewriter(t, map[string]string{a: b}).WithSeed(a, b)
	if err != nil {
		t.Fatal(err)
	}
	// A seed across File's chunk boundary (fileChunk) and one at the end.
	pad := strings.Repeat("\x00", fileChunk-10)
	in := pad + SeedFlag + a[:10] + pad + SeedFlag + a[:10]
	p := filepath.Join(t.TempDir(), "f")
	if err := os.WriteFile(p, []byte(in), 0o644); err != nil {
		t.Fatal(err)
	}
	n, err := r.File(p)
	if err != nil || n != 2 {
		t.Fatalf("File = %d, %v; want 2 replacements", n, err)
	}
	got, _ := os.ReadFile(p)
	if want := strings.ReplaceAll(in, a[:10], b[:10]); string(got) != want {
		t.Error("File did not replace both seeds")
	}
}

func TestWithSeedErrors(t *testing.T) {
	a, b := testHash("a"), testHash("b")
	r := mustRewriter(t, map[string]string{a: b})
	if _, err := r.WithSeed(testHash("c"), b); err == nil {
		t.Error("WithSeed accepted a hash the rewriter does not replace")
	}
	if _, err := r.WithSeed(a, "short"); err == nil {
		t.Error("WithSeed accepted a bad new hash")
	}
}
