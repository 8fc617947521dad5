package checkpoint

import (
	"archive/tar"
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
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
	return fmt.Sprintf("%s: %s: the source differs from the one the checkpoint was built from", e.Path, e.Reason)
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
	res := &Result{Manifest: m, Rewrite: strings.NewReplacer(pairs...).Replace}
	x := &extractor{rw: rw, reverse: reverse, roots: map[string]*os.Root{}, dirRoots: map[dirKey]*os.Root{}, opts: opts, res: res, umask: umask(),
		sparseLeft: m.Stats.SparseSize}
	defer x.closeRoots()
	tree := opts.Tree && m.Tree
	if opts.Tree && !m.Tree {
		return nil, fmt.Errorf("restore %s: the checkpoint holds no build tree", opts.Dir)
	}
	if tree {
		if err := x.checkPristine(); err != nil {
			return nil, err
		}
		top, err := x.root(opts.Top)
		if err != nil {
			return nil, err
		}
		for _, rel := range m.Deleted {
			if err := top.RemoveAll(rel); err != nil {
				return nil, fmt.Errorf("restore: remove %s: %w", rel, err)
			}
		}
	}
	if err := x.extract(ctx); err != nil {
		return nil, err
	}
	if moved && tree {
		if err := x.relocate(m.BuildTop, opts.Top); err != nil {
			return nil, err
		}
	}
	// After every rewrite of the bytes: fix-ups hash the final content.
	if err := x.fixup(ctx); err != nil {
		return nil, err
	}
	if err := x.reorder(); err != nil {
		return nil, err
	}
	if err := x.times(); err != nil {
		return nil, err
	}
	return res, nil
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
	// reverse maps the new hashes back, to look at files as they were.
	reverse *storepath.Rewriter
	roots   map[string]*os.Root
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
	// digested lists the files in which digests were replaced.
	digested map[string]bool
	// dirRoots caches directories opened as roots, oldest first in dirOrder.
	dirRoots map[dirKey]*os.Root
	dirOrder []dirKey
	// umask is the process's file mode creation mask.
	umask fs.FileMode
}

type writtenFile struct {
	path      string
	rewritten bool
	magic     [4]byte
	sparse    bool
}

type timedEntry struct {
	root  *os.Root
	rel   string
	mode  fs.FileMode
	mtime time.Time
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
	for _, r := range x.roots {
		r.Close()
	}
}

// target maps an archive name to the root it goes into and the path
// relative to that root; ok is false for entries this restore skips.
func (x *extractor) target(name string) (r *os.Root, rel string, ok bool, err error) {
	name = strings.TrimSuffix(name, "/")
	if name != path.Clean(name) || path.IsAbs(name) || strings.HasPrefix(name, "../") || strings.Contains(name, "/../") {
		return nil, "", false, fmt.Errorf("archive entry %q is not a clean relative path", name)
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
			return nil, "", false, fmt.Errorf("archive entry %q names output %q, which this build does not have", name, out)
		}
		r, err := x.root(filepath.Dir(p))
		return r, path.Join(filepath.Base(p), inner), true, err
	}
	return nil, "", false, fmt.Errorf("archive entry %q is neither tree/ nor outputs/", name)
}

func (x *extractor) extract(ctx context.Context) error {
	name := filepath.Join(x.opts.Dir, ArchiveFile)
	f, err := os.Open(name)
	if err != nil {
		return &CorruptError{Dir: x.opts.Dir, Err: err}
	}
	defer f.Close()
	sum := sha256.New()
	zr, err := zstd.NewReader(bufio.NewReaderSize(io.TeeReader(f, sum), 1<<20))
	if err != nil {
		return &CorruptError{Dir: x.opts.Dir, Err: err}
	}
	defer zr.Close()
	tr := tar.NewReader(zr)
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
			if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, zstd.ErrMagicMismatch) {
				return &CorruptError{Dir: x.opts.Dir, Err: err}
			}
			return err
		}
	}
	// Read to the end so that the digest covers the whole file.
	if _, err := io.Copy(io.Discard, zr); err != nil {
		return &CorruptError{Dir: x.opts.Dir, Err: err}
	}
	if got := hex.EncodeToString(sum.Sum(nil)); got != x.res.Manifest.Archive {
		return &CorruptError{Dir: x.opts.Dir, Err: fmt.Errorf("%s has digest %s, the manifest says %s", ArchiveFile, got, x.res.Manifest.Archive)}
	}
	return nil
}

