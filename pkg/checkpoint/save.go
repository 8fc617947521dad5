package checkpoint

import (
	"archive/tar"
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"sort"
	"sync"
	"syscall"
	"unicode/utf8"

	"github.com/klauspost/compress/zstd"
	"golang.org/x/sync/errgroup"
)

// SaveOptions say what Save puts into a checkpoint.
type SaveOptions struct {
	// Dir is the checkpoint directory to write; it is created if missing.
	// It may lie anywhere, inside Top or not; when inside, Skip must
	// leave it out.
	Dir string
	// Name is the derivation's name, recorded in the manifest.
	Name string
	// Top is the build directory ($NIX_BUILD_TOP).
	Top string
	// Tree says whether to save the build tree under Top.
	Tree bool
	// Skip leaves out relative paths of Top (and what is below them).
	// Nix's own files there (see [NixFile]) are always left out.
	Skip func(rel string) bool
	// Snapshot, taken after unpacking, lets Save leave out files the build
	// did not touch. Nil saves every file of Top.
	Snapshot *Snapshot
	// Outputs maps output names to the paths to save. An output path that
	// does not exist is recorded in the manifest but not archived.
	Outputs map[string]string
	// Warn, when not nil, receives one line for each entry that cannot be
	// saved (sockets and devices).
	Warn func(msg string)
	// SourceCopy, with Tree, is asked once the pristine files are known
	// (how many, how many bytes) whether to write a copy of them next to
	// the archive ([SourceCopyFile]), from which a restore can bring them
	// back faster than from the sources, whatever unpacked them. The copy
	// costs compressing them (zstd's fastest level) and its space. Nil
	// writes none.
	SourceCopy func(files int, bytes int64) bool
	// Previous is the checkpoint this build restored, if any, after
	// the Snapshot was taken: a pristine file it lists with the same
	// size, mode and time was checked against its digest when restored
	// and has not changed since (the snapshot says so), so Save takes
	// the digest from it instead of reading the file again.
	Previous string
	// Prepared is the directory where [Prepare] wrote, for the same
	// Snapshot, what it did ahead of the save; "" for none. The
	// checkpoint is the same bytes with or without it.
	Prepared string
}

// pristineEntry is one line of pristine.zst. Path holds the name when it
// is valid UTF-8 (JSON strings cannot hold other bytes), RawPath otherwise.
type pristineEntry struct {
	Path    string      `json:"p,omitempty"`
	RawPath []byte      `json:"r,omitempty"`
	Size    int64       `json:"s"`
	Mode    fs.FileMode `json:"m"`
	Mtime   int64       `json:"t"`
	// Digest is the SHA-256 of the content.
	Digest []byte `json:"d"`
	// ino is the file's inode number when saved (not recorded): the
	// source copy writes names sharing one as hard links.
	ino uint64
}

func (e *pristineEntry) name() string {
	if e.RawPath != nil {
		return string(e.RawPath)
	}
	return e.Path
}

