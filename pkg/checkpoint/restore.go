package checkpoint

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/klauspost/compress/zstd"

	"github.com/nix-vanilla/nix-vanilla/pkg/digest"
	"github.com/nix-vanilla/nix-vanilla/pkg/storepath"
	"github.com/nix-vanilla/nix-vanilla/pkg/unpack"
)

// RestoreOptions say where Restore puts a checkpoint back.
type RestoreOptions struct {
	// Dir is the checkpoint directory.
	Dir string
	// Top is the restoring build's build directory ($NIX_BUILD_TOP).
	Top string
	// Tree says whether to restore the build tree into Top, which then
	// holds the freshly unpacked source.
	Tree bool
	// Outputs maps output names to the restoring build's output paths.
	// Every output the checkpoint recorded needs one with a name of the
	// same length (normally the same derivation name).
	Outputs map[string]string
	// Keep reports the names directly under Top that are not the
	// checkpoint's (the files of the hook that runs the restore, which
	// SaveOptions.Skip left out): a checkpoint that holds or deletes
	// anything under one is damaged, and a failed restore leaves them, as
	// it leaves Nix's files.
	Keep func(name string) bool
	// Sources, with Tree, are the derivation's sources ($srcs, or $src)
	// in a Top where the source was not unpacked: Restore brings back the
	// pristine files from them itself (package unpack), while it verifies
	// the archive. When that cannot reproduce them exactly, Restore fails
	// with an *unpack.NotReproducedError having changed nothing, and the
	// caller unpacks the source its own way and restores without Sources.
	Sources []string
	// SourceCopy, with Tree, brings back the pristine files from the
	// checkpoint's source copy ([SourceCopyFile]) when it has one, in
	// place of Sources; without a copy Sources are used, and with
	// neither Restore fails with an *unpack.NotReproducedError having
	// changed nothing. The copy is untrusted like the rest of the
	// checkpoint: every file taken from it is checked against the
	// pristine list, and reading it stops at [SourceCopyLimit].
	SourceCopy bool
	// SourceCopyDir, with SourceCopy, is another checkpoint directory
	// whose source copy is used when Dir's checkpoint has none: in hook
	// mode the entry after buildPhase of the same build, whose pristine
	// files include those of the entry after installPhase. Its manifest
	// bounds the reading ([SourceCopyLimit]); every file taken from it is
	// checked against Dir's pristine list, and a file Dir lists that the
	// copy lacks fails the restore with an *unpack.NotReproducedError
	// having changed nothing (restore again without SourceCopyDir).
	SourceCopyDir string
	// SourceThreads is the number of threads the decompressor of Sources
	// may use (NIX_BUILD_CORES); 0 means all.
	SourceThreads int
	// Unpacked, when not nil, is called once Sources are unpacked and the
	// archive verified, before anything else is written: the tree then
	// is what unpacking the source again gives (a stage snapshots it).
	// An error fails the restore, which removes the unpacked files.
	Unpacked func() error
	// Skip turns off the fix-ups it holds; the zero value runs them all.
	// A skipped fix-up leaves the files it concerns as the checkpoint
	// held them, rewritten paths aside, so that they differ from what
	// the plain build would have written (see [Fixups] for what each
	// one gives up). Bits outside AllFixups fail the restore.
	Skip Fixups
}

// Result reports what Restore did.
type Result struct {
	Manifest *Manifest
	// Files and Bytes count the regular files written.
	Files int
	Bytes int64
	// Rewritten counts files in which store hashes were replaced.
	Rewritten int
	// BuildIDs counts ELF files whose GNU build-id was recomputed.
	BuildIDs int
	// NinjaLogs counts .ninja_log entries given the hash of their
	// rewritten command line.
	NinjaLogs int
	// Retimed counts source files given back their recorded modification
	// times after unpacking again.
	Retimed int
	// Pycs, DebugLinks and Digests count hash-based .pyc files given
	// their rewritten source's hash, .gnu_debuglink CRCs given their
	// rewritten debug file's, and files in which digests of rewritten
	// files were replaced (see fixup.go).
	Pycs, DebugLinks, Digests int
	// FormatSums counts files whose format's own checksums over rewritten
	// bytes were recomputed: PNG chunk CRCs, tar header checksums,
	// CRC-32s of zip members stored uncompressed (see formats.go).
	FormatSums int
	// Unrewritable lists build-tree files with store hashes inside
	// compressed data: not fatal unless they reach an output (see Scan).
	Unrewritable []*LeftoverError
	// Unpacked reports how RestoreOptions.Sources were unpacked; nil
	// without them.
	Unpacked *unpack.Result
	// FromSourceCopy says that Unpacked unpacked the checkpoint's source
	// copy (RestoreOptions.SourceCopy), not Sources.
	FromSourceCopy bool
	// SourceCopyDir is RestoreOptions.SourceCopyDir when its copy was
	// the one unpacked.
	SourceCopyDir string
	// TreeFiles, of a restore with Tree, are the regular files of the
	// build tree once restored, relative to Top, in no particular order:
	// the pristine files, the archive's, and its hard links to them.
	TreeFiles []string
	// Warnings are things worth one line in the build log each.
	Warnings []string
	// Rewrite maps the checkpoint's text to the restoring build's: store
	// hashes of the outputs and the build directory. Shell state needs it.
	Rewrite func(string) string
}

