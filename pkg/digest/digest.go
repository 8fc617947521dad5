package digest

import (
	"bytes"
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"hash/crc32"
	"slices"
	"strings"
	"sync"

	"golang.org/x/crypto/blake2b"
)

// Sums are the digests of one content.
type Sums struct {
	MD5    [md5.Size]byte
	SHA1   [sha1.Size]byte
	SHA256 [sha256.Size]byte
	SHA512 [sha512.Size]byte
	CRC32  uint32
	// Rare says that the rare digests below are set ([Sums.AddRare]):
	// what sha224sum, sha384sum and b2sum (BLAKE2b-512, and -256 with
	// -l 256) print, and SRI's sha384-. They cost more than the others
	// together, and few builds write them.
	Rare       bool
	SHA224     [sha256.Size224]byte
	SHA384     [sha512.Size384]byte
	BLAKE2b256 [blake2b.Size256]byte
	BLAKE2b512 [blake2b.Size]byte
}

// AddRare computes the rare digests of data into s.
func (s *Sums) AddRare(data []byte) {
	s.SHA224, s.SHA384 = sha256.Sum224(data), sha512.Sum384(data)
	s.BLAKE2b256, s.BLAKE2b512 = blake2b.Sum256(data), blake2b.Sum512(data)
	s.Rare = true
}

// OfAll returns every digest of data, the rare ones included.
func OfAll(data []byte) Sums {
	s := Of(data)
	s.AddRare(data)
	return s
}

// Of returns the digests of data. For large data it computes MD5 and
// SHA-512, the slowest of them, on goroutines of their own: a restore
// takes the digests of many files on every core, and the largest file
// otherwise finishes last, alone on one.
func Of(data []byte) Sums {
	var s Sums
	var wg sync.WaitGroup
	if len(data) < parallelOf {
		s.MD5, s.SHA512 = md5.Sum(data), sha512.Sum512(data)
	} else {
		wg.Add(2)
		go func() { s.MD5 = md5.Sum(data); wg.Done() }()
		go func() { s.SHA512 = sha512.Sum512(data); wg.Done() }()
	}
	s.SHA1, s.SHA256, s.CRC32 = sha1.Sum(data), sha256.Sum256(data), crc32.ChecksumIEEE(data)
	wg.Wait()
	return s
}

// parallelOf is the size from which Of computes digests in parallel.
const parallelOf = 1 << 20

// encodings returns each digest in each text form, in a fixed order, so
// that two Sums give parallel lists (the rare ones last: a list without
// them is the other's beginning).
func (s Sums) encodings() []string {
	var crc [4]byte
	binary.BigEndian.PutUint32(crc[:], s.CRC32)
	c := hex.EncodeToString(crc[:])
	out := []string{c, strings.ToUpper(c)}
	ds := [][]byte{s.MD5[:], s.SHA1[:], s.SHA256[:], s.SHA512[:]}
	if s.Rare {
		ds = append(ds, s.SHA224[:], s.SHA384[:], s.BLAKE2b256[:], s.BLAKE2b512[:])
	}
	for _, d := range ds {
		h := hex.EncodeToString(d)
		out = append(out, h, strings.ToUpper(h),
			base64.StdEncoding.EncodeToString(d), base64.RawStdEncoding.EncodeToString(d),
			base64.URLEncoding.EncodeToString(d), base64.RawURLEncoding.EncodeToString(d))
	}
	return out
}

// Replacer replaces old digests by new ones. The zero value replaces
// nothing. It is safe for concurrent use.
type Replacer struct {
	to map[string]string
	// url holds the URL-safe new encoding of an old digest whose
	// standard and URL-safe base64 are the same text (no + or /), where
	// the new digest's are not: which one the writer used shows only from
	// the context (see token).
	url map[string]string
	index
}

// An index finds candidate places of a set of encodings quickly.
type index struct {
	prefix map[uint64]bool // first 8 bytes of each encoding
	// filter has the bit prefixBit of each encoding's first 8 bytes set:
	// most offsets of a scan fail on it, without a map lookup.
	filter  *[filterBits / 64]uint64
	lengths []int // lengths of the encodings, longest first
}