// Save writes a checkpoint and returns its manifest. The manifest is
// written last, so a directory without one is an incomplete checkpoint:
// Save removes the manifest of a checkpoint already there first, writes
// the other files under a temporary directory inside Dir, and moves them
// into place only when all of them are complete. A failed save leaves no
// manifest and no temporary files.
func Save(opts SaveOptions) (*Manifest, error) {
	if err := os.MkdirAll(opts.Dir, 0o755); err != nil {
		return nil, fmt.Errorf("save checkpoint: %w", err)
	}
	if err := os.Remove(filepath.Join(opts.Dir, ManifestFile)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("save checkpoint: %w", err)
	}
	final := opts.Dir
	tmp, err := os.MkdirTemp(opts.Dir, ".saving-")
	if err != nil {
		return nil, fmt.Errorf("save checkpoint: %w", err)
	}
	defer os.RemoveAll(tmp)
	opts.Dir = tmp
	m := &Manifest{Version: Version, Name: opts.Name, BuildTop: opts.Top, Tree: opts.Tree, Outputs: opts.Outputs}
	if m.Outputs == nil {
		m.Outputs = map[string]string{}
	}
	a, err := createArchive(filepath.Join(tmp, ArchiveFile))
	if err != nil {
		return nil, err
	}
	defer a.abort()
	a.warn = opts.Warn
	var orders dirOrders
	var pristine []pristineEntry
	part := -1
	var before Part
	if opts.Tree {
		if pristine, err = saveTree(opts, m, a, &orders); err != nil {
			return nil, err
		}
		if part, err = a.cut(); err != nil {
			return nil, err
		}
		before = Part{Entries: a.entries, Files: a.files, Bytes: a.bytes, SparseSize: a.sparseSize}
	}
	for _, name := range sortedKeys(opts.Outputs) {
		if err := saveOutput(name, opts.Outputs[name], a, &orders); err != nil {
			return nil, err
		}
	}
	known, err := previousDigests(opts.Previous)
	if err != nil {
		return nil, err
	}
	// The layout only for a copy or a Prepare to take from: sorting the
	// snapshot's names costs a save that needs neither.
	withCopy := opts.Tree && opts.SourceCopy != nil && len(pristine) > 0 && opts.SourceCopy(len(pristine), m.Stats.PristineBytes)
	var layout *copyLayout
	prep := &prepared{}
	if len(pristine) > 0 && (withCopy || opts.Prepared != "") {
		layout = newCopyLayout(opts.Snapshot)
		if prep, err = readPrepared(opts.Prepared, layout); err != nil {
			return nil, err
		}
		defer prep.close()
	}
	names := []string{ArchiveFile, PristineFile, OrderFile}
	if withCopy {
		if m.Stats.SourceCopy, m.Stats.PreparedGroups, err = digestAndCopy(opts.Top, pristine, layout, prep, filepath.Join(tmp, SourceCopyFile)); err != nil {
			return nil, err
		}
		m.Stats.CopyGroups = layout.groups()
		names = append(names, SourceCopyFile)
	} else if err := digestAll(opts.Top, pristine, prep.digests(layout, known)); err != nil {
		return nil, fmt.Errorf("save %s: %w", opts.Top, err)
	}
	if m.PristineSize, err = writePristine(filepath.Join(opts.Dir, PristineFile), pristine); err != nil {
		return nil, err
	}
	if m.OrderSize, err = orders.write(filepath.Join(opts.Dir, OrderFile)); err != nil {
		return nil, fmt.Errorf("save checkpoint: %w", err)
	}
	sum, size, err := a.close()
	if err != nil {
		return nil, err
	}
	m.Archive = sum
	m.Stats.Entries, m.Stats.Files, m.Stats.Bytes, m.Stats.Compressed = a.entries, a.files, a.bytes, size
	m.Stats.Sparse, m.Stats.SparseSize = a.sparse, a.sparseSize
	if part >= 0 {
		m.OutputsPart = &Part{Offset: a.zw.offset(part), Entries: a.entries - before.Entries, Files: a.files - before.Files,
			Bytes: a.bytes - before.Bytes, SparseSize: a.sparseSize - before.SparseSize}
	}
	if err := os.Remove(filepath.Join(final, SourceCopyFile)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("save checkpoint: %w", err)
	}
	for _, name := range names {
		if err := os.Rename(filepath.Join(tmp, name), filepath.Join(final, name)); err != nil {
			return nil, fmt.Errorf("save checkpoint: %w", err)
		}
	}
	if err := writeManifest(final, m); err != nil {
		return nil, fmt.Errorf("save checkpoint: %w", err)
	}
	return m, nil
}

