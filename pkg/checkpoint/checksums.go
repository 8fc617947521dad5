package checkpoint

import (
	"context"
	"errors"
	"fmt"
	"hash/crc32"
	"maps"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"golang.org/x/sync/errgroup"

	"github.com/nix-vanilla/nix-vanilla/pkg/digest"
	"github.com/nix-vanilla/nix-vanilla/pkg/elfid"
	"github.com/nix-vanilla/nix-vanilla/pkg/pyc"
)

// LeftoverError reports store hashes inside compressed data, which are
// not rewritten (or were rewritten blindly inside the compressed stream),
// or compressed data that could not be checked.
type LeftoverError struct {
	Path   string
	Hashes []string
	// Err says why the data could not be checked, if it could not.
	Err error
}

func (e *LeftoverError) Error() string {
	if len(e.Hashes) == 0 {
		return fmt.Sprintf("%s: compressed data that cannot be checked for store hashes: %v", e.Path, e.Err)
	}
	return fmt.Sprintf("%s holds store hashes of an earlier stage where they cannot be rewritten exactly (inside compressed data): %s", e.Path, strings.Join(e.Hashes, ", "))
}

func (e *LeftoverError) Unwrap() error { return e.Err }

// pycs gives hash-based .pyc files the hash of their rewritten source.
func (x *extractor) pycs() error {
	restored := x.byPath()
	for _, w := range x.written {
		src := pyc.Source(w.path)
		srcW, ok := restored[src]
		if src == "" || !ok {
			continue
		}
		if _, changed := x.old[src]; !changed {
			continue
		}
		cur, err := x.readRestored(srcW)
		if err != nil {
			return err
		}
		old := x.original(cur)
		h, err := x.readHeader(w, pyc.HeaderLen)
		if err != nil {
			continue // too short to be bytecode
		}
		changed, err := pyc.Fix(h, old, cur, w.path, src)
		var stale *pyc.StaleError
		switch {
		case errors.Is(err, pyc.ErrNotHashBased):
			continue // timestamp-based: size and time are kept
		case errors.As(err, &stale):
			x.warn(err.Error())
			continue
		case err != nil || !changed:
			continue
		}
		if err := x.patch(w, 0, h); err != nil {
			return err
		}
		x.res.Pycs++
	}
	return nil
}

// byPath maps the restored files' paths to them.
func (x *extractor) byPath() map[string]writtenFile {
	m := make(map[string]writtenFile, len(x.written))
	for _, w := range x.written {
		m[w.path] = w
	}
	return m
}

// readHeader reads the first n bytes of a restored file.
func (x *extractor) readHeader(w writtenFile, n int) ([]byte, error) {
	f, err := x.openRestored(w, os.O_RDONLY)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	h := make([]byte, n)
	if _, err := f.ReadAt(h, 0); err != nil {
		return nil, err
	}
	return h, nil
}

// debugLinks gives each .gnu_debuglink the CRC of its debug file when
// that file was rewritten: a restored file of that name whose old CRC is
// the recorded one.
func (x *extractor) debugLinks() error {
	restored := x.byPath()
	byName := map[string][]string{}
	for p := range x.old {
		byName[filepath.Base(p)] = append(byName[filepath.Base(p)], p)
	}
	for _, w := range x.written {
		if string(w.magic[:]) != "\x7fELF" {
			continue
		}
		l, err := x.debugLink(w)
		if err != nil {
			return err
		}
		if l == nil || len(byName[l.Name]) == 0 {
			continue
		}
		var crcs []uint32
		for _, p := range byName[l.Name] {
			if x.old[p].CRC32 != l.CRC {
				continue
			}
			data, err := x.readRestored(restored[p])
			if err != nil {
				return err
			}
			if c := crc32.ChecksumIEEE(data); !slices.Contains(crcs, c) {
				crcs = append(crcs, c)
			}
		}
		switch {
		case len(crcs) > 1:
			return fmt.Errorf("restore: %s: its .gnu_debuglink names %s, and several restored files of that name had its CRC and now differ", w.path, l.Name)
		case len(crcs) == 0 || crcs[0] == l.CRC:
			continue
		}
		if err := x.rememberFile(w); err != nil {
			return err
		}
		off, b := l.Patch(crcs[0])
		if err := x.writeRestored(w, off, b, false); err != nil {
			return err
		}
		x.res.DebugLinks++
	}
	return nil
}

// debugLink reads the .gnu_debuglink of a restored file.
func (x *extractor) debugLink(w writtenFile) (*elfid.DebugLink, error) {
	f, err := x.openRestored(w, os.O_RDONLY)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	l, err := elfid.ReadDebugLinkFrom(f, w.path)
	if err != nil {
		return nil, fmt.Errorf("restore: %w", err)
	}
	return l, nil
}

// maxDigestRounds bounds how often digests are replaced in turn: a
// SHA256SUMS that changed is itself listed in a RECORD, and so on.
const maxDigestRounds = 4

