package storepath

import (
	"bytes"
	"fmt"
)

// SeedFlag is the compiler option whose argument WithSeed rewrites.
const SeedFlag = "-frandom-seed="

// SeedLen is the length of the seed nixpkgs derives from an output path:
// the first SeedLen characters of its hash.
const SeedLen = 10

// Seed returns the -frandom-seed= value nixpkgs' reproducible-builds.sh
// gives compilers for an output with the store hash hash.
func Seed(hash string) string {
	if len(hash) < SeedLen {
		return hash
	}
	return hash[:SeedLen]
}

// WithSeed returns a copy of r that also replaces SeedFlag followed by
// Seed(oldHash) by SeedFlag followed by Seed(newHash), everywhere r
// replaces hashes (Bytes, String, Writer, File). Only the seed that
// follows the flag is replaced: ten characters alone are too short to be
// recognised anywhere else. oldHash must be one of r's old hashes, so
// that a Rewriter that replaces nothing never replaces seeds either.
func (r *Rewriter) WithSeed(oldHash, newHash string) (*Rewriter, error) {
	if _, ok := r.lookup(oldHash); !ok {
		return nil, fmt.Errorf("storepath: seed of %q: not an old hash of this rewriter", oldHash)
	}
	if !IsHash(newHash) {
		return nil, fmt.Errorf("storepath: new hash %q is not a Nix store hash", newHash)
	}
	c := *r
	c.seeds = append(append([][2]string(nil), r.seeds...), [2]string{Seed(oldHash), Seed(newHash)})
	return &c, nil
}

func (r *Rewriter) lookup(old string) (int, bool) {
	for i, o := range r.old {
		if o == old {
			return i, true
		}
	}
	return -1, false
}

// rewriteSeeds replaces seeds after SeedFlag in b[from:], and widens
// first and end (as returned by rewrite) to the bytes it changed. Unless
// final, it stops at a flag whose hash-long window may go on past b (the
// whole hash may follow the flag, and is a hash to rewrite then): keep is
// that flag's offset, else len(b).
func (r *Rewriter) rewriteSeeds(b []byte, from, first, end int, final bool) (n, first1, end1, keep int) {
	flag := []byte(SeedFlag)
	for i := from; ; {
		j := bytes.Index(b[i:], flag)
		if j < 0 {
			break
		}
		s := i + j + len(SeedFlag)
		if !final && s+HashLen > len(b) {
			return n, first, end, i + j
		}
		i = s
		if s+SeedLen > len(b) {
			break
		}
		for _, p := range r.seeds {
			if string(b[s:s+SeedLen]) == p[0] {
				copy(b[s:], p[1])
				n++
				if first < 0 || s < first {
					first = s
				}
				end = max(end, s+SeedLen)
				break
			}
		}
	}
	return n, first, end, len(b)
}