// saveTree archives what the build generated or changed under Top and
// returns the files left to the source.
func saveTree(opts SaveOptions, m *Manifest, a *archive, orders *dirOrders) ([]pristineEntry, error) {
	var pristine []pristineEntry
	seen := map[string]bool{}
	err := walkOrder(opts.Top, treeSkip(opts.Skip), func(rel string, fi fs.FileInfo) error {
		seen[rel] = true
		if opts.Snapshot != nil && fi.Mode().IsRegular() {
			if was, ok := opts.Snapshot.Entries[rel]; ok && unchanged(was, fi) {
				e := pristineEntry{Path: rel, Size: fi.Size(), Mode: fi.Mode(), Mtime: fi.ModTime().UnixNano(), ino: was.Ino}
				if !utf8.ValidString(rel) {
					e.Path, e.RawPath = "", []byte(rel)
				}
				pristine = append(pristine, e)
				m.Stats.Pristine++
				m.Stats.PristineBytes += fi.Size()
				return nil
			}
		}
		return a.add(path.Join("tree", rel), filepath.Join(opts.Top, rel), fi)
	}, orders.recorder("tree"))
	if err != nil {
		return nil, fmt.Errorf("save %s: %w", opts.Top, err)
	}
	if opts.Snapshot != nil {
		for rel := range opts.Snapshot.Entries {
			if !seen[rel] && !treeSkip(opts.Skip)(rel) {
				m.Deleted = append(m.Deleted, rel)
			}
		}
		sort.Strings(m.Deleted)
		m.Deleted = topmost(m.Deleted)
	}
	return pristine, nil
}

// saveOutput archives one output, if it exists.
func saveOutput(name, p string, a *archive, orders *dirOrders) error {
	fi, err := os.Lstat(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("save output %s: %w", name, err)
	}
	if err := a.add(path.Join("outputs", name), p, fi); err != nil {
		return fmt.Errorf("save output %s: %w", name, err)
	}
	if !fi.IsDir() {
		return nil
	}
	restore, err := grant(p, fi.Mode(), 0o500)
	if err != nil {
		return fmt.Errorf("save output %s: %w", name, err)
	}
	err = walkOrder(p, nil, func(rel string, fi fs.FileInfo) error {
		return a.add(path.Join("outputs", name, rel), filepath.Join(p, rel), fi)
	}, orders.recorder(path.Join("outputs", name)))
	if rerr := restore(); err == nil {
		err = rerr
	}
	if err != nil {
		return fmt.Errorf("save output %s: %w", name, err)
	}
	return nil
}

// previousDigests reads the pristine list of the checkpoint in dir, if
// dir is not empty.
func previousDigests(dir string) (map[string]*pristineEntry, error) {
	if dir == "" {
		return nil, nil
	}
	m, err := ReadManifest(dir)
	if err != nil {
		return nil, fmt.Errorf("save checkpoint: the previous checkpoint: %w", err)
	}
	entries, err := readPristine(dir, m.PristineSize, m.Stats.Pristine)
	if err != nil {
		return nil, fmt.Errorf("save checkpoint: the previous checkpoint: %w", err)
	}
	known := make(map[string]*pristineEntry, len(entries))
	for i := range entries {
		known[entries[i].name()] = &entries[i]
	}
	return known, nil
}

// digestAll fills in the digests of the pristine files, several at once,
// taking those of known files with the same size, mode and time.
func digestAll(top string, entries []pristineEntry, known map[string]*pristineEntry) error {
	g := new(errgroup.Group)
	g.SetLimit(runtime.GOMAXPROCS(0))
	for i := range entries {
		e := &entries[i]
		if k := known[e.name()]; k != nil && k.Size == e.Size && k.Mode == e.Mode && k.Mtime == e.Mtime && len(k.Digest) == sha256.Size {
			e.Digest = k.Digest
			continue
		}
		g.Go(func() error {
			f, err := openRead(filepath.Join(top, e.name()), e.Mode)
			if err != nil {
				return err
			}
			defer f.Close()
			e.Digest, err = contentDigest(f, e.Size)
			if err != nil {
				return fmt.Errorf("%s: %w", e.name(), err)
			}
			return nil
		})
	}
	return g.Wait()
}

// digestBufs holds the buffers contentDigest reads through. A fresh
// buffer per file (what io.Copy from an *os.File allocates) cost a
// Linux-sized source (78,579 files) 2.5 GB of allocation and about a
// third of the save's CPU time in clearing and collecting it.
var digestBufs = sync.Pool{New: func() any { b := make([]byte, 256<<10); return &b }}

