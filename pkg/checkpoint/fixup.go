package checkpoint

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"path"
	"runtime"
	"slices"
	"strings"
	"sync"

	"golang.org/x/sync/errgroup"

	"github.com/nix-vanilla/nix-vanilla/pkg/digest"
	"github.com/nix-vanilla/nix-vanilla/pkg/elfid"
	"github.com/nix-vanilla/nix-vanilla/pkg/ninjalog"
)

// Fixups is a set of the passes by which Restore keeps valid what covers
// rewritten bytes, for RestoreOptions.Skip. Each one makes a restored file
// what the plain build would have written with the new store paths;
// skipping it gives that up for the files it concerns, which then keep
// what the checkpoint held, and so differ from the plain build's. Skipping
// a pass also skips the refusals that belong to it.
//
// The check for store hashes inside compressed data is not a fix-up and
// cannot be skipped: without it a restore would hand on stale hashes
// unnoticed. Neither can the rewrite of -frandom-seed= values, which is
// part of rewriting the store hashes.
type Fixups uint

const (
	// BuildIDs recomputes the GNU build-id of ELF files whose store
	// hashes were rewritten, when the old id was the one ld computed.
	// Skipped, such a file keeps the checkpoint's build-id: the bytes
	// of ld's id over the old paths, not those of the new paths, so the
	// file differs from a plain build's, and debuginfod or a debug
	// directory finds its debug file under the old id.
	BuildIDs Fixups = 1 << iota
	// Checksums recomputes the checksums PNG, tar, zip and Mach-O files
	// keep over their own rewritten bytes (chunk CRCs, header checksums,
	// CRC-32s of stored members, the page and special slot hashes of an
	// ad-hoc code signature, thin or universal: pkg/codesign), and
	// refuses a rewritten file whose checksums cannot be recomputed
	// (zip64, a signed jar, a Mach-O file signed with a certificate,
	// fonts, gettext catalogues, ICC profiles). Skipped, those files keep
	// stale checksums, which libpng, tar and unzip reject and which get a
	// signed Mach-O program killed at launch on Apple silicon, and none
	// is refused.
	Checksums
	// Pycs gives hash-based .pyc files the hash of their rewritten
	// source. Skipped, they keep the old source's hash: Python ignores
	// them where it checks the hash, and their 8 hash bytes differ from
	// a plain build's.
	Pycs
	// DebugLinks gives a .gnu_debuglink the CRC of its rewritten debug
	// file. Skipped, the link keeps the old CRC, and gdb refuses the
	// debug file ("CRC mismatch").
	DebugLinks
	// Digests replaces, in every restored file, the digests of files the
	// restore changed (SHA256SUMS, a wheel's RECORD). Skipped, those
	// lists name the digests of the checkpoint's bytes, and checking
	// them (sha256sum -c, pip) fails.
	Digests
	// NinjaLogs gives the entries of a build tree's .ninja_log the hash
	// of their rewritten command lines. Skipped, the outputs are not
	// affected, but ninja rebuilds every edge whose command changed in
	// the restored tree: the resumed build recompiles.
	NinjaLogs

	// AllFixups is every fix-up.
	AllFixups = BuildIDs | Checksums | Pycs | DebugLinks | Digests | NinjaLogs
)

// String names the fix-ups in f, joined by "|", or "none".
func (f Fixups) String() string {
	names := []string{"BuildIDs", "Checksums", "Pycs", "DebugLinks", "Digests", "NinjaLogs"}
	var parts []string
	for i, n := range names {
		if f&(1<<i) != 0 {
			parts = append(parts, n)
		}
	}
	if rest := f &^ AllFixups; rest != 0 {
		parts = append(parts, fmt.Sprintf("%#x", uint(rest)))
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, "|")
}

// skips reports whether RestoreOptions.Skip turns the fix-up f off.
func (x *extractor) skips(f Fixups) bool { return x.opts.Skip&f != 0 }

