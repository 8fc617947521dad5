package storepath

// HashLen is the length of the hash part of a Nix store path.
const HashLen = 32

// Alphabet is Nix's base-32 alphabet, the characters a store hash is made of.
const Alphabet = "0123456789abcdfghijklmnpqrsvwxyz"

// inAlphabet[c] reports whether byte c is in Alphabet.
var inAlphabet = func() (t [256]bool) {
	for i := 0; i < len(Alphabet); i++ {
		t[Alphabet[i]] = true
	}
	return t
}()

// IsHash reports whether s is a Nix store hash: exactly HashLen characters
// of Alphabet.
func IsHash(s string) bool {
	if len(s) != HashLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !inAlphabet[s[i]] {
			return false
		}
	}
	return true
}