// contentDigest returns the SHA-256 of r's content, which must be size bytes.
func contentDigest(r io.Reader, size int64) ([]byte, error) {
	bp := digestBufs.Get().(*[]byte)
	defer digestBufs.Put(bp)
	buf := *bp
	h := sha256.New()
	var n int64
	for {
		m, err := r.Read(buf)
		h.Write(buf[:m])
		n += int64(m)
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		if n > size {
			break
		}
	}
	if n != size {
		return nil, fmt.Errorf("read %d bytes, expected %d", n, size)
	}
	return h.Sum(nil), nil
}

// unchanged reports whether a regular file is the one the snapshot saw.
func unchanged(was Identity, fi fs.FileInfo) bool {
	now := identify(fi)
	return was.Mode.IsRegular() && was.Ino == now.Ino && was.Ctime == now.Ctime && was.Size == now.Size && was.Mtime == now.Mtime
}

// topmost drops paths that lie below another path of the sorted list.
func topmost(paths []string) []string {
	var out []string
	for _, p := range paths {
		if n := len(out); n > 0 && len(p) > len(out[n-1]) && p[:len(out[n-1])+1] == out[n-1]+"/" {
			continue
		}
		out = append(out, p)
	}
	return out
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// writePristine writes the list of pristine files and returns its size
// uncompressed, which the manifest records to bound reading it back.
func writePristine(name string, entries []pristineEntry) (int64, error) {
	f, err := os.Create(name)
	if err != nil {
		return 0, fmt.Errorf("save checkpoint: %w", err)
	}
	defer f.Close()
	zw, err := zstd.NewWriter(f)
	if err != nil {
		return 0, err
	}
	cw := &countingWriter{w: zw}
	enc := json.NewEncoder(cw)
	for _, e := range entries {
		if err := enc.Encode(e); err != nil {
			return 0, fmt.Errorf("save checkpoint: %w", err)
		}
	}
	if err := zw.Close(); err != nil {
		return 0, fmt.Errorf("save checkpoint: %w", err)
	}
	return cw.n, f.Close()
}

// archive writes tree.tar.zst.
type archive struct {
	f     *os.File
	sum   hash.Hash
	count *countingWriter
	buf   *bufio.Writer
	zw    *frameWriter
	tw    *tar.Writer
	links map[[2]uint64]string
	warn  func(string)
	// entries counts every entry, files the regular files.
	entries, files int
	bytes          int64
	// sparse and sparseSize count sparse files and their apparent sizes.
	sparse     int
	sparseSize int64
	done       bool
}

type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

func createArchive(name string) (*archive, error) {
	f, err := os.Create(name)
	if err != nil {
		return nil, fmt.Errorf("save checkpoint: %w", err)
	}
	a := &archive{f: f, sum: sha256.New(), links: map[[2]uint64]string{}}
	a.count = &countingWriter{w: io.MultiWriter(f, a.sum)}
	a.buf = bufio.NewWriterSize(a.count, 1<<20)
	a.zw, err = newFrameWriter(a.buf, zstd.SpeedFastest)
	if err != nil {
		f.Close()
		return nil, err
	}
	a.tw = tar.NewWriter(a.zw)
	return a, nil
}

// header builds the tar header of an entry by hand: tar.FileInfoHeader
// looks up user and group names for every file, which costs more than
// archiving small files, and a checkpoint records neither owner. ok is
// false for entries that cannot be carried over.
func (a *archive) header(name, src string, fi fs.FileInfo) (hdr *tar.Header, ok bool, err error) {
	mode := fi.Mode()
	hdr = &tar.Header{
		Name:       name,
		Mode:       int64(mode.Perm()),
		ModTime:    fi.ModTime(),
		AccessTime: fi.ModTime(),
		ChangeTime: fi.ModTime(),
		Format:     tar.FormatPAX,
	}
	for bit, m := range map[fs.FileMode]int64{fs.ModeSetuid: 0o4000, fs.ModeSetgid: 0o2000, fs.ModeSticky: 0o1000} {
		if mode&bit != 0 {
			hdr.Mode |= m
		}
	}
	switch {
	case mode&fs.ModeSymlink != 0:
		target, err := os.Readlink(src)
		if err != nil {
			return nil, false, err
		}
		hdr.Typeflag, hdr.Linkname = tar.TypeSymlink, target
	case mode.IsDir():
		hdr.Typeflag, hdr.Name = tar.TypeDir, name+"/"
	case mode.IsRegular():
		hdr.Typeflag, hdr.Size = tar.TypeReg, fi.Size()
	case mode&fs.ModeNamedPipe != 0:
		// Created again on restore, never opened.
		hdr.Typeflag = tar.TypeFifo
	default:
		// A socket lives only as long as the process listening on it, and
		// a build cannot have made a device node.
		if a.warn != nil {
			a.warn(fmt.Sprintf("not saving %s: a %s cannot be carried over to the next stage", src, kind(mode)))
		}
		return nil, false, nil
	}
	return hdr, true, nil
}

func kind(mode fs.FileMode) string {
	switch {
	case mode&fs.ModeSocket != 0:
		return "socket"
	case mode&fs.ModeCharDevice != 0:
		return "character device"
	case mode&fs.ModeDevice != 0:
		return "block device"
	}
	return "special file"
}

// add archives the file at src under name.
func (a *archive) add(name, src string, fi fs.FileInfo) error {
	hdr, ok, err := a.header(name, src, fi)
	if err != nil || !ok {
		return err
	}
	a.entries++
	st, _ := fi.Sys().(*syscall.Stat_t)
	if st != nil && (fi.Mode().IsRegular() || fi.Mode()&fs.ModeNamedPipe != 0) && st.Nlink > 1 {
		key := [2]uint64{uint64(st.Dev), st.Ino}
		if first, ok := a.links[key]; ok {
			hdr.Typeflag, hdr.Linkname, hdr.Size = tar.TypeLink, first, 0
			return a.tw.WriteHeader(hdr)
		}
		a.links[key] = name
	}
	if !fi.Mode().IsRegular() {
		return a.tw.WriteHeader(hdr)
	}
	f, err := openRead(src, fi.Mode())
	if err != nil {
		return err
	}
	defer f.Close()
	var extents []extent
	if st != nil && st.Blocks*512 < fi.Size() {
		if extents, err = dataExtents(f, fi.Size()); err != nil {
			return fmt.Errorf("archive %s: %w", src, err)
		}
		if extents != nil {
			setSparse(hdr, extents)
			a.sparse++
			a.sparseSize += fi.Size()
		}
	}
	if err := a.tw.WriteHeader(hdr); err != nil {
		return fmt.Errorf("archive %s: %w", src, err)
	}
	var n int64
	if extents != nil {
		n, err = copyExtents(a.tw, f, extents)
	} else {
		n, err = io.Copy(a.tw, f)
	}
	if err != nil {
		return fmt.Errorf("archive %s: %w", src, err)
	}
	if n != hdr.Size {
		return fmt.Errorf("archive %s: file changed size while being saved", src)
	}
	a.files++
	a.bytes += n
	return nil
}

// cut ends the zstd frame being filled after the last entry: the next
// entry starts the frame whose index it returns, at the start of a tar
// stream of its own.
func (a *archive) cut() (int, error) {
	if err := a.tw.Flush(); err != nil {
		return 0, fmt.Errorf("save checkpoint: %w", err)
	}
	return a.zw.Cut(), nil
}

// close finishes the archive and returns its digest and size.
func (a *archive) close() (string, int64, error) {
	a.done = true
	for _, c := range []func() error{a.tw.Close, a.zw.Close, a.buf.Flush, a.f.Sync, a.f.Close} {
		if err := c(); err != nil {
			return "", 0, fmt.Errorf("save checkpoint: %w", err)
		}
	}
	return hex.EncodeToString(a.sum.Sum(nil)), a.count.n, nil
}

func (a *archive) abort() {
	if !a.done {
		a.zw.Close()
		a.f.Close()
	}
}