// fixup runs after every file is written and its store hashes rewritten.
// Each step may change files that the next ones read, so the order is
// fixed: first what changes a file's own bytes (build-ids, PNG, tar and
// zip checksums, and the check for hashes inside compressed data that
// cannot be rewritten), then what
// records a digest of another file (hash-based .pyc, .gnu_debuglink),
// then digests written anywhere else (SHA256SUMS, RECORD), then ninja
// logs. RestoreOptions.Skip turns single passes off; the others still
// run, in this order.
func (x *extractor) fixup(ctx context.Context) error {
	x.old = map[string]digest.Sums{}
	if !x.skips(Digests) && slices.ContainsFunc(x.written, func(w writtenFile) bool { return w.rewritten }) {
		// Only rewritten files change, and get their old digests
		// remembered; the relocation of a moved build directory marks
		// those it rewrote.
		rare, err := x.mayHoldRare(ctx)
		if err != nil {
			return err
		}
		x.rare = rare
	}
	if err := x.perFile(ctx); err != nil {
		return err
	}
	if x.rw.Len() > 0 {
		if !x.skips(Pycs) {
			if err := x.pycs(); err != nil {
				return err
			}
		}
		if !x.skips(DebugLinks) {
			if err := x.debugLinks(); err != nil {
				return err
			}
		}
		if !x.skips(Digests) {
			if err := x.digests(ctx); err != nil {
				return err
			}
		}
	}
	if !x.opts.Tree || x.res.Rewritten == 0 || x.skips(NinjaLogs) {
		return nil
	}
	for _, w := range x.written {
		if !w.tree || path.Base(w.rel) != ".ninja_log" {
			continue
		}
		st, err := ninjalog.FixWithin(ctx, w.root, path.Dir(w.rel))
		if err != nil {
			return fmt.Errorf("restore: %w", err)
		}
		x.res.NinjaLogs += st.Changed
		if len(st.Untouched) > 0 {
			x.warn(fmt.Sprintf("%s: %d entries have no known command and keep their old hash (ninja may rebuild them)", w.path, len(st.Untouched)))
		}
	}
	return nil
}

