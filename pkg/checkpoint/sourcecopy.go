package checkpoint

import (
	"archive/tar"
	"bufio"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/klauspost/compress/zstd"
)

// SourceCopyFile is the name of a checkpoint's source copy: a
// zstd-compressed tarball of exactly its pristine files, named relative
// to the build directory. It lies next to the archive, not in it, and is
// written only on request ([SaveOptions.SourceCopy]).
//
// A restore reads it in place of the derivation's sources
// ([RestoreOptions.Sources]): unpacking it needs no xz, bzip2 or custom
// unpacker, and zstd decodes several times faster than xz. Like any
// source, each file taken from it is checked against the pristine list
// (size and SHA-256) before it is written, so a damaged or altered copy
// is never restored: the restore then reports that it cannot reproduce
// the files, and the caller unpacks the sources as before.
const SourceCopyFile = "source.tar.zst"

// SourceCopyLimit bounds the tar data a restore reads from the source
// copy of a checkpoint with this manifest (see [unpack.Options.Limit]): a
// tar header and padding for each pristine file, room for long-name
// records, and the data itself. A copy that decompresses to more is not
// the one Save wrote.
func SourceCopyLimit(m *Manifest) int64 {
	n := m.Stats.PristineBytes + int64(m.Stats.Pristine)*(3*512+2*4096) + 1<<20
	if n <= 0 || m.Stats.PristineBytes < 0 || m.Stats.Pristine < 0 {
		// Overflowed, or negative counts ReadManifest refuses: the
		// least positive limit, since 0 would mean none.
		return 1
	}
	return n
}

// copyHeader is the tar header of a file in the source copy (its type
// and size or link target still to set).
func copyHeader(name string, mode fs.FileMode, mtime int64) *tar.Header {
	return &tar.Header{
		Name:    name,
		Mode:    int64(mode.Perm()),
		ModTime: time.Unix(0, mtime), // to the second: the restore sets the recorded time
	}
}

