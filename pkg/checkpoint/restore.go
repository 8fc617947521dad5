package checkpoint

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
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
	// SourceThreads is the number of threads the decompressor of Sources
	// may use (NIX_BUILD_CORES); 0 means all.
	SourceThreads int
	// Unpacked, when not nil, is called once Sources are unpacked and the
	// archive verified, before anything else is written: the tree then
	// is what unpacking the source again gives (a stage snapshots it).
	// An error fails the restore, which removes the unpacked files.
	Unpacked func() error
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
// outputs while rewriting store hashes, recomputes build-ids and ninja log
// hashes, and restores modes and modification times.
func Restore(ctx context.Context, opts RestoreOptions) (*Result, error) {
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
	x := &extractor{rw: rw, reverse: reverse, roots: map[string]*os.Root{}, outRoots: map[string]*os.Root{}, dirRoots: map[dirKey]*os.Root{}, opts: opts, res: res, umask: umask(),
		sparseLeft: m.Stats.SparseSize}
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
	unpacked := make(chan error, 1)
	uctx, cancel := context.WithCancel(ctx)
	defer cancel()
	if opts.Tree && opts.Sources != nil {
		go func() { unpacked <- x.unpack(uctx, pristine) }()
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

// unpack brings back the pristine files from opts.Sources.
func (x *extractor) unpack(ctx context.Context, pristine []pristineEntry) error {
	files := make([]unpack.File, len(pristine))
	for i := range pristine {
		e := &pristine[i]
		files[i] = unpack.File{Name: e.name(), Size: e.Size, Mode: e.Mode, Mtime: e.Mtime, Digest: e.Digest}
	}
	res, err := unpack.Unpack(ctx, unpack.Options{Top: x.opts.Top, Sources: x.opts.Sources, Files: files, Threads: x.opts.SourceThreads})
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
	for name, old := range saved {
		cur, ok := now[name]
		if !ok {
			return nil, fmt.Errorf("the checkpoint has output %q, which this build does not have", name)
		}
		ob, nb := filepath.Base(old), filepath.Base(cur)
		if len(ob) != len(nb) || len(ob) < 33 || ob[32:] != nb[32:] {
			return nil, fmt.Errorf("output %s was %s and is now %s: store paths can only be rewritten when their names are the same", name, old, cur)
		}
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
	// cur holds the digests of restored files as they are now, where a
	// pass computed them (see setCurrent).
	cur map[string]digest.Sums
	// digested lists the files in which digests were replaced.
	digested map[string]bool
	// dirRoots caches directories opened as roots, oldest first in dirOrder.
	dirRoots map[dirKey]*os.Root
	dirOrder []dirKey
	// zr decompresses the archive being read.
	zr *zstd.Decoder
	// decoded is the tar stream precheck read and kept (see maxDecoded).
	decoded []byte
	// entries counts the archive's entries (precheck).
	entries int
	// umask is the process's file mode creation mask.
	umask fs.FileMode
	// treeLinks maps build-tree files that a restore without the tree
	// skipped to the outputs that are hard links of them, in archive
	// order (see extractTreeLinks).
	treeLinks map[string][]string
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

// target maps an archive name to the root it goes into and the path
// relative to that root; ok is false for entries this restore skips. An
// output's own entry (outputs/NAME) is the output's name in the store
// directory's root; what is inside it goes through the output's own root,
// opened without following a symlink.
func (x *extractor) target(name string) (r *os.Root, rel string, ok bool, err error) {
	name = strings.TrimSuffix(name, "/")
	if err := cleanName(name); err != nil {
		return nil, "", false, err
	}
	first, rest, _ := strings.Cut(name, "/")
	switch first {
	case "tree":
		if !x.opts.Tree || rest == "" || NixFile(rest) {
			return nil, "", false, nil
		}
		r, err := x.root(x.opts.Top)
		return r, rest, true, err
	case "outputs":
		out, inner, _ := strings.Cut(rest, "/")
		p, found := x.opts.Outputs[out]
		if !found {
			return nil, "", false, fmt.Errorf("archive entry %s names output %q, which this build does not have", quoteName(name), out)
		}
		if inner == "" {
			r, err := x.root(filepath.Dir(p))
			return r, filepath.Base(p), true, err
		}
		r, err := x.outputRoot(out, p)
		if err != nil {
			return nil, "", false, fmt.Errorf("restore %s: %w", quoteName(name), err)
		}
		return r, inner, true, nil
	}
	return nil, "", false, fmt.Errorf("archive entry %s is neither tree/ nor outputs/", quoteName(name))
}

// cleanName refuses archive names that are not clean relative paths.
func cleanName(name string) error {
	if name == "" || name != path.Clean(name) || path.IsAbs(name) || name == ".." || strings.HasPrefix(name, "../") || strings.Contains(name, "/../") || strings.ContainsRune(name, 0) {
		return fmt.Errorf("archive entry %s is not a clean relative path", quoteName(name))
	}
	return nil
}

// outputRoot opens the output p (named out) as a root, once: it must be
// a directory, not a symlink to one.
func (x *extractor) outputRoot(out, p string) (*os.Root, error) {
	if r, ok := x.outRoots[out]; ok {
		return r, nil
	}
	store, err := x.root(filepath.Dir(p))
	if err != nil {
		return nil, err
	}
	r, err := openDirNoFollow(store, filepath.Base(p))
	if err != nil {
		return nil, fmt.Errorf("output %s is not a directory the restore made: %w", p, err)
	}
	x.outRoots[out] = r
	return r, nil
}

// forgetOutput drops the output root of an output whose own entry is
// being replaced.
func (x *extractor) forgetOutput(name string) {
	out, inner, _ := strings.Cut(strings.TrimPrefix(strings.TrimSuffix(name, "/"), "outputs/"), "/")
	if !strings.HasPrefix(name, "outputs/") || inner != "" {
		return
	}
	if r, ok := x.outRoots[out]; ok {
		x.forgetBelow(r, "")
		r.Close()
		delete(x.outRoots, out)
	}
}

func (x *extractor) extract(ctx context.Context) error {
	if x.decoded != nil {
		// precheck kept the stream, checked to its end.
		if err := x.extractFrom(ctx, tar.NewReader(bytes.NewReader(x.decoded)), nil); err != nil {
			return err
		}
		return x.extractTreeLinks(ctx)
	}
	tr, done, err := x.openArchive(nil)
	if err != nil {
		return err
	}
	defer done()
	if err := x.extractFrom(ctx, tr, x.tail); err != nil {
		return err
	}
	return x.extractTreeLinks(ctx)
}

// extractTreeLinks gives the outputs that are hard links of build-tree
// files, in a restore without the tree, the content of those files: the
// archive holds it under the tree's name only, so it is read through once
// more. The first output linking to a file gets the content, and the
// others are linked to that one.
func (x *extractor) extractTreeLinks(ctx context.Context) error {
	if len(x.treeLinks) == 0 {
		return nil
	}
	// The archive was read to its end twice already: this pass stops at
	// the last file it needs.
	var tr *tar.Reader
	if x.decoded != nil {
		tr = tar.NewReader(bytes.NewReader(x.decoded))
	} else {
		var done func()
		var err error
		if tr, done, err = x.openArchive(nil); err != nil {
			return err
		}
		defer done()
	}
	for len(x.treeLinks) > 0 {
		if err := ctx.Err(); err != nil {
			return err
		}
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return &CorruptError{Dir: x.opts.Dir, Err: fmt.Errorf("%s: %w", ArchiveFile, err)}
		}
		name, _ := x.rw.Replace(hdr.Name)
		links, ok := x.treeLinks[name]
		if !ok || hdr.Typeflag != tar.TypeReg {
			continue
		}
		delete(x.treeLinks, name)
		r, rel, _, err := x.target(links[0])
		if err != nil {
			return err
		}
		if err := x.regular(r, rel, hdr.FileInfo().Mode(), hdr, tr); err != nil {
			if corruptArchive(err) {
				return &CorruptError{Dir: x.opts.Dir, Err: err}
			}
			return err
		}
		for _, other := range links[1:] {
			lr, lrel, _, err := x.target(other)
			if err != nil {
				return err
			}
			if err := x.linkAcross(r, rel, lr, lrel); err != nil {
				return err
			}
		}
	}
	for name, links := range x.treeLinks {
		return &CorruptError{Dir: x.opts.Dir, Err: fmt.Errorf("archive entry %s is a hard link to %s, which the archive does not hold as a file", quoteName(links[0]), quoteName(name))}
	}
	return nil
}

// extractFrom extracts every entry of tr, then calls tail if not nil.
func (x *extractor) extractFrom(ctx context.Context, tr *tar.Reader, tail func() error) error {
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return &CorruptError{Dir: x.opts.Dir, Err: fmt.Errorf("%s: %w", ArchiveFile, err)}
		}
		if err := x.entry(hdr, tr); err != nil {
			if corruptArchive(err) {
				return &CorruptError{Dir: x.opts.Dir, Err: err}
			}
			return err
		}
	}
	if tail != nil {
		return tail()
	}
	return nil
}

func (x *extractor) entry(hdr *tar.Header, tr *tar.Reader) error {
	// A file named after a store hash (stamp-HASH-pkg) is renamed too.
	hdr.Name, _ = x.rw.Replace(hdr.Name)
	if hdr.Typeflag == tar.TypeLink {
		hdr.Linkname, _ = x.rw.Replace(hdr.Linkname)
	}
	x.forgetOutput(hdr.Name)
	r, rel, ok, err := x.target(hdr.Name)
	if err != nil || !ok {
		return err
	}
	mode := hdr.FileInfo().Mode()
	if hdr.Typeflag == tar.TypeDir {
		return x.directory(r, rel, mode, hdr.ModTime)
	}
	if hdr.Typeflag == tar.TypeReg {
		return x.regular(r, rel, mode, hdr, tr)
	}
	dir, base, err := x.clear(r, rel)
	if err != nil {
		return fmt.Errorf("restore %s: %w", quoteName(rel), err)
	}
	switch hdr.Typeflag {
	case tar.TypeFifo:
		if err := mkfifo(dir, base, mode, hdr.ModTime); err != nil {
			return fmt.Errorf("restore %s: %w", quoteName(rel), err)
		}
	case tar.TypeSymlink:
		target, _ := x.rw.Replace(hdr.Linkname)
		if err := dir.Symlink(target, base); err != nil {
			return fmt.Errorf("restore %s: %w", quoteName(rel), err)
		}
	case tar.TypeLink:
		lr, lrel, ok, err := x.target(hdr.Linkname)
		if err != nil {
			return fmt.Errorf("restore %s: hard link to %s: %w", quoteName(rel), quoteName(hdr.Linkname), err)
		}
		if !ok && !x.opts.Tree && strings.HasPrefix(hdr.Linkname, "tree/") {
			// A build-tree file this restore does not write: its
			// content is extracted here after the archive's end.
			if x.treeLinks == nil {
				x.treeLinks = map[string][]string{}
			}
			x.treeLinks[hdr.Linkname] = append(x.treeLinks[hdr.Linkname], hdr.Name)
			return nil
		}
		if !ok {
			return fmt.Errorf("restore %s: hard link to %s, which this restore does not write", quoteName(rel), quoteName(hdr.Linkname))
		}
		return x.linkAcross(lr, lrel, r, rel)
	default:
		return fmt.Errorf("restore %s: unsupported archive entry type %q", quoteName(rel), hdr.Typeflag)
	}
	return nil
}

// directory restores a directory entry: made (0700 for now) unless one is
// there, given its mode and time at the end (see times).
func (x *extractor) directory(r *os.Root, rel string, mode fs.FileMode, mtime time.Time) error {
	dir, base, err := x.dir(r, rel)
	if err != nil {
		return fmt.Errorf("restore %s: %w", quoteName(rel), err)
	}
	fi, err := dir.Lstat(base)
	if err == nil && !fi.IsDir() {
		if err := dir.Remove(base); err != nil {
			return fmt.Errorf("restore %s: %w", quoteName(rel), err)
		}
	}
	if err != nil || !fi.IsDir() {
		if err := dir.Mkdir(base, 0o700); err != nil {
			return fmt.Errorf("restore %s: %w", quoteName(rel), err)
		}
		if fi, err = dir.Lstat(base); err != nil {
			return fmt.Errorf("restore %s: %w", quoteName(rel), err)
		}
	}
	x.dirs = append(x.dirs, timedEntry{r, rel, mode, mtime, inodeOf(fi)})
	return nil
}

// smallFile is the size up to which a file is read whole, rewritten in
// place and written with one call; larger files stream through a
// storepath.Writer.
const smallFile = 1 << 20

var smallBufs = sync.Pool{New: func() any {
	b := make([]byte, smallFile)
	return &b
}}

// regular restores a regular file: contents with store hashes rewritten,
// mode and modification time.
func (x *extractor) regular(r *os.Root, rel string, mode fs.FileMode, hdr *tar.Header, tr io.Reader) error {
	size, extents, sparse, err := sparseMap(hdr, x.sparseLeft)
	if err != nil {
		return &CorruptError{Dir: x.opts.Dir, Err: err}
	}
	dir, base, err := x.dir(r, rel)
	if err != nil {
		return fmt.Errorf("restore %s: %w", rel, err)
	}
	// A file the build left unreadable or read-only is written, and read
	// by the passes after extraction, with owner read and write
	// permission; times gives it its mode. Setuid and setgid bits are
	// dropped (the store refuses them too).
	mode &^= fs.ModeSetuid | fs.ModeSetgid
	perm := mode.Perm()
	later := perm&0o600 != 0o600
	if later {
		perm |= 0o600
	}
	// Build trees mostly gain files, so create first and clear the way
	// only when something is there (a source file the build changed).
	f, err := dir.OpenFile(base, os.O_WRONLY|os.O_CREATE|os.O_EXCL|syscall.O_NOFOLLOW, perm)
	if errors.Is(err, fs.ErrExist) {
		if dir, base, err = x.clear(r, rel); err == nil {
			f, err = dir.OpenFile(base, os.O_WRONLY|os.O_CREATE|os.O_EXCL|syscall.O_NOFOLLOW, perm)
		}
	}
	if err != nil {
		return fmt.Errorf("restore %s: %w", quoteName(rel), err)
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return fmt.Errorf("restore %s: %w", quoteName(rel), err)
	}
	ino := inodeOf(fi)
	if later {
		x.modes = append(x.modes, timedEntry{r, rel, mode, hdr.ModTime, ino})
	}
	var magic [4]byte
	isTar := false
	rewritten := 0
	if sparse {
		x.sparseLeft -= size
		rewritten, err = x.writeSparse(f, tr, size, extents, &magic)
	} else if hdr.Size <= smallFile {
		bp := smallBufs.Get().(*[]byte)
		b := (*bp)[:hdr.Size]
		if _, err = io.ReadFull(tr, b); err == nil {
			copy(magic[:], b)
			isTar = storepath.IsTar(b)
			rewritten = x.rw.ReplaceBytes(b)
			_, err = f.Write(b)
		}
		smallBufs.Put(bp)
	} else {
		var head [512]byte
		if _, err = io.ReadFull(tr, head[:]); err == nil {
			copy(magic[:], head[:])
			isTar = storepath.IsTar(head[:])
			w := x.rw.Writer(f)
			if _, err = io.Copy(w, io.MultiReader(bytes.NewReader(head[:]), tr)); err == nil {
				err = w.Close()
			}
			rewritten = w.Count()
		}
	}
	// The umask may have taken bits off the mode the file was created
	// with, and creating never sets the setuid, setgid and sticky bits.
	if err == nil && (perm&x.umask != 0 || mode&fs.ModeSticky != 0) {
		err = f.Chmod(perm | mode&fs.ModeSticky)
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		// Later steps (build-ids, ninja logs) keep modification times.
		err = dir.Chtimes(base, hdr.ModTime, hdr.ModTime)
	}
	if err != nil {
		return fmt.Errorf("restore %s: %w", quoteName(rel), err)
	}
	x.res.Files++
	x.res.Bytes += hdr.Size
	if rewritten > 0 {
		x.res.Rewritten++
	}
	x.written = append(x.written, writtenFile{root: r, rel: rel, path: filepath.Join(r.Name(), rel),
		rewritten: rewritten > 0, magic: magic, tar: isTar, sparse: sparse, inode: ino, tree: x.opts.Tree && r == x.roots[x.opts.Top]})
	return nil
}

// clear is dir, with whatever was at rel removed.
func (x *extractor) clear(r *os.Root, rel string) (*os.Root, string, error) {
	dir, base, err := x.dir(r, rel)
	if err != nil {
		return nil, "", err
	}
	// Whatever was there, the directory handles opened at or below it
	// must not be used again: an entry may put a symlink or another
	// directory in its place.
	x.forgetBelow(r, rel)
	err = dir.Remove(base)
	switch {
	case err == nil || errors.Is(err, fs.ErrNotExist):
		return dir, base, nil
	case errors.Is(err, syscall.ENOTEMPTY) || errors.Is(err, syscall.EEXIST):
		// A directory the archive replaces by a file.
		return dir, base, dir.RemoveAll(base)
	}
	return nil, "", err
}

// forgetBelow closes the directory handles of r at rel and below it (all
// of them for rel "").
func (x *extractor) forgetBelow(r *os.Root, rel string) {
	gone := false
	for _, key := range x.dirOrder {
		if key.root == r && (rel == "" || key.dir == rel || strings.HasPrefix(key.dir, rel+"/")) {
			x.dirRoots[key].Close()
			delete(x.dirRoots, key)
			gone = true
		}
	}
	if gone {
		x.dirOrder = slices.DeleteFunc(x.dirOrder, func(k dirKey) bool { _, ok := x.dirRoots[k]; return !ok })
	}
}

// dir returns the directory that holds rel, opened as a root of its own
// (so that opening files in it walks no path), and rel's base name. Each
// directory is opened from its parent's handle, one name at a time and
// never through a symlink, so that deep trees cost one open per
// directory.
func (x *extractor) dir(r *os.Root, rel string) (*os.Root, string, error) {
	d, base := path.Split(rel)
	if d = strings.TrimSuffix(d, "/"); d == "" {
		return r, base, nil
	}
	key := dirKey{r, d}
	if dir, ok := x.dirRoots[key]; ok {
		return dir, base, nil
	}
	parent, pbase, err := x.dir(r, d)
	if err != nil {
		return nil, "", err
	}
	dir, err := openDirNoFollow(parent, pbase)
	if err != nil {
		return nil, "", err
	}
	if len(x.dirOrder) == maxDirRoots {
		old := x.dirOrder[0]
		x.dirRoots[old].Close()
		delete(x.dirRoots, old)
		x.dirOrder = x.dirOrder[1:]
	}
	x.dirRoots[key] = dir
	x.dirOrder = append(x.dirOrder, key)
	return dir, base, nil
}

// maxDirRoots bounds the directories kept open while extracting; archive
// entries come directory by directory, and times walks them back.
const maxDirRoots = 256

type dirKey struct {
	root *os.Root
	dir  string
}

func (x *extractor) copyFile(fromRoot *os.Root, from string, dir *os.Root, base string) error {
	src, fi, err := openRegular(fromRoot, from, os.O_RDONLY)
	if err != nil {
		return fmt.Errorf("restore %s: %w", quoteName(base), err)
	}
	defer src.Close()
	dst, err := dir.OpenFile(base, os.O_WRONLY|os.O_CREATE|os.O_EXCL|syscall.O_NOFOLLOW, fi.Mode().Perm())
	if err != nil {
		return fmt.Errorf("restore %s: %w", quoteName(base), err)
	}
	if _, err := io.Copy(dst, io.LimitReader(src, fi.Size())); err != nil {
		dst.Close()
		return fmt.Errorf("restore %s: %w", quoteName(base), err)
	}
	if err := dst.Close(); err != nil {
		return err
	}
	return dir.Chtimes(base, fi.ModTime(), fi.ModTime())
}

// umask returns the process's umask as Linux reports it in
// /proc/self/status, or 0o777 (so that every mode is set explicitly) if it
// cannot be read. Reading it with umask(2) would mean setting it, which
// races with other goroutines creating files.
func umask() fs.FileMode {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0o777
	}
	for line := range strings.Lines(string(data)) {
		if v, ok := strings.CutPrefix(line, "Umask:"); ok {
			if m, err := strconv.ParseUint(strings.TrimSpace(v), 8, 32); err == nil {
				return fs.FileMode(m)
			}
		}
	}
	return 0o777
}