// newIndex indexes the keys of m.
func newIndex[V any](m map[string]V) index {
	x := index{prefix: map[uint64]bool{}, filter: new([filterBits / 64]uint64)}
	for o := range m {
		p := binary.LittleEndian.Uint64([]byte(o[:8]))
		x.prefix[p] = true
		bit := prefixBit(p)
		x.filter[bit/64] |= 1 << (bit % 64)
		if !slices.Contains(x.lengths, len(o)) {
			x.lengths = append(x.lengths, len(o))
		}
	}
	slices.Sort(x.lengths)
	slices.Reverse(x.lengths)
	return x
}

// candidate reports whether an encoding may start at t[i:] (i+8 <= len(t)).
func (x *index) candidate(t []byte, i int) bool {
	p := binary.LittleEndian.Uint64(t[i:])
	bit := prefixBit(p)
	return x.filter[bit/64]&(1<<(bit%64)) != 0 && x.prefix[p]
}

// runs calls f with each run of digest characters in b that is long
// enough to hold one of the encodings.
func (x *index) runs(b []byte, f func(t []byte)) {
	if len(x.lengths) == 0 {
		return
	}
	shortest := x.lengths[len(x.lengths)-1]
	for i := 0; i+8 <= len(b); {
		if !inToken[b[i]] {
			i++
			continue
		}
		j := i
		for j < len(b) && inToken[b[j]] {
			j++
		}
		if j-i >= shortest {
			f(b[i:j])
		}
		i = j
	}
}

// filterBits is the size of index.filter: 128 KiB, for a false
// positive rate of a few percent with the encodings of thousands of files.
const filterBits = 1 << 20

// prefixBit is the bit of filter for the first 8 bytes p of a text.
func prefixBit(p uint64) uint64 { return (p * 0x9e3779b97f4a7c15) >> (64 - 20) }

// Change is one content's digests before and after a change.
type Change struct {
	Old, New Sums
}

// New returns a Replacer for changes. Encodings that two changes would
// map to different new values (the same old content changed two ways)
// are dropped, and so are equal old and new digests.
func New(changes []Change) *Replacer {
	r := &Replacer{to: map[string]string{}, url: map[string]string{}}
	bad := map[string]bool{}
	for _, c := range changes {
		olds, news := c.Old.encodings(), c.New.encodings()
		n := min(len(olds), len(news)) // one side without the rare digests
		olds, news = olds[:n], news[:n]
		for i, o := range olds {
			if o == news[i] {
				continue
			}
			if prev, ok := r.to[o]; ok && prev != news[i] {
				if urlSafe(news[i]) && sameBase64(prev, news[i]) {
					r.url[o] = news[i]
					continue
				}
				bad[o] = true
			}
			r.to[o] = news[i]
		}
	}
	for o := range bad {
		delete(r.to, o)
	}
	r.index = newIndex(r.to)
	return r
}

// Len returns the number of old encodings r replaces.
func (r *Replacer) Len() int { return len(r.to) }

// inToken reports the bytes that can be part of an encoded digest.
var inToken = func() (t [256]bool) {
	for _, c := range "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=-_" {
		t[c] = true
	}
	return t
}()

// Bytes replaces old digests in b, in place, and returns how many. A
// digest is looked for only inside runs of the base64 and hex alphabets,
// longest encoding first.
func (r *Replacer) Bytes(b []byte) int {
	if r == nil || len(r.to) == 0 {
		return 0
	}
	n := 0
	r.runs(b, func(t []byte) { n += r.token(t) })
	return n
}

// token replaces old digests inside one run of digest characters.
func (r *Replacer) token(t []byte) int {
	n := 0
	for i := 0; i+8 <= len(t); i++ {
		if !r.candidate(t, i) {
			continue
		}
		for _, l := range r.lengths {
			if i+l > len(t) {
				continue
			}
			if to, ok := r.to[string(t[i:i+l])]; ok {
				if u, ok := r.url[string(t[i:i+l])]; ok && urlContext(t[:i]) {
					to = u
				}
				copy(t[i:], to)
				n++
				i += l - 1
				break
			}
		}
	}
	return n
}

