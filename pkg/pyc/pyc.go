package pyc

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// HeaderLen is the length of a .pyc header (Python 3.7 and later).
const HeaderLen = 16

// Flags of a .pyc header.
const (
	HashBased   = 1 << 0
	CheckSource = 1 << 1
)

// ErrNotHashBased is returned by Fix for a .pyc that records its source's
// modification time (or is not a .pyc of Python 3.7 or later).
var ErrNotHashBased = errors.New("not a hash-based .pyc")

// StaleError reports a .pyc whose recorded hash is not that of the old
// source either: it did not come from it, so nothing can be said of the
// new one.
type StaleError struct{ Pyc, Source string }

func (e *StaleError) Error() string {
	return fmt.Sprintf("%s: its source hash is not that of %s (compiled from another source); left as it was", e.Pyc, e.Source)
}

// SourceHash returns the hash Python 3.11 and later record for source in
// a .pyc with the given magic number (importlib.util.source_hash).
func SourceHash(magic [4]byte, source []byte) [8]byte {
	return keyed(1, 3, magic, source)
}

func keyed(c, d int, magic [4]byte, source []byte) [8]byte {
	var h [8]byte
	binary.LittleEndian.PutUint64(h[:], sipHash(c, d, uint64(binary.LittleEndian.Uint32(magic[:])), 0, source))
	return h
}

// Fix updates the source hash in header (the first HeaderLen bytes of a
// .pyc, changed in place) from that of oldSource to that of newSource. It
// returns ErrNotHashBased for other .pyc files and a *StaleError if the
// recorded hash is not oldSource's.
func Fix(header, oldSource, newSource []byte, pyc, source string) (changed bool, err error) {
	if len(header) < HeaderLen || header[2] != '\r' || header[3] != '\n' {
		return false, ErrNotHashBased
	}
	flags := binary.LittleEndian.Uint32(header[4:8])
	if flags&HashBased == 0 || flags&^(HashBased|CheckSource) != 0 {
		return false, ErrNotHashBased
	}
	magic := [4]byte(header[:4])
	for _, v := range [][2]int{{1, 3}, {2, 4}} {
		if old := keyed(v[0], v[1], magic, oldSource); bytes.Equal(header[8:16], old[:]) {
			cur := keyed(v[0], v[1], magic, newSource)
			copy(header[8:16], cur[:])
			return cur != old, nil
		}
	}
	return false, &StaleError{Pyc: pyc, Source: source}
}

// Source returns where Python looks for the source of the .pyc at path,
// or "" if path is not named like bytecode.
func Source(path string) string {
	dir, base := filepath.Split(path)
	name, ok := strings.CutSuffix(base, ".pyc")
	if !ok {
		return ""
	}
	if filepath.Base(dir) == "__pycache__" {
		// NAME.TAG.pyc, NAME.TAG.opt-1.pyc
		mod, _, ok := strings.Cut(name, ".")
		if !ok {
			return ""
		}
		return filepath.Join(filepath.Dir(filepath.Dir(path)), mod+".py")
	}
	return filepath.Join(dir, name+".py")
}

// Header reads the header of the .pyc at path.
func Header(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	h := make([]byte, HeaderLen)
	if _, err := f.ReadAt(h, 0); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return h, nil
}