// times restores the modes of files created with other ones, then the
// modes and modification times of directories, from the deepest up, since
// creating entries changes a directory's time. Each is applied only to
// the file or directory it was recorded for: a later entry of the same
// name (a file where a directory was, a symlink) keeps its own.
func (x *extractor) times() error {
	for _, e := range x.modes {
		if err := x.setMode(e, false); err != nil {
			return err
		}
	}
	for i := len(x.dirs) - 1; i >= 0; i-- {
		if err := x.setMode(x.dirs[i], true); err != nil {
			return err
		}
	}
	return nil
}

// setMode gives the entry e its mode, and its time too for a directory,
// if its name still is what was restored.
func (x *extractor) setMode(e timedEntry, isDir bool) error {
	dir, base, err := x.dir(e.root, e.rel)
	if err != nil {
		var nr *NotRegularError
		if errors.Is(err, fs.ErrNotExist) || errors.As(err, &nr) {
			return nil // removed or replaced by a later entry
		}
		return fmt.Errorf("restore %s: %w", quoteName(e.rel), err)
	}
	fi, err := dir.Lstat(base)
	if err != nil || inodeOf(fi) != e.inode || fi.IsDir() != isDir {
		return nil // replaced by a later entry, which has its own
	}
	if err := dir.Chmod(base, e.mode.Perm()|e.mode&fs.ModeSticky); err != nil {
		return fmt.Errorf("restore %s: %w", quoteName(e.rel), err)
	}
	if isDir {
		if err := dir.Chtimes(base, e.mtime, e.mtime); err != nil {
			return fmt.Errorf("restore %s: %w", quoteName(e.rel), err)
		}
	}
	return nil
}