func (x *extractor) entry(hdr *tar.Header, tr *tar.Reader) error {
	// A file named after a store hash (stamp-HASH-pkg) is renamed too.
	hdr.Name, _ = x.rw.String(hdr.Name)
	if hdr.Typeflag == tar.TypeLink {
		hdr.Linkname, _ = x.rw.String(hdr.Linkname)
	}
	r, rel, ok, err := x.target(hdr.Name)
	if err != nil || !ok {
		return err
	}
	mode := hdr.FileInfo().Mode()
	if hdr.Typeflag == tar.TypeDir {
		fi, err := r.Lstat(rel)
		if err == nil && !fi.IsDir() {
			if err := r.Remove(rel); err != nil {
				return fmt.Errorf("restore %s: %w", rel, err)
			}
		}
		if err != nil || !fi.IsDir() {
			if err := r.Mkdir(rel, 0o700); err != nil {
				return fmt.Errorf("restore %s: %w", rel, err)
			}
		}
		x.dirs = append(x.dirs, timedEntry{r, rel, mode, hdr.ModTime})
		return nil
	}
	if hdr.Typeflag == tar.TypeReg {
		return x.regular(r, rel, mode, hdr, tr)
	}
	dir, base, err := x.clear(r, rel)
	if err != nil {
		return fmt.Errorf("restore %s: %w", rel, err)
	}
	switch hdr.Typeflag {
	case tar.TypeFifo:
		if err := mkfifo(dir, base, mode, hdr.ModTime); err != nil {
			return fmt.Errorf("restore %s: %w", rel, err)
		}
	case tar.TypeSymlink:
		target, _ := x.rw.String(hdr.Linkname)
		if err := dir.Symlink(target, base); err != nil {
			return fmt.Errorf("restore %s: %w", rel, err)
		}
	case tar.TypeLink:
		lr, lrel, ok, err := x.target(hdr.Linkname)
		if err != nil || !ok {
			return fmt.Errorf("restore %s: hard link to %q: %v", rel, hdr.Linkname, err)
		}
		if lr == r {
			if err := r.Link(lrel, rel); err != nil {
				return fmt.Errorf("restore %s: %w", rel, err)
			}
			return nil
		}
		return x.linkAcross(lr, lrel, r, rel)
	default:
		return fmt.Errorf("restore %s: unsupported archive entry type %q", rel, hdr.Typeflag)
	}
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
	// permission; times gives it its mode.
	perm := mode.Perm()
	if perm&0o600 != 0o600 {
		perm |= 0o600
		x.modes = append(x.modes, timedEntry{r, rel, mode, hdr.ModTime})
	}
	// Build trees mostly gain files, so create first and clear the way
	// only when something is there (a source file the build changed).
	f, err := dir.OpenFile(base, os.O_WRONLY|os.O_CREATE|os.O_EXCL, perm)
	if errors.Is(err, fs.ErrExist) {
		if dir, base, err = x.clear(r, rel); err == nil {
			f, err = dir.OpenFile(base, os.O_WRONLY|os.O_CREATE|os.O_EXCL, perm)
		}
	}
	if err != nil {
		return fmt.Errorf("restore %s: %w", rel, err)
	}
	var magic [4]byte
	rewritten := 0
	if sparse {
		x.sparseLeft -= size
		rewritten, err = x.writeSparse(f, tr, size, extents, &magic)
	} else if hdr.Size <= smallFile {
		bp := smallBufs.Get().(*[]byte)
		b := (*bp)[:hdr.Size]
		if _, err = io.ReadFull(tr, b); err == nil {
			copy(magic[:], b)
			rewritten = x.rw.Bytes(b)
			_, err = f.Write(b)
		}
		smallBufs.Put(bp)
	} else {
		if _, err = io.ReadFull(tr, magic[:]); err == nil {
			w := x.rw.Writer(f)
			if _, err = io.Copy(w, io.MultiReader(bytes.NewReader(magic[:]), tr)); err == nil {
				err = w.Close()
			}
			rewritten = w.Count()
		}
	}
	// The umask may have taken bits off the mode the file was created
	// with, and creating never sets the setuid, setgid and sticky bits.
	if err == nil && (perm&x.umask != 0 || mode&(fs.ModeSetuid|fs.ModeSetgid|fs.ModeSticky) != 0) {
		err = f.Chmod(perm | mode&(fs.ModeSetuid|fs.ModeSetgid|fs.ModeSticky))
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		// Later steps (build-ids, ninja logs) keep modification times.
		err = dir.Chtimes(base, hdr.ModTime, hdr.ModTime)
	}
	if err != nil {
		return fmt.Errorf("restore %s: %w", rel, err)
	}
	x.res.Files++
	x.res.Bytes += hdr.Size
	if rewritten > 0 {
		x.res.Rewritten++
	}
	x.written = append(x.written, writtenFile{filepath.Join(r.Name(), rel), rewritten > 0, magic, sparse})
	return nil
}

