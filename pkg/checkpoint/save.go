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
	"sort"
	"syscall"

	"github.com/klauspost/compress/zstd"
)

// SaveOptions say what Save puts into a checkpoint.
type SaveOptions struct {
	// Dir is the checkpoint directory to write; it is created if missing.
	Dir string
	// Name is the derivation's name, recorded in the manifest.
	Name string
	// Top is the build directory ($NIX_BUILD_TOP).
	Top string
	// Tree says whether to save the build tree under Top.
	Tree bool
	// Skip leaves out relative paths of Top (and what is below them).
	Skip func(rel string) bool
	// Snapshot, taken after unpacking, lets Save leave out files the build
	// did not touch. Nil saves every file of Top.
	Snapshot *Snapshot
	// Outputs maps output names to the paths to save. An output path that
	// does not exist is recorded in the manifest but not archived.
	Outputs map[string]string
}

// pristineEntry is one line of pristine.zst.
type pristineEntry struct {
	Path  string      `json:"p"`
	Size  int64       `json:"s"`
	Mode  fs.FileMode `json:"m"`
	Mtime int64       `json:"t"`
}

// Save writes a checkpoint and returns its manifest. The manifest is
// written last, so a directory without one is an incomplete checkpoint.
func Save(opts SaveOptions) (*Manifest, error) {
	if err := os.MkdirAll(opts.Dir, 0o755); err != nil {
		return nil, fmt.Errorf("save checkpoint: %w", err)
	}
	m := &Manifest{Version: Version, Name: opts.Name, BuildTop: opts.Top, Tree: opts.Tree, Outputs: opts.Outputs}
	if m.Outputs == nil {
		m.Outputs = map[string]string{}
	}
	a, err := createArchive(filepath.Join(opts.Dir, ArchiveFile))
	if err != nil {
		return nil, err
	}
	defer a.abort()

	var pristine []pristineEntry
	if opts.Tree {
		seen := map[string]bool{}
		err := walk(opts.Top, opts.Skip, func(rel string, fi fs.FileInfo) error {
			seen[rel] = true
			if opts.Snapshot != nil && fi.Mode().IsRegular() {
				if was, ok := opts.Snapshot.Entries[rel]; ok && unchanged(was, fi) {
					pristine = append(pristine, pristineEntry{rel, fi.Size(), fi.Mode(), fi.ModTime().UnixNano()})
					m.Stats.Pristine++
					m.Stats.PristineBytes += fi.Size()
					return nil
				}
			}
			return a.add(path.Join("tree", rel), filepath.Join(opts.Top, rel), fi)
		})
		if err != nil {
			return nil, fmt.Errorf("save %s: %w", opts.Top, err)
		}
		if opts.Snapshot != nil {
			for rel := range opts.Snapshot.Entries {
				if !seen[rel] {
					m.Deleted = append(m.Deleted, rel)
				}
			}
			sort.Strings(m.Deleted)
			m.Deleted = topmost(m.Deleted)
		}
	}
	for _, name := range sortedKeys(opts.Outputs) {
		p := opts.Outputs[name]
		fi, err := os.Lstat(p)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("save output %s: %w", name, err)
		}
		if err := a.add(path.Join("outputs", name), p, fi); err != nil {
			return nil, fmt.Errorf("save output %s: %w", name, err)
		}
		if fi.IsDir() {
			err := walk(p, nil, func(rel string, fi fs.FileInfo) error {
				return a.add(path.Join("outputs", name, rel), filepath.Join(p, rel), fi)
			})
			if err != nil {
				return nil, fmt.Errorf("save output %s: %w", name, err)
			}
		}
	}
	if err := writePristine(filepath.Join(opts.Dir, PristineFile), pristine); err != nil {
		return nil, err
	}
	sum, size, err := a.close()
	if err != nil {
		return nil, err
	}
	m.Archive = sum
	m.Stats.Files, m.Stats.Bytes, m.Stats.Compressed = a.files, a.bytes, size
	if err := writeManifest(opts.Dir, m); err != nil {
		return nil, fmt.Errorf("save checkpoint: %w", err)
	}
	return m, nil
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

func writePristine(name string, entries []pristineEntry) error {
	f, err := os.Create(name)
	if err != nil {
		return fmt.Errorf("save checkpoint: %w", err)
	}
	defer f.Close()
	zw, err := zstd.NewWriter(f)
	if err != nil {
		return err
	}
	enc := json.NewEncoder(zw)
	for _, e := range entries {
		if err := enc.Encode(e); err != nil {
			return fmt.Errorf("save checkpoint: %w", err)
		}
	}
	if err := zw.Close(); err != nil {
		return fmt.Errorf("save checkpoint: %w", err)
	}
	return f.Close()
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
	files int
	bytes int64
	done  bool
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

// add archives the file at src under name.
func (a *archive) add(name, src string, fi fs.FileInfo) error {
	var link string
	mode := fi.Mode()
	switch {
	case mode&fs.ModeSymlink != 0:
		target, err := os.Readlink(src)
		if err != nil {
			return err
		}
		link = target
	case mode.IsRegular() || mode.IsDir():
	default:
		// Sockets, pipes and devices cannot be carried over; builds leave
		// them behind only by accident.
		return nil
	}
	// The header is built by hand: tar.FileInfoHeader looks up user and
	// group names for every file, which costs more than archiving small
	// files, and a checkpoint records neither owner.
	hdr := &tar.Header{
		Name:       name,
		Mode:       int64(mode.Perm()),
		ModTime:    fi.ModTime(),
		AccessTime: fi.ModTime(),
		ChangeTime: fi.ModTime(),
		Format:     tar.FormatPAX,
	}
	if mode&fs.ModeSetuid != 0 {
		hdr.Mode |= 0o4000
	}
	if mode&fs.ModeSetgid != 0 {
		hdr.Mode |= 0o2000
	}
	if mode&fs.ModeSticky != 0 {
		hdr.Mode |= 0o1000
	}
	switch {
	case mode&fs.ModeSymlink != 0:
		hdr.Typeflag, hdr.Linkname = tar.TypeSymlink, link
	case mode.IsDir():
		hdr.Typeflag = tar.TypeDir
	default:
		hdr.Typeflag, hdr.Size = tar.TypeReg, fi.Size()
	}
	if mode.IsDir() {
		hdr.Name += "/"
	}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok && mode.IsRegular() && st.Nlink > 1 {
		key := [2]uint64{st.Dev, st.Ino}
		if first, ok := a.links[key]; ok {
			hdr.Typeflag, hdr.Linkname, hdr.Size = tar.TypeLink, first, 0
			return a.tw.WriteHeader(hdr)
		}
		a.links[key] = name
	}
	if err := a.tw.WriteHeader(hdr); err != nil {
		return fmt.Errorf("archive %s: %w", src, err)
	}
	if !mode.IsRegular() {
		return nil
	}
	f, err := os.Open(src)
	if err != nil {
		return err
	}
	defer f.Close()
	n, err := io.Copy(a.tw, f)
	if err != nil {
		return fmt.Errorf("archive %s: %w", src, err)
	}
	if n != fi.Size() {
		return fmt.Errorf("archive %s: file changed size while being saved", src)
	}
	a.files++
	a.bytes += n
	return nil
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
