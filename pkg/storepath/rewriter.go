package storepath

import (
	"encoding/binary"
	"fmt"
	"sort"
	"strings"
	"unsafe"
)

// maxLoopKeys is the number of keys up to which a candidate window is
// verified by comparing it with each key in turn; above it a map is used.
const maxLoopKeys = 8

// Rewriter replaces old store hashes by new ones. It is built once by
// NewRewriter and is then safe for concurrent use by any number of
// goroutines; the zero value rewrites nothing.
type Rewriter struct {
	old, new []string // parallel, sorted by old
	prefix   []uint64 // first 8 bytes of each old hash, little endian
	byOld    map[string]int
	// shift[b] is how far the end of a 32-byte window whose last two bytes
	// are the block b (b[e-1] | b[e]<<8) can move without skipping a match:
	// 0 only if b ends some old hash.
	shift *[1 << 16]uint8
	// seeds are old and new -frandom-seed values (see WithSeed).
	seeds [][2]string
	// budget bounds Leftovers and Inside (see WithBudget).
	budget *Budget
}

// NewRewriter returns a Rewriter replacing each key of m (an old hash) by its
// value (the new hash). Both must be store hashes (see IsHash); the error
// names a bad one. Pairs whose old and new hash are equal are
// dropped. An empty or nil map gives a Rewriter that changes nothing.
func NewRewriter(m map[string]string) (*Rewriter, error) {
	r := &Rewriter{}
	for o, n := range m {
		if !IsHash(o) {
			return nil, fmt.Errorf("storepath: old hash %q is not a Nix store hash", o)
		}
		if !IsHash(n) {
			return nil, fmt.Errorf("storepath: new hash %q (for %s) is not a Nix store hash", n, o)
		}
		if o != n {
			r.old = append(r.old, o)
		}
	}
	if len(r.old) == 0 {
		return &Rewriter{}, nil
	}
	sort.Strings(r.old)
	r.new = make([]string, len(r.old))
	r.prefix = make([]uint64, len(r.old))
	for i, o := range r.old {
		r.new[i] = m[o]
		r.prefix[i] = binary.LittleEndian.Uint64([]byte(o[:8]))
	}
	if len(r.old) > maxLoopKeys {
		r.byOld = make(map[string]int, len(r.old))
		for i, o := range r.old {
			r.byOld[o] = i
		}
	}

	// Wu–Manber shift table over 2-byte blocks. A window that ends in a
	// byte outside the alphabet cannot match, nor can the next 31; one
	// whose last block occurs in no key can move by 31.
	t := new([1 << 16]uint8)
	for b := range t {
		if inAlphabet[b>>8] {
			t[b] = HashLen - 1
		} else {
			t[b] = HashLen
		}
	}
	for _, o := range r.old {
		for q := 1; q < HashLen; q++ {
			b := uint16(o[q-1]) | uint16(o[q])<<8
			if d := uint8(HashLen - 1 - q); d < t[b] {
				t[b] = d
			}
		}
	}
	r.shift = t
	return r, nil
}

// Len returns the number of old hashes the Rewriter replaces.
func (r *Rewriter) Len() int { return len(r.old) }

// Index returns the offset of the first old hash in b and that hash, or
// -1 and "" if b contains none. It is the search that every other method
// uses: a Wu–Manber scan on 2-byte blocks that, on data with few hashes,
// reads about one block per 31 bytes.
func (r *Rewriter) Index(b []byte) (int, string) {
	s, k := r.index(b, 0)
	if s < 0 {
		return -1, ""
	}
	return s, r.old[k]
}

// interleaveMin is the length from which each scans two parts of its
// input at once. The scan of one part is a chain of dependent loads (the
// next position depends on the table entry of the current one); two
// independent chains keep the CPU busy while each waits. It is a variable
// for the tests.
var interleaveMin = 4 << 10

// maxPending is how many matches of the second part each holds while the
// first part is still being scanned, and maxPart the length of the first
// part: short enough that the second rarely fills its pending list.
const (
	maxPending = 32
	maxPart    = 64 << 10
)

// index returns the offset s >= from of the first window b[s:s+HashLen]
// that is an old hash, and which one (its index in r.old); or -1, -1.
func (r *Rewriter) index(b []byte, from int) (s, k int) {
	s, k = -1, -1
	r.each(b, from, func(s1, k1 int) bool {
		s, k = s1, k1
		return false
	})
	return s, k
}