// clear is dir, with whatever was at rel removed.
func (x *extractor) clear(r *os.Root, rel string) (*os.Root, string, error) {
	dir, base, err := x.dir(r, rel)
	if err != nil {
		return nil, "", err
	}
	err = dir.Remove(base)
	switch {
	case err == nil || errors.Is(err, fs.ErrNotExist):
		return dir, base, nil
	case errors.Is(err, syscall.ENOTEMPTY) || errors.Is(err, syscall.EEXIST):
		// A directory the archive replaces by a file: forget the roots
		// opened below it.
		for _, key := range x.dirOrder {
			if key.root == r && (key.dir == rel || strings.HasPrefix(key.dir, rel+"/")) {
				x.dirRoots[key].Close()
				delete(x.dirRoots, key)
			}
		}
		x.dirOrder = slices.DeleteFunc(x.dirOrder, func(k dirKey) bool { _, ok := x.dirRoots[k]; return !ok })
		return dir, base, dir.RemoveAll(base)
	}
	return nil, "", err
}

// dir returns the directory that holds rel, opened as a root of its own
// (so that opening files in it walks no path), and rel's base name.
func (x *extractor) dir(r *os.Root, rel string) (*os.Root, string, error) {
	d, base := path.Split(rel)
	dir := r
	if d = strings.TrimSuffix(d, "/"); d != "" {
		key := dirKey{r, d}
		var ok bool
		if dir, ok = x.dirRoots[key]; !ok {
			var err error
			if dir, err = r.OpenRoot(d); err != nil {
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
		}
	}
	return dir, base, nil
}

// maxDirRoots bounds the directories kept open while extracting; archive
// entries come directory by directory, so a few suffice.
const maxDirRoots = 32

type dirKey struct {
	root *os.Root
	dir  string
}

func (x *extractor) copyFile(fromRoot *os.Root, from string, dir *os.Root, base string) error {
	src, err := fromRoot.Open(from)
	if err != nil {
		return fmt.Errorf("restore %s: %w", base, err)
	}
	defer src.Close()
	fi, err := src.Stat()
	if err != nil {
		return err
	}
	dst, err := dir.OpenFile(base, os.O_WRONLY|os.O_CREATE|os.O_EXCL, fi.Mode().Perm())
	if err != nil {
		return fmt.Errorf("restore %s: %w", base, err)
	}
	if _, err := io.Copy(dst, src); err != nil {
		dst.Close()
		return fmt.Errorf("restore %s: %w", base, err)
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
// creating entries changes a directory's time.
func (x *extractor) times() error {
	for _, e := range x.modes {
		if err := e.root.Chmod(e.rel, e.mode.Perm()|e.mode&(fs.ModeSetuid|fs.ModeSetgid|fs.ModeSticky)); err != nil {
			return fmt.Errorf("restore %s: %w", e.rel, err)
		}
	}
	for i := len(x.dirs) - 1; i >= 0; i-- {
		e := x.dirs[i]
		if err := e.root.Chmod(e.rel, e.mode.Perm()|e.mode&(fs.ModeSetuid|fs.ModeSetgid|fs.ModeSticky)); err != nil {
			return fmt.Errorf("restore %s: %w", e.rel, err)
		}
		if err := e.root.Chtimes(e.rel, e.mtime, e.mtime); err != nil {
			return fmt.Errorf("restore %s: %w", e.rel, err)
		}
	}
	return nil
}
