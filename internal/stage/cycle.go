package stage

import (
	"bytes"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/nix-vanilla/nix-vanilla/pkg/storepath"
)

// A reference is an output whose files name another output's store path,
// as Nix's reference scan sees it: the other's hash in a regular file's
// bytes or in a symlink's target.
type reference struct {
	from, to string // output names
	file     string // the first file found, relative to the output
}

// outputCycle returns the references of a cycle between outputs, if the
// outputs (names to paths) have one, or nil. Nix refuses to register a
// derivation whose outputs refer to each other in a cycle; a plain build
// often breaks one in fixupPhase (moveToOutput of lib/pkgconfig or
// lib/cmake into dev), which the unwrapped stage runs before.
func outputCycle(outputs map[string]string) ([]reference, error) {
	names := slices.Sorted(maps.Keys(outputs))
	if len(names) < 2 {
		return nil, nil
	}
	hashes := map[string][]byte{}
	for _, n := range names {
		b := filepath.Base(outputs[n])
		if len(b) < storepath.HashLen || !storepath.IsHash(b[:storepath.HashLen]) {
			return nil, nil // not store paths: nothing Nix would check
		}
		hashes[n] = []byte(b[:storepath.HashLen])
	}
	edges := map[string]map[string]string{} // from -> to -> file
	for _, from := range names {
		found, err := referencedBy(outputs[from], from, names, hashes)
		if err != nil {
			return nil, err
		}
		edges[from] = found
	}
	// Depth-first from each output, in name order: the first cycle found.
	for _, start := range names {
		path := []string{start}
		var walk func(n string) []string
		seen := map[string]bool{}
		walk = func(n string) []string {
			for _, to := range slices.Sorted(maps.Keys(edges[n])) {
				if to == start {
					return append(slices.Clone(path), start)
				}
				if seen[to] {
					continue
				}
				seen[to] = true
				path = append(path, to)
				if c := walk(to); c != nil {
					return c
				}
				path = path[:len(path)-1]
			}
			return nil
		}
		if c := walk(start); c != nil {
			refs := make([]reference, 0, len(c)-1)
			for i := 0; i+1 < len(c); i++ {
				refs = append(refs, reference{from: c[i], to: c[i+1], file: edges[c[i]][c[i+1]]})
			}
			return refs, nil
		}
	}
	return nil, nil
}

// referencedBy returns, for each other output whose hash a file under root
// holds, the first such file (relative to root).
func referencedBy(root, self string, names []string, hashes map[string][]byte) (map[string]string, error) {
	found := map[string]string{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if os.IsNotExist(err) && p == root {
				return filepath.SkipAll
			}
			return err
		}
		switch {
		case d.Type()&fs.ModeSymlink != 0:
			t, err := os.Readlink(p)
			if err != nil {
				return err
			}
			note(root, p, []byte(t), self, names, hashes, found)
		case d.Type().IsRegular():
			err := eachChunk(p, func(chunk []byte) bool {
				note(root, p, chunk, self, names, hashes, found)
				return len(found) < len(names)-1
			})
			if err != nil {
				return err
			}
		}
		if len(found) == len(names)-1 {
			return filepath.SkipAll
		}
		return nil
	})
	return found, err
}

// note records in found each other output whose hash data (of the file p
// under root) holds, with p if it is the first.
func note(root, p string, data []byte, self string, names []string, hashes map[string][]byte, found map[string]string) {
	for _, n := range names {
		if n != self && found[n] == "" && bytes.Contains(data, hashes[n]) {
			rel, _ := filepath.Rel(root, p)
			found[n] = rel
		}
	}
}

// eachChunk calls f with the file p in chunks of 1 MiB, each starting with
// the last HashLen-1 bytes of the one before (so that a hash across two is
// seen whole), until f returns false.
func eachChunk(p string, f func([]byte) bool) error {
	file, err := os.Open(p)
	if err != nil {
		return err
	}
	defer file.Close()
	const keep = storepath.HashLen - 1
	buf := make([]byte, keep+1<<20)
	have := 0
	for {
		n, err := io.ReadFull(file, buf[have:])
		if n > 0 && !f(buf[:have+n]) {
			return nil
		}
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			return nil
		}
		if err != nil {
			return err
		}
		have = copy(buf, buf[have+n-keep:have+n])
	}
}

// describe words a cycle for the log: "out → dev (lib/pkgconfig/x.pc),
// dev → out (lib/cmake/x.cmake)".
func describe(refs []reference) string {
	parts := make([]string, len(refs))
	for i, r := range refs {
		parts[i] = fmt.Sprintf("%s → %s (%s)", r.from, r.to, r.file)
	}
	return strings.Join(parts, ", ")
}