// SourceChangedError reports that the unpacked source is not the one the
// checkpoint was made from.
type SourceChangedError struct {
	Path   string
	Reason string
}

func (e *SourceChangedError) Error() string {
	return fmt.Sprintf("%s: %s: the source differs from the one the checkpoint was built from", quoteName(e.Path), e.Reason)
}

// Restore puts the checkpoint back: checks the unpacked source in Top
// against it, removes what the build deleted, extracts generated files and
// outputs while rewriting store hashes, recomputes build-ids, checksums,
// digests and ninja log hashes (the fix-ups, which opts.Skip may turn
// off), and restores modes and modification times.
func Restore(ctx context.Context, opts RestoreOptions) (*Result, error) {
	if unknown := opts.Skip &^ AllFixups; unknown != 0 {
		return nil, fmt.Errorf("restore %s: RestoreOptions.Skip holds unknown fix-ups %#x", opts.Dir, uint(unknown))
	}
	m, err := ReadManifest(opts.Dir)
	if err != nil {
		return nil, err
	}
	hashes, err := hashMap(m.Outputs, opts.Outputs)
	if err != nil {
		return nil, fmt.Errorf("restore %s: %w", opts.Dir, err)
	}
	rw, err := storepath.NewRewriter(hashes)
	if err != nil {
		return nil, fmt.Errorf("restore %s: %w", opts.Dir, err)
	}
	var pairs []string
	for o, n := range hashes {
		pairs = append(pairs, o, n)
	}
	moved := opts.Top != "" && m.BuildTop != "" && m.BuildTop != opts.Top
	if moved {
		pairs = append(pairs, m.BuildTop, opts.Top)
	}
	back := map[string]string{}
	for o, n := range hashes {
		back[n] = o
	}
	reverse, err := storepath.NewRewriter(back)
	if err != nil {
		return nil, err
	}
	if rw, reverse, pairs, err = seeded(rw, reverse, pairs, m.Outputs, opts.Outputs); err != nil {
		return nil, fmt.Errorf("restore %s: %w", opts.Dir, err)
	}
	// What the compressed-file scan of rewritten files may decode, in
	// all: bounded by what the (verified) archive holds.
	rw = rw.WithBudget(storepath.NewBudget(storepath.ScanBound(m.Stats.Bytes)))
	res := &Result{Manifest: m, Rewrite: strings.NewReplacer(pairs...).Replace}
	x := &extractor{rw: rw, reverse: reverse, roots: map[string]*os.Root{}, outRoots: map[string]*os.Root{}, dirRoots: map[dirKey]*os.Root{}, opts: opts, res: res, umask: umask()}
	if !opts.Tree {
		// The outputs alone: their own part of the archive, when it has
		// one (precheck falls back to the whole).
		x.part = m.OutputsPart
	}
	x.sparseLeft = x.declared().SparseSize
	defer x.closeRoots()
	if opts.Tree && !m.Tree {
		return nil, fmt.Errorf("restore %s: the checkpoint holds no build tree", opts.Dir)
	}
	var pristine []pristineEntry
	if opts.Tree {
		if pristine, err = readPristine(opts.Dir, m.PristineSize, m.Stats.Pristine); err != nil {
			return nil, err
		}
	}
	// The source is unpacked while the archive is verified (unpacked
	// files are new ones: nothing is changed before the verification
	// ends, and they are removed if it fails).
	sources, limit := opts.Sources, int64(0)
	if opts.Tree && opts.SourceCopy {
		if m.Stats.SourceCopy > 0 {
			sources, limit = []string{filepath.Join(opts.Dir, SourceCopyFile)}, SourceCopyLimit(m)
			res.FromSourceCopy = true
		} else if opts.SourceCopyDir != "" {
			other, err := ReadManifest(opts.SourceCopyDir)
			if err != nil {
				return nil, &unpack.NotReproducedError{Err: fmt.Errorf("the source copy of %s: %w", opts.SourceCopyDir, err)}
			}
			if other.Stats.SourceCopy == 0 {
				return nil, &unpack.NotReproducedError{Err: fmt.Errorf("%s has no source copy", opts.SourceCopyDir)}
			}
			sources, limit = []string{filepath.Join(opts.SourceCopyDir, SourceCopyFile)}, SourceCopyLimit(other)
			res.FromSourceCopy, res.SourceCopyDir = true, opts.SourceCopyDir
		} else if len(sources) == 0 {
			return nil, &unpack.NotReproducedError{Err: errors.New("the checkpoint has no source copy, and no sources were given")}
		}
	}
	unpacked := make(chan error, 1)
	uctx, cancel := context.WithCancel(ctx)
	defer cancel()
	if opts.Tree && sources != nil {
		go func() { unpacked <- x.unpack(uctx, pristine, sources, limit) }()
	} else {
		unpacked <- nil
	}
	// Everything that can be checked is checked before the first write.
	entries, err := x.verifyAndPrecheck(ctx)
	if err != nil {
		cancel()
	}
	if uerr := <-unpacked; err == nil {
		err = uerr
	}
	if err == nil && x.unpacked != nil && opts.Unpacked != nil {
		err = opts.Unpacked()
	}
	if err != nil {
		if x.unpacked != nil {
			if rerr := x.unpacked.Remove(); rerr != nil {
				err = fmt.Errorf("%w (and removing the unpacked source failed: %v)", err, rerr)
			}
		}
		return nil, err
	}
	x.entries = entries
	if opts.Tree {
		if err = x.checkPristine(pristine); err != nil {
			return nil, err
		}
	}
	created, err := x.absentOutputs()
	if err != nil {
		return nil, err
	}
	if err := x.apply(ctx, pristine); err != nil {
		x.closeRoots()
		if uerr := x.undo(created); uerr != nil {
			return nil, fmt.Errorf("%w (and undoing the restore failed: %v)", err, uerr)
		}
		return nil, err
	}
	if opts.Tree {
		res.TreeFiles = make([]string, 0, len(pristine)+len(x.written)+len(x.treeLinked))
		for i := range pristine {
			res.TreeFiles = append(res.TreeFiles, pristine[i].name())
		}
		for _, w := range x.written {
			if w.tree {
				res.TreeFiles = append(res.TreeFiles, w.rel)
			}
		}
		res.TreeFiles = append(res.TreeFiles, x.treeLinked...)
	}
	return res, nil
}