// A Finder finds which of some contents' digests a text holds, in the
// encodings a [Replacer] replaces. It lets a caller compute the new
// digests of only the contents whose old ones are written somewhere, and
// rewrite only the files that hold them: a Replacer made from the
// [Change]s of the contents Find reported, used on the files it reported
// them in, changes exactly what one made from every change would.
//
// It is safe for concurrent use.
type Finder struct {
	owners map[string][]int // encoding: indices of the contents it is of
	index
}

// NewFinder returns a Finder of the digests in sums.
func NewFinder(sums []Sums) *Finder {
	f := &Finder{owners: map[string][]int{}}
	for i, s := range sums {
		for _, e := range s.encodings() {
			if o := f.owners[e]; len(o) == 0 || o[len(o)-1] != i {
				f.owners[e] = append(o, i)
			}
		}
	}
	f.index = newIndex(f.owners)
	return f
}

// Find calls found with the index in sums of each content that one of
// the encodings in b, at any place, is of (a content may be reported more
// than once), and returns whether it called it.
func (f *Finder) Find(b []byte, found func(i int)) bool {
	if f == nil || len(f.owners) == 0 {
		return false
	}
	hit := false
	f.runs(b, func(t []byte) {
		for i := 0; i+8 <= len(t); i++ {
			if !f.candidate(t, i) {
				continue
			}
			for _, l := range f.lengths {
				if i+l > len(t) {
					continue
				}
				for _, o := range f.owners[string(t[i:i+l])] {
					found(o)
					hit = true
				}
			}
		}
	})
	return hit
}

// urlSafe reports whether an encoding uses the URL-safe base64 alphabet's
// own characters.
func urlSafe(s string) bool { return strings.ContainsAny(s, "-_") }

// sameBase64 reports whether two encodings are the standard and URL-safe
// base64 of the same bytes.
func sameBase64(std, url string) bool {
	return strings.NewReplacer("+", "-", "/", "_").Replace(std) == url
}

// urlContext reports whether the text before a digest shows that it is
// written in URL-safe base64: a Python RECORD's "sha256=" (PEP 376 and 427
// say urlsafe-base64-nopad). Elsewhere (SRI's "sha256-") standard base64
// is taken.
func urlContext(before []byte) bool {
	for _, p := range []string{"md5=", "sha1=", "sha224=", "sha256=", "sha384=", "sha512=", "blake2b=", "blake2b_256="} {
		if strings.HasSuffix(string(before), p) {
			return true
		}
	}
	return false
}

// MayHoldRare reports whether b may hold a rare digest ([Sums.Rare]) of
// some content: a text (no NUL in its first 8 KiB) with a run of hex
// digits as long as one of them (56, 64, 96 or 128), alone between
// characters that are not letters or digits, or with one of the prefixes
// that name them in SRI and RECORD files. A caller computes the rare
// digests only when some file may hold one. A SHA256SUMS file counts
// (its digests have the length of BLAKE2b-256).
func MayHoldRare(b []byte) bool {
	if bytes.IndexByte(b[:min(len(b), 8192)], 0) >= 0 {
		return false
	}
	for _, p := range []string{"sha224", "sha384", "blake2b"} {
		if bytes.Contains(b, []byte(p)) {
			return true
		}
	}
	// Runs shorter than the shortest length are skipped without looking
	// at each byte: b[i-1] is never a hex digit, so a run of 56 or more
	// starting in b[i:i+56] holds b[i+55].
	const shortest = 56
	for i := 0; i+shortest <= len(b); {
		if !isHex(b[i+shortest-1]) {
			i += shortest
			continue
		}
		start, end := i+shortest-1, i+shortest
		for start > i && isHex(b[start-1]) {
			start--
		}
		for end < len(b) && isHex(b[end]) {
			end++
		}
		if n := end - start; (n == 56 || n == 64 || n == 96 || n == 128) && (start == 0 || !isAlnum(b[start-1])) && (end == len(b) || !isAlnum(b[end])) {
			return true
		}
		i = end + 1
	}
	return false
}

func isHex(c byte) bool { return hexDigit[c] }

func isAlnum(c byte) bool { return alnum[c] }

var hexDigit, alnum = func() (h, a [256]bool) {
	for c := range 256 {
		b := byte(c)
		h[c] = b >= '0' && b <= '9' || b >= 'a' && b <= 'f' || b >= 'A' && b <= 'F'
		a[c] = b >= '0' && b <= '9' || b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z'
	}
	return
}()
