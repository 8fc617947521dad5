package digest

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"hash/crc32"
	"math/rand/v2"
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
	for _, args := range [][]string{{"sha256sum"}, {"md5sum"}, {"sha1sum"}, {"sha512sum"}, {"sha224sum"}, {"sha384sum"}, {"b2sum"}, {"b2sum", "-l", "256"}} {
		tool := args[0]
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			if _, err := exec.LookPath(tool); err != nil {
				t.Skipf("%s is not installed", tool)
			}
			dir := t.TempDir()
			f := filepath.Join(dir, "config.h")
			oldData := []byte("#define PREFIX \"/nix/store/0123456789abcdfghijklmnpqrsvwxyz-x\"\n")
			if err := os.WriteFile(f, oldData, 0o644); err != nil {
				t.Fatal(err)
			}
			sum := exec.Command(tool, append(args[1:], "config.h")...)
			sum.Dir = dir
			sums, err := sum.Output()
			if err != nil {
				t.Fatal(err)
			}
			newData := []byte(strings.ReplaceAll(string(oldData), "0123456789abcdfghijklmnpqrsvwxyz", "zyxwvsrqpnmlkjihgfdcba9876543210"))
			if err := os.WriteFile(f, newData, 0o644); err != nil {
				t.Fatal(err)
			}
			if n := New([]Change{{OfAll(oldData), OfAll(newData)}}).Bytes(sums); n != 1 {
				t.Fatalf("replaced %d digests, want 1", n)
			}
			if rare := tool == "sha224sum" || tool == "sha384sum" || tool == "b2sum"; rare && !MayHoldRare(sums) {
				t.Errorf("MayHoldRare(%q) = false: the rare digests would not be computed", sums)
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

// TestRare: the rare digests are replaced only when both sides have them,
// and MayHoldRare tells the texts that may hold one.
func TestRare(t *testing.T) {
	oldData, newData := []byte("prefix=/nix/store/aaaa\n"), []byte("prefix=/nix/store/bbbb\n")
	o, n := OfAll(oldData), OfAll(newData)
	line := func(s Sums) []byte { return []byte(hex.EncodeToString(s.BLAKE2b512[:]) + "  x\n") }
	b := line(o)
	if got := New([]Change{{Of(oldData), Of(newData)}}).Bytes(b); got != 0 {
		t.Errorf("without the rare digests %d replaced", got)
	}
	if got := New([]Change{{o, Of(newData)}}).Bytes(b); got != 0 {
		t.Errorf("with one side's rare digests %d replaced", got)
	}
	if New([]Change{{o, n}}).Bytes(b); !bytes.Equal(b, line(n)) {
		t.Errorf("b2sum line %q, want %q", b, line(n))
	}
	sri := []byte(`integrity="sha384-` + base64.StdEncoding.EncodeToString(o.SHA384[:]) + `"`)
	if New([]Change{{o, n}}).Bytes(sri); !bytes.Contains(sri, []byte(base64.StdEncoding.EncodeToString(n.SHA384[:]))) {
		t.Errorf("SRI sha384 not replaced: %s", sri)
	}
	for _, c := range []struct {
		in   string
		want bool
	}{
		{hex.EncodeToString(o.SHA224[:]) + "  x\n", true},
		{strings.Repeat("a", 96) + "\n", true},
		{"sha384-abc", true},
		{"x" + strings.Repeat("a", 64) + "\n", false}, // part of a longer word
		{strings.Repeat("a", 63) + "\n", false},
		{"\x00" + strings.Repeat("a", 64) + "\n", false}, // not a text
		{"no digest here\n", false},
	} {
		if got := MayHoldRare([]byte(c.in)); got != c.want {
			t.Errorf("MayHoldRare(%q) = %v, want %v", c.in, got, c.want)
		}
	}
}

// TestUnknownChecksumKept shows a limit (docs/design.md): a cksum line
// (POSIX CRC, decimal) and a BLAKE2b-160 line are not digests this
// package knows, and keep their old values.
func TestUnknownChecksumKept(t *testing.T) {
	for _, args := range [][]string{{"cksum"}, {"b2sum", "-l", "160"}} {
		if _, err := exec.LookPath(args[0]); err != nil {
			t.Skipf("%s is not installed", args[0])
		}
		dir := t.TempDir()
		oldData := []byte("#define PREFIX \"/nix/store/0123456789abcdfghijklmnpqrsvwxyz-x\"\n")
		if err := os.WriteFile(filepath.Join(dir, "config.h"), oldData, 0o644); err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(args[0], append(args[1:], "config.h")...)
		cmd.Dir = dir
		line, err := cmd.Output()
		if err != nil {
			t.Fatal(err)
		}
		newData := bytes.ReplaceAll(oldData, []byte("0123456789abcdfghijklmnpqrsvwxyz"), []byte("zyxwvsrqpnmlkjihgfdcba9876543210"))
		if n := New([]Change{{OfAll(oldData), OfAll(newData)}}).Bytes(line); n != 0 {
			t.Errorf("%s: %d digests replaced in %q; the limit is gone, update docs/design.md", args[0], n, line)
		}
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

// TestFinderAgreesWithReplacer checks Finder's promise: a Replacer made
// from the changes of the contents Find reports, used on the texts it
// reported them in, changes every text exactly as one made from all the
// changes does. The texts hold old digests in every encoding, next to
// each other and inside longer runs; some contents are changed two ways
// (their encodings are dropped), some keep their digests.
func TestFinderAgreesWithReplacer(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for round := range 200 {
		var changes []Change
		var olds []Sums
		for i := range 1 + rng.IntN(12) {
			old := Of(fmt.Appendf(nil, "old %d %d", round, i))
			cur := Of(fmt.Appendf(nil, "new %d %d", round, i))
			switch rng.IntN(6) {
			case 0:
				cur = old // unchanged
			case 1:
				if len(olds) > 0 {
					old = olds[rng.IntN(len(olds))] // one old content changed two ways
				}
			}
			changes = append(changes, Change{Old: old, New: cur})
			olds = append(olds, old)
		}
		// Texts: noise, and encodings of some old digests (and of digests
		// no change has) glued together or separated.
		var texts [][]byte
		for range 1 + rng.IntN(6) {
			var b []byte
			for range rng.IntN(8) {
				var s Sums
				if rng.IntN(4) == 0 {
					s = Of(fmt.Appendf(nil, "other %d", rng.Int()))
				} else {
					s = olds[rng.IntN(len(olds))]
				}
				encs := s.encodings()
				e := encs[rng.IntN(len(encs))]
				if rng.IntN(3) == 0 {
					e = e[:rng.IntN(len(e))] // cut short
				}
				sep := []string{"", " ", "sha256=", "sha256-", "\n", "x"}[rng.IntN(6)]
				b = append(b, sep...)
				b = append(b, e...)
			}
			texts = append(texts, b)
		}
		all := New(changes)
		want := make([][]byte, len(texts))
		for i, b := range texts {
			want[i] = bytes.Clone(b)
			all.Bytes(want[i])
		}
		f := NewFinder(olds)
		found := map[int]bool{}
		var hits []int
		for i, b := range texts {
			if f.Find(b, func(c int) { found[c] = true }) {
				hits = append(hits, i)
			}
		}
		var some []Change
		for c := range changes {
			if found[c] {
				some = append(some, changes[c])
			}
		}
		part := New(some)
		got := make([][]byte, len(texts))
		for i, b := range texts {
			got[i] = bytes.Clone(b)
		}
		for _, i := range hits {
			part.Bytes(got[i])
		}
		for i := range texts {
			if !bytes.Equal(got[i], want[i]) {
				t.Fatalf("round %d, text %d: through the Finder %q, with every change %q", round, i, got[i], want[i])
			}
		}
	}
}

// A Finder reports the contents whose digests a text holds, and no other.
func TestFinder(t *testing.T) {
	a, b := Of([]byte("a")), Of([]byte("b"))
	f := NewFinder([]Sums{a, b})
	text := []byte("x " + hex.EncodeToString(b.SHA1[:]) + " y")
	var got []int
	if !f.Find(text, func(i int) { got = append(got, i) }) || len(got) != 1 || got[0] != 1 {
		t.Errorf("Find reported %v, want [1]", got)
	}
	if f.Find([]byte(strings.Repeat("0123456789abcdef", 10)), func(int) {}) {
		t.Error("Find reported a digest in a text that holds none")
	}
}

// TestOfLarge checks the digests Of computes in parallel, for data of
// parallelOf bytes and more, against the tools' own (md5sum, sha1sum,
// sha256sum, sha512sum): the same as for small data.
func TestOfLarge(t *testing.T) {
	for _, n := range []int{parallelOf - 1, parallelOf, 3*parallelOf + 7} {
		data := make([]byte, n)
		for i := range data {
			data[i] = byte(i * 7 / 3)
		}
		p := filepath.Join(t.TempDir(), "data")
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		s := Of(data)
		for tool, want := range map[string][]byte{"md5sum": s.MD5[:], "sha1sum": s.SHA1[:], "sha256sum": s.SHA256[:], "sha512sum": s.SHA512[:]} {
			out, err := exec.Command(tool, p).Output()
			if err != nil {
				t.Fatalf("%s: %v", tool, err)
			}
			if got := strings.Fields(string(out))[0]; got != hex.EncodeToString(want) {
				t.Errorf("%d bytes: %s says %s, Of %x", n, tool, got, want)
			}
		}
		if crc := crc32.ChecksumIEEE(data); crc != s.CRC32 {
			t.Errorf("%d bytes: CRC32 %08x, Of %08x", n, crc, s.CRC32)
		}
	}
}

// TestMayHoldRareSkips checks MayHoldRare's skipping scan against a plain
// one over random texts of hex runs of every length near the digests'.
func TestMayHoldRareSkips(t *testing.T) {
	plain := func(b []byte) bool {
		for i := 0; i < len(b); {
			if !isHex(b[i]) {
				i++
				continue
			}
			j := i
			for j < len(b) && isHex(b[j]) {
				j++
			}
			if n := j - i; (n == 56 || n == 64 || n == 96 || n == 128) && (i == 0 || !isAlnum(b[i-1])) && (j == len(b) || !isAlnum(b[j])) {
				return true
			}
			i = j
		}
		return false
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for range 20000 {
		var b []byte
		for range rng.IntN(6) {
			b = append(b, " \n=xg-"[rng.IntN(6)])
			b = append(b, bytes.Repeat([]byte{"0123456789abcdefABCDEF"[rng.IntN(22)]}, 50+rng.IntN(80))...)
		}
		if rng.IntN(2) == 0 {
			b = append(b, ' ')
		}
		if got, want := MayHoldRare(b), plain(b); got != want {
			t.Fatalf("MayHoldRare(%q) = %v, want %v", b, got, want)
		}
	}
}
