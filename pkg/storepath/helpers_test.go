package storepath

import (
	"crypto/sha256"
	"strings"
	"testing"
)

// testHash returns a store hash derived from seed.
func testHash(seed string) string {
	sum := sha256.Sum256([]byte(seed))
	var b [HashLen]byte
	for i := range b {
		b[i] = Alphabet[sum[i]%32]
	}
	return string(b[:])
}

// reference is the specification: scan left to right; at each offset, if
// an old hash starts there, replace it and continue after it.
func reference(m map[string]string, s string) (string, int) {
	var out strings.Builder
	n := 0
	for i := 0; i < len(s); {
		if i+HashLen <= len(s) {
			if to, ok := m[s[i:i+HashLen]]; ok {
				out.WriteString(to)
				i += HashLen
				n++
				continue
			}
		}
		out.WriteByte(s[i])
		i++
	}
	return out.String(), n
}

func mustRewriter(t testing.TB, m map[string]string) *Rewriter {
	t.Helper()
	r, err := NewRewriter(m)
	if err != nil {
		t.Fatal(err)
	}
	return r
}
