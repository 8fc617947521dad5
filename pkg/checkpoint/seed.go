package checkpoint

import (
	"path/filepath"

	"github.com/nix-vanilla/nix-vanilla/pkg/storepath"
)

// seedPair returns the store hashes of the output "out" in the checkpoint
// and in the restoring build, when they differ: nixpkgs seeds every compile
// with -frandom-seed= and the first ten characters of $out's hash, so what
// the checkpoint's stage compiled carries that stage's seed.
func seedPair(saved, now map[string]string) (old, cur string, ok bool) {
	o, n := saved["out"], now["out"]
	if o == "" || n == "" {
		return "", "", false
	}
	ob, nb := filepath.Base(o), filepath.Base(n)
	if len(ob) < storepath.HashLen || len(nb) < storepath.HashLen || ob[:storepath.HashLen] == nb[:storepath.HashLen] {
		return "", "", false
	}
	return ob[:storepath.HashLen], nb[:storepath.HashLen], true
}

// seeded adds the seed rewrite to rw and its reverse, and the pair of
// seeds with their flag to pairs (the text rewrite of shell state).
func seeded(rw, reverse *storepath.Rewriter, pairs []string, saved, now map[string]string) (*storepath.Rewriter, *storepath.Rewriter, []string, error) {
	old, cur, ok := seedPair(saved, now)
	if !ok {
		return rw, reverse, pairs, nil
	}
	rw, err := rw.WithSeed(old, cur)
	if err != nil {
		return nil, nil, nil, err
	}
	if reverse, err = reverse.WithSeed(cur, old); err != nil {
		return nil, nil, nil, err
	}
	pairs = append(pairs, storepath.SeedFlag+storepath.Seed(old), storepath.SeedFlag+storepath.Seed(cur))
	return rw, reverse, pairs, nil
}