// each calls fn(s, k) for every window b[s:s+HashLen] with s >= from that
// is an old hash (r.old[k]), overlapping or not, in increasing order of s,
// until fn returns false. fn may change b[s:s+HashLen]; windows that do not
// overlap bytes it changed are then still reported exactly as if it had
// not (a skip or a check that reads changed bytes only concerns windows
// that contain them), and the others may or may not be.
func (r *Rewriter) each(b []byte, from int, fn func(s, k int) bool) {
	t := r.shift
	if t == nil {
		return
	}
	// e is the end (last byte) of the next window to look at.
	e := from + HashLen - 1
	for len(b)-e >= interleaveMin {
		// Part A: windows ending before limA; part B: the others. Matches
		// in A are reported at once, those in B once A is done.
		limA := e + min((len(b)-e)/2, maxPart)
		a := b[:limA]
		eA, eB := e, limA
		var pending [maxPending]struct{ e, k int }
		np := 0
		for eA < limA && eB < len(b) {
			dA := t[binary.LittleEndian.Uint16(a[eA-1:])]
			dB := t[binary.LittleEndian.Uint16(b[eB-1:])]
			if dA != 0 && dB != 0 {
				eA += int(dA)
				eB += int(dB)
				continue
			}
			if dA != 0 {
				eA += int(dA)
			} else {
				if k := r.verify(a, eA); k >= 0 && !fn(eA-(HashLen-1), k) {
					return
				}
				eA++
			}
			if dB != 0 {
				eB += int(dB)
			} else {
				if k := r.verify(b, eB); k >= 0 {
					pending[np] = struct{ e, k int }{eB, k}
					np++
				}
				eB++
				if np == maxPending {
					break
				}
			}
		}
		if !r.scanEach(a, eA, fn) {
			return
		}
		for _, p := range pending[:np] {
			if !fn(p.e-(HashLen-1), p.k) {
				return
			}
		}
		e = eB
	}
	r.scanEach(b, e, fn)
}

// scanEach is each with a single scan, from the window ending at e. It
// returns false if fn did.
func (r *Rewriter) scanEach(b []byte, e int, fn func(s, k int) bool) bool {
	t := r.shift
	for e < len(b) {
		d := t[binary.LittleEndian.Uint16(b[e-1:])]
		if d != 0 {
			e += int(d)
			continue
		}
		if k := r.verify(b, e); k >= 0 && !fn(e-(HashLen-1), k) {
			return false
		}
		e++
	}
	return true
}

// verify returns which old hash b[e-HashLen+1:e+1] is, or -1.
func (r *Rewriter) verify(b []byte, e int) int {
	w := b[e-(HashLen-1) : e+1]
	if r.byOld != nil {
		if k, ok := r.byOld[string(w)]; ok {
			return k
		}
		return -1
	}
	p := binary.LittleEndian.Uint64(w)
	for k, q := range r.prefix {
		if p == q && string(w) == r.old[k] {
			return k
		}
	}
	return -1
}

// rewrite replaces, left to right and without overlap, every old hash in
// b that starts at or after from. It returns the number of replacements,
// the offset of the first one (-1 if none) and the offset just past the
// last one (from if none).
func (r *Rewriter) rewrite(b []byte, from int) (n, first, end int) {
	n, first, end = r.rewriteHashes(b, from)
	if len(r.seeds) > 0 {
		var m int
		m, first, end, _ = r.rewriteSeeds(b, from, first, end, true)
		n += m
	}
	return n, first, end
}

// rewriteHashes replaces old hashes in b[from:]; see rewrite.
func (r *Rewriter) rewriteHashes(b []byte, from int) (n, first, end int) {
	first, end = -1, from
	r.each(b, from, func(s, k int) bool {
		if s >= end {
			// Windows that overlap the bytes changed here start
			// before end and are ignored; see each.
			copy(b[s:], r.new[k])
			if n == 0 {
				first = s
			}
			n++
			end = s + HashLen
		}
		return true
	})
	return n, first, end
}

// rewritePart is rewrite for a part of a stream: unless final, a seed
// whose window may go on past b is left alone, and keep is the offset of
// its flag (else len(b)): bytes from keep on must be scanned again.
func (r *Rewriter) rewritePart(b []byte, final bool) (n, first, end, keep int) {
	if len(r.seeds) == 0 {
		n, first, end = r.rewrite(b, 0)
		return n, first, end, len(b)
	}
	n, first, end = r.rewriteHashes(b, 0)
	var m int
	m, first, end, keep = r.rewriteSeeds(b, 0, first, end, final)
	return n + m, first, end, keep
}

// holdBack is the most a stream keeps back between parts.
func (r *Rewriter) holdBack() int {
	if len(r.seeds) > 0 {
		return HashLen - 1 + len(SeedFlag)
	}
	return HashLen - 1
}

// ReplaceBytes replaces every old hash in b by its new hash, in place,
// and returns the number of replacements.
func (r *Rewriter) ReplaceBytes(b []byte) int {
	n, _, _ := r.rewrite(b, 0)
	return n
}

// Replace returns s with every old hash replaced, and the number of
// replacements. It allocates only if something is replaced; it suits
// symlink targets, environment variables and the like.
func (r *Rewriter) Replace(s string) (string, int) {
	// index only reads, so it may look at the string's bytes directly.
	first, _ := r.index(unsafe.Slice(unsafe.StringData(s), len(s)), 0)
	if len(r.seeds) > 0 && strings.Contains(s, SeedFlag) {
		first = 0
	}
	if first < 0 {
		return s, 0
	}
	b := []byte(s)
	n, _, _ := r.rewrite(b, first)
	return string(b), n
}