// verifyAndPrecheck verifies the archive's digest and reads it through
// once (precheck), returning the number of entries.
func (x *extractor) verifyAndPrecheck(ctx context.Context) (int, error) {
	if err := x.verifyArchive(ctx); err != nil {
		return 0, err
	}
	return x.precheck(ctx)
}

// unpack brings back the pristine files from sources, reading at most
// limit bytes of tar data from them (0: no limit).
func (x *extractor) unpack(ctx context.Context, pristine []pristineEntry, sources []string, limit int64) error {
	files := make([]unpack.File, len(pristine))
	for i := range pristine {
		e := &pristine[i]
		files[i] = unpack.File{Name: e.name(), Size: e.Size, Mode: e.Mode, Mtime: e.Mtime, Digest: e.Digest}
	}
	res, err := unpack.Unpack(ctx, unpack.Options{Top: x.opts.Top, Sources: sources, Files: files, Threads: x.opts.SourceThreads, Limit: limit})
	if err != nil {
		return err
	}
	x.unpacked = res
	x.res.Unpacked = res
	return nil
}

// apply makes the changes: source files' times and modes, deletions,
// extraction and every pass after it.
func (x *extractor) apply(ctx context.Context, pristine []pristineEntry) error {
	m, opts := x.res.Manifest, x.opts
	if opts.Tree {
		if err := x.fixPristine(pristine); err != nil {
			return err
		}
		top, err := x.root(opts.Top)
		if err != nil {
			return err
		}
		for _, rel := range m.Deleted {
			if err := top.RemoveAll(rel); err != nil {
				return fmt.Errorf("restore: remove %s: %w", quoteName(rel), err)
			}
		}
	}
	if err := x.extract(ctx); err != nil {
		return err
	}
	if opts.Tree && opts.Top != "" && m.BuildTop != "" && m.BuildTop != opts.Top {
		if err := x.relocate(m.BuildTop, opts.Top); err != nil {
			return err
		}
	}
	// After every rewrite of the bytes: fix-ups hash the final content.
	if err := x.fixup(ctx); err != nil {
		return err
	}
	if err := x.reorder(); err != nil {
		return err
	}
	return x.times()
}

