package storepath

import (
	"fmt"
	"path/filepath"
)

// Path is a store path taken apart: Dir/Hash-Name, as in
// /nix/store/0c7gj7ksb4wqqk3vr8ddnqjwz3cv2dgl-hello-2.12.
type Path struct {
	// Dir is the directory that holds the path (the store directory,
	// "/nix/store" normally); "." for a bare HASH-NAME.
	Dir string
	// Hash is the HashLen characters of Alphabet that start the last
	// element.
	Hash string
	// Name follows the hash and its dash: the derivation's name, with
	// the output's name after it for outputs other than out.
	Name string
}

// String returns the path put back together.
func (p Path) String() string {
	return filepath.Join(p.Dir, p.Hash+"-"+p.Name)
}

// ParseError reports a path that is not a store path.
type ParseError struct {
	Path   string
	Reason string
}

func (e *ParseError) Error() string {
	return fmt.Sprintf("%q is not a store path: %s", e.Path, e.Reason)
}

// Parse takes apart a store path: its last element must be a hash
// (HashLen characters of Alphabet), a dash and a name that is not empty.
// A path inside a store path (/nix/store/HASH-NAME/bin/sh) is not one,
// and the name's characters are not checked against Nix's rules. The
// error is a *ParseError.
func Parse(p string) (Path, error) {
	b := filepath.Base(p)
	switch {
	case len(b) < HashLen || !IsHash(b[:HashLen]):
		return Path{}, &ParseError{p, fmt.Sprintf("%q does not start with a store hash", b)}
	case len(b) == HashLen || b[HashLen] != '-':
		return Path{}, &ParseError{p, fmt.Sprintf("no dash after the hash in %q", b)}
	case len(b) == HashLen+1:
		return Path{}, &ParseError{p, "the name after the hash is empty"}
	}
	return Path{Dir: filepath.Dir(p), Hash: b[:HashLen], Name: b[HashLen+1:]}, nil
}