// perFile remembers the digests of every rewritten file as the checkpoint
// held it, looks for old hashes inside compressed data, recomputes
// build-ids and the checksums of PNG, tar, zip and Mach-O files (unless
// skipped), in parallel.
func (x *extractor) perFile(ctx context.Context) error {
	if x.rw.Len() == 0 {
		return nil
	}
	g, _ := errgroup.WithContext(ctx)
	g.SetLimit(runtime.GOMAXPROCS(0))
	var ids sync.Map
	for _, k := range x.largestFirst() {
		w := x.written[k]
		elf := string(w.magic[:]) == "\x7fELF"
		if !w.rewritten && !mayCompress(w.magic) && !w.tar {
			continue
		}
		g.Go(func() error {
			data, err := x.readRestored(w)
			if err != nil {
				return err
			}
			orig := data
			if w.rewritten {
				orig = x.original(data)
				x.remember(w.path, orig)
			}
			if mayCompress(w.magic) || w.tar {
				reverted, err := x.inside(w, orig)
				if err != nil || reverted {
					return err // or given back its original bytes
				}
			}
			if w.rewritten && !elf {
				if !x.skips(Checksums) {
					if err := x.formatSums(w, data, orig); err != nil {
						return err
					}
				}
				return nil
			}
			if w.rewritten && elf && !x.skips(BuildIDs) {
				changed, err := x.buildID(w, orig)
				if changed {
					ids.Store(w.path, true)
				}
				return err
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return err
	}
	ids.Range(func(any, any) bool { x.res.BuildIDs++; return true })
	return nil
}

// formatSums recomputes the checksums that a rewritten file's format keeps
// over its own bytes (data, orig as the checkpoint held it).
func (x *extractor) formatSums(w writtenFile, data, orig []byte) error {
	n, err := formatSums(data, orig)
	if err != nil {
		return &ChecksumError{Path: w.path, Err: err}
	}
	if n == 0 {
		return nil
	}
	if err := x.patch(w, 0, data); err != nil {
		return err
	}
	x.mu.Lock()
	x.res.FormatSums++
	x.mu.Unlock()
	return nil
}

// inside fails, for an output, or records, for a file of the build tree,
// old hashes inside the compressed data of a file's original bytes orig.
// A build-tree file may be an intermediate that no output contains (a
// gzipped Fortran module): it gets its original bytes back, so that it
// holds the old hashes consistently (none rewritten blindly inside a
// compressed stream) and [Scan] finds them if they reach an output.
func (x *extractor) inside(w writtenFile, orig []byte) (reverted bool, err error) {
	left, err := x.rw.Inside(orig)
	if len(left) == 0 && err == nil {
		return false, nil
	}
	e := &LeftoverError{Path: w.path, Err: err}
	for _, l := range left {
		e.Hashes = append(e.Hashes, l.String())
	}
	if !w.tree {
		return false, e
	}
	if w.rewritten {
		if err := x.patch(w, 0, orig); err != nil {
			return false, err
		}
		x.mu.Lock()
		delete(x.old, w.path) // back as it was
		x.mu.Unlock()
	}
	x.mu.Lock()
	x.res.Unrewritable = append(x.res.Unrewritable, e)
	x.mu.Unlock()
	x.warn(e.Error() + " (a build-tree file, left as the checkpoint held it: fatal only if it reaches an output)")
	return w.rewritten, nil
}

// original returns a restored file's bytes as the checkpoint held them.
func (x *extractor) original(data []byte) []byte {
	orig := bytes.Clone(data)
	x.reverse.ReplaceBytes(orig)
	if x.moved[0] != nil {
		orig = bytes.ReplaceAll(orig, x.moved[0], x.moved[1])
	}
	return orig
}

// remember records the digests of a file's bytes as the checkpoint held
// them, the first time it is called for path: later fix-ups that change
// the file again must not move what its old digests were.
func (x *extractor) remember(path string, orig []byte) {
	x.mu.Lock()
	_, ok := x.old[path]
	x.mu.Unlock()
	if ok {
		return
	}
	// Computed outside the lock: the passes that call this run on every
	// core. Only one pass handles a file at a time, so no other call for
	// path stores in between.
	sums := digest.Of(orig)
	if x.rare {
		sums.AddRare(orig)
	}
	x.mu.Lock()
	x.old[path] = sums
	x.mu.Unlock()
}

// buildID recomputes the GNU build-id of an ELF file whose store hashes
// were rewritten, if the id was the one ld computed before the rewrite
// (orig is the file as the checkpoint held it): a binary stripped or
// patched during the build keeps its id, with a warning.
func (x *extractor) buildID(w writtenFile, orig []byte) (bool, error) {
	path := w.path
	ours, err := elfid.Reproducible(orig)
	var unsupported *elfid.UnsupportedError
	switch {
	case errors.Is(err, elfid.ErrNoBuildID) || errors.Is(err, elfid.ErrNotELF):
		return false, nil
	case errors.As(err, &unsupported):
		x.warn(fmt.Sprintf("%s: %s; its build-id names the old store paths", path, unsupported.Reason))
		return false, nil
	case err != nil:
		return false, fmt.Errorf("restore: build-id of %s: %w", path, err)
	case !ours:
		x.warn(fmt.Sprintf("%s: its build-id was not the one ld computed (stripped or patched during the build); left as it was", path))
		return false, nil
	}
	cur, err := x.readRestored(w)
	if err != nil {
		return false, err
	}
	before := bytes.Clone(cur)
	changed, err := elfid.Recompute(cur)
	if err != nil || !changed {
		return false, err
	}
	return true, x.writeChanged(w, before, cur)
}

// mayCompress reports the files that may hold compressed data: compressed
// files and archives, ELF files (compressed sections, LTO sections), static
// libraries, and LZMA-alone files (which have no magic number: the usual
// properties byte 0x5d).
func mayCompress(magic [4]byte) bool {
	switch {
	case magic[0] == 0x1f && magic[1] == 0x8b, // gzip
		string(magic[:3]) == "BZh",             // bzip2
		string(magic[:]) == "\xfd7zX",          // xz
		string(magic[:]) == "\x28\xb5\x2f\xfd", // zstd
		string(magic[:]) == "\x04\x22\x4d\x18", // lz4
		string(magic[:]) == "PK\x03\x04",       // zip, jar, wheel
		string(magic[:]) == "\x7fELF",
		string(magic[:]) == "!<ar",
		string(magic[:]) == "\x89PNG",     // zlib chunks
		magic[0] == 0x5d && magic[1] == 0: // LZMA-alone, lc=3 lp=0 pb=2
		return true
	}
	return false
}