// hashMap pairs the saved outputs' store hashes with the new ones.
func hashMap(saved, now map[string]string) (map[string]string, error) {
	m := map[string]string{}
	// Restore maps the new hashes back to look at files as the
	// checkpoint held them: two outputs given one hash cannot be told
	// apart (sorted, so that the error names them in one order).
	given := map[string]string{}
	for _, name := range slices.Sorted(maps.Keys(saved)) {
		old := saved[name]
		cur, ok := now[name]
		if !ok {
			return nil, fmt.Errorf("the checkpoint has output %q, which this build does not have", name)
		}
		ob, nb := filepath.Base(old), filepath.Base(cur)
		if len(ob) != len(nb) || len(ob) < 33 || ob[32:] != nb[32:] {
			return nil, fmt.Errorf("output %s was %s and is now %s: store paths can only be rewritten when their names are the same", name, old, cur)
		}
		if other, ok := given[nb[:32]]; ok {
			return nil, fmt.Errorf("outputs %s and %s are given the same store hash %s: each output needs a path of its own", other, name, nb[:32])
		}
		given[nb[:32]] = name
		if ob[:32] != nb[:32] {
			m[ob[:32]] = nb[:32]
		}
	}
	return m, nil
}

type extractor struct {
	mu   sync.Mutex // guards res.Warnings, res.Unrewritable and old
	opts RestoreOptions
	res  *Result
	rw   *storepath.Rewriter
	// unpacked is what unpack brought back from opts.Sources.
	unpacked *unpack.Result
	// reverse maps the new hashes back, to look at files as they were.
	reverse *storepath.Rewriter
	roots   map[string]*os.Root
	// outRoots are the outputs' own roots, by output name.
	outRoots map[string]*os.Root
	// written lists regular files: path, whether hashes were rewritten.
	written []writtenFile
	dirs    []timedEntry
	// modes lists files created with more permissions than they get in
	// the end, so that the passes after extraction can read them.
	modes []timedEntry
	// sparseLeft is what the manifest allows sparse files still to take.
	sparseLeft int64
	// moved is the new and old build directory when relocate replaced
	// one by the other (of equal length) in binaries too.
	moved [2][]byte
	// old holds the digests, as the checkpoint held them, of restored
	// files that the restore changed (guarded by mu).
	old map[string]digest.Sums
	// rare says that some restored file may hold a rare digest
	// (digest.MayHoldRare): old and new digests include them.
	rare bool
	// digested lists the files in which digests were replaced.
	digested map[string]bool
	// dirRoots caches directories opened as roots, oldest first in dirOrder.
	dirRoots map[dirKey]*os.Root
	dirOrder []dirKey
	// zr decompresses the archive being read.
	zr *zstd.Decoder
	// part, if not nil, is the part of the archive the restore reads:
	// the outputs' (Manifest.OutputsPart), in a restore without the tree.
	part *Part
	// decoded is the tar stream precheck read and kept (see maxDecoded).
	decoded *keptStream
	// entries counts the archive's entries (precheck).
	entries int
	// umask is the process's file mode creation mask.
	umask fs.FileMode
	// treeLinks maps build-tree files that a restore without the tree
	// skipped to the outputs that are hard links of them, in archive
	// order (see extractTreeLinks).
	treeLinks map[string][]string
	// treeLinked lists the build-tree names extracted as hard links.
	treeLinked []string
}

// A writtenFile is a regular file the extraction wrote: rel in root, the
// file that was inode then; path names it in messages only.
type writtenFile struct {
	root      *os.Root
	rel       string
	path      string
	rewritten bool
	magic     [4]byte
	// tar says the file is a tar archive (its magic is at offset 257).
	tar    bool
	sparse bool
	inode  inode
	// tree says the file is in the build tree, not in an output.
	tree bool
	// size is the file's size as the archive held it (with the holes of
	// a sparse file).
	size int64
}

// largestFirst returns the indices of x.written, the largest file first:
// the passes over them run on every core, and a large file started last
// would finish alone.
func (x *extractor) largestFirst() []int {
	order := make([]int, len(x.written))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int { return cmp.Compare(x.written[b].size, x.written[a].size) })
	return order
}

type timedEntry struct {
	root  *os.Root
	rel   string
	mode  fs.FileMode
	mtime time.Time
	inode inode
}

func (x *extractor) warn(msg string) {
	x.mu.Lock()
	defer x.mu.Unlock()
	x.res.Warnings = append(x.res.Warnings, msg)
}

func (x *extractor) root(dir string) (*os.Root, error) {
	if r, ok := x.roots[dir]; ok {
		return r, nil
	}
	r, err := os.OpenRoot(dir)
	if err != nil {
		return nil, fmt.Errorf("restore: %w", err)
	}
	x.roots[dir] = r
	return r, nil
}

func (x *extractor) closeRoots() {
	for _, r := range x.dirRoots {
		r.Close()
	}
	for _, r := range x.outRoots {
		r.Close()
	}
	for _, r := range x.roots {
		r.Close()
	}
}