// digests replaces, in every restored file, the old digests of the files
// that changed by the new ones. It looks for the old digests first
// (digest.Finder), so that new digests are computed only for files whose
// old ones are written somewhere, and only the files that hold them are
// rewritten: most restores find none.
func (x *extractor) digests(ctx context.Context) error {
	x.digested = map[string]bool{}
	pending := slices.Sorted(maps.Keys(x.old))
	restored := x.byPath()
	for range maxDigestRounds {
		olds := make([]digest.Sums, len(pending))
		for i, p := range pending {
			olds[i] = x.old[p]
		}
		found, holders, err := x.findDigests(ctx, digest.NewFinder(olds))
		if err != nil || len(found) == 0 {
			return err
		}
		changes := make([]digest.Change, len(found))
		g, _ := errgroup.WithContext(ctx)
		g.SetLimit(runtime.GOMAXPROCS(0))
		for k, i := range found {
			g.Go(func() error {
				data, err := x.readRestored(restored[pending[i]])
				if err != nil {
					return err
				}
				sums := digest.Of(data)
				if x.rare {
					sums.AddRare(data)
				}
				changes[k] = digest.Change{Old: olds[i], New: sums}
				return nil
			})
		}
		if err := g.Wait(); err != nil {
			return err
		}
		rep := digest.New(changes)
		if rep.Len() == 0 {
			return nil
		}
		if pending, err = x.replaceDigests(ctx, rep, holders); err != nil || len(pending) == 0 {
			return err
		}
	}
	return fmt.Errorf("restore: digests of rewritten files still change after %d rounds of replacing them (files that list each other's digests): %s", maxDigestRounds, strings.Join(pending, ", "))
}

// mayHoldRare reports whether some restored file may hold a rare digest
// (digest.MayHoldRare): only then are the rare digests of rewritten files
// computed, which would double the fix-up's hashing.
func (x *extractor) mayHoldRare(ctx context.Context) (bool, error) {
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(runtime.GOMAXPROCS(0))
	var found atomic.Bool
	for _, k := range x.largestFirst() {
		w := x.written[k]
		if mayCompress(w.magic) {
			continue // ELF, ar, compressed: not a text, not read again
		}
		g.Go(func() error {
			if found.Load() || gctx.Err() != nil {
				return nil
			}
			data, err := x.readRestored(w)
			if err != nil {
				return err
			}
			if digest.MayHoldRare(data) {
				found.Store(true)
			}
			return nil
		})
	}
	err := g.Wait()
	return found.Load(), err
}

// findDigests looks in every restored file for the digests f finds, and
// returns the indices of those found, in order, and the files that hold
// them, in the order of x.written.
func (x *extractor) findDigests(ctx context.Context, f *digest.Finder) ([]int, []writtenFile, error) {
	g, _ := errgroup.WithContext(ctx)
	g.SetLimit(runtime.GOMAXPROCS(0))
	var mu sync.Mutex
	seen := map[int]bool{}
	holds := make([]bool, len(x.written))
	for _, k := range x.largestFirst() {
		w := x.written[k]
		g.Go(func() error {
			data, err := x.readRestored(w)
			if err != nil {
				return err
			}
			var mine []int
			if f.Find(data, func(i int) { mine = append(mine, i) }) {
				holds[k] = true
				mu.Lock()
				for _, i := range mine {
					seen[i] = true
				}
				mu.Unlock()
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, nil, err
	}
	var holders []writtenFile
	for k, w := range x.written {
		if holds[k] {
			holders = append(holders, w)
		}
	}
	return slices.Sorted(maps.Keys(seen)), holders, nil
}

// replaceDigests replaces digests in files and returns those it changed.
func (x *extractor) replaceDigests(ctx context.Context, rep *digest.Replacer, files []writtenFile) ([]string, error) {
	g, _ := errgroup.WithContext(ctx)
	g.SetLimit(runtime.GOMAXPROCS(0))
	var mu sync.Mutex
	var changed []string
	for _, w := range files {
		g.Go(func() error {
			data, err := x.readRestored(w)
			if err != nil {
				return err
			}
			if rep.Bytes(data) == 0 {
				return nil
			}
			if err := x.patch(w, 0, data); err != nil {
				return err
			}
			mu.Lock()
			changed = append(changed, w.path)
			if !x.digested[w.path] {
				x.digested[w.path] = true
				x.res.Digests++
			}
			mu.Unlock()
			return nil
		})
	}
	err := g.Wait()
	slices.Sort(changed)
	return changed, err
}

// rememberFile remembers a file's digests before a fix-up changes it.
func (x *extractor) rememberFile(w writtenFile) error {
	data, err := x.readRestored(w)
	if err != nil {
		return err
	}
	if w.rewritten {
		data = x.original(data) // remembered already, unless it never changed
	}
	x.remember(w.path, data)
	return nil
}

// patch writes b at offset off of a restored file (replacing as many
// bytes), remembering the file's digests first, and keeps its
// mode and modification time.
func (x *extractor) patch(w writtenFile, off int64, b []byte) error {
	x.mu.Lock()
	_, known := x.old[w.path]
	x.mu.Unlock()
	if !known {
		if err := x.rememberFile(w); err != nil {
			return err
		}
	}
	return x.writeRestored(w, off, b, false)
}

// writeChanged writes into a restored file, whose content was before,
// the span of after that differs from it.
func (x *extractor) writeChanged(w writtenFile, before, after []byte) error {
	i, j := 0, len(after)
	for i < j && before[i] == after[i] {
		i++
	}
	for j > i && before[j-1] == after[j-1] {
		j--
	}
	if i == j {
		return nil
	}
	return x.writeRestored(w, int64(i), after[i:j], false)
}