// digestAndCopy fills in the digests of the pristine files, as digestAll
// does, and writes them into a source copy at name in the same pass,
// laid out by l ([copyLayout]). Files sharing an inode are written once,
// the later names as hard links to the first. A group prep holds with
// the same files and links is taken from it (frames and digests), as are
// the digests of files in other groups; Save checked that every pristine
// file has the identity the snapshot recorded, which is what Prepare
// read. It returns the copy's size and how many groups it took from prep.
func digestAndCopy(top string, entries []pristineEntry, l *copyLayout, prep *prepared, name string) (size int64, reused int, err error) {
	f, err := os.Create(name)
	if err != nil {
		return 0, 0, fmt.Errorf("save source copy: %w", err)
	}
	defer f.Close()
	count := &countingWriter{w: f}
	buf := bufio.NewWriterSize(count, 1<<20)
	zw, err := newFrameWriter(buf, zstd.SpeedFastest)
	if err != nil {
		return 0, 0, err
	}
	defer zw.Close()
	tw := tar.NewWriter(zw)
	idx := make([]int, len(entries)) // each entry's index in l.files
	for i := range entries {
		j, ok := l.index[entries[i].name()]
		if !ok || i > 0 && j <= idx[i-1] {
			return 0, 0, fmt.Errorf("save source copy: %s is not where the snapshot's layout has it", quoteName(entries[i].name()))
		}
		idx[i] = j
	}
	first := map[uint64]int{} // inode → index of the first entry with it
	bp := digestBufs.Get().(*[]byte)
	defer digestBufs.Put(bp)
	for i, g := 0, 0; g < l.groups(); g++ {
		start, end := i, i
		for end < len(entries) && idx[end] < l.starts[g+1] {
			end++
		}
		files, links := idx[i:end], make([]int, end-i)
		for k := i; k < end; k++ {
			links[k-i] = -1
			if e := &entries[k]; e.ino != 0 {
				if j, ok := first[e.ino]; ok {
					links[k-i] = idx[j]
				} else {
					first[e.ino] = k
				}
			}
		}
		if rec := prep.groups[g]; rec != nil && rec.Compressed && slices.Equal(rec.Files, files) && slices.Equal(rec.Links, links) {
			if err := copyPrepared(zw, prep.frames, rec); err != nil {
				return 0, 0, err
			}
			for k := i; k < end; k++ {
				if links[k-i] >= 0 {
					entries[k].Digest = entries[first[entries[k].ino]].Digest
				} else {
					entries[k].Digest = rec.Digests[k-i]
				}
			}
			reused++
			i = end
			continue
		}
		for ; i < end; i++ {
			e := &entries[i]
			hdr := copyHeader(e.name(), e.Mode, e.Mtime)
			if link := links[i-start]; link >= 0 {
				e.Digest = entries[first[e.ino]].Digest
				hdr.Typeflag, hdr.Linkname = tar.TypeLink, l.files[link].name
				if err := tw.WriteHeader(hdr); err != nil {
					return 0, 0, fmt.Errorf("save source copy: %s: %w", quoteName(e.name()), err)
				}
				continue
			}
			hdr.Typeflag, hdr.Size = tar.TypeReg, e.Size
			if err := tw.WriteHeader(hdr); err != nil {
				return 0, 0, fmt.Errorf("save source copy: %s: %w", quoteName(e.name()), err)
			}
			if e.Digest, err = copyDigest(tw, filepath.Join(top, e.name()), e, *bp); err != nil {
				return 0, 0, fmt.Errorf("save %s: %w", top, err)
			}
		}
		if err := tw.Flush(); err != nil {
			return 0, 0, fmt.Errorf("save source copy: %w", err)
		}
		zw.Cut()
	}
	if err := tw.Close(); err != nil {
		return 0, 0, fmt.Errorf("save source copy: %w", err)
	}
	if err := zw.Close(); err != nil {
		return 0, 0, fmt.Errorf("save source copy: %w", err)
	}
	if err := buf.Flush(); err != nil {
		return 0, 0, fmt.Errorf("save source copy: %w", err)
	}
	return count.n, reused, f.Close()
}

// copyPrepared writes the frames of a prepared group.
func copyPrepared(zw *frameWriter, frames *os.File, rec *preparedGroup) error {
	off := rec.Offset
	for _, n := range rec.Frames {
		frame := make([]byte, n)
		if _, err := frames.ReadAt(frame, off); err != nil {
			return fmt.Errorf("save source copy: prepared frames: %w", err)
		}
		if err := zw.WriteFrame(frame); err != nil {
			return fmt.Errorf("save source copy: %w", err)
		}
		off += n
	}
	return nil
}

// copyDigest writes the file at p into w and returns its SHA-256; the
// file must be e.Size bytes.
func copyDigest(w io.Writer, p string, e *pristineEntry, buf []byte) ([]byte, error) {
	f, err := openRead(p, e.Mode)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	sum, err := copyHashed(w, f, e.Size, buf)
	if errors.Is(err, errSizeChanged) {
		return nil, fmt.Errorf("%s: changed size while saved: expected %d bytes", e.name(), e.Size)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", e.name(), err)
	}
	return sum, nil
}

// errSizeChanged says that a file did not hold the bytes expected.
var errSizeChanged = errors.New("not the size expected")

// copyHashed writes the size bytes of r into w through buf and returns
// their SHA-256; errSizeChanged when r holds fewer or more.
func copyHashed(w io.Writer, r io.Reader, size int64, buf []byte) ([]byte, error) {
	h := sha256.New()
	var n int64
	for n < size {
		m, err := r.Read(buf[:min(int64(len(buf)), size-n)])
		h.Write(buf[:m])
		if _, werr := w.Write(buf[:m]); werr != nil {
			return nil, werr
		}
		n += int64(m)
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
	}
	if m, _ := r.Read(buf[:1]); n != size || m != 0 {
		return nil, errSizeChanged
	}
	return h.Sum(nil), nil
}
