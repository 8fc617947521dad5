package checkpoint

import (
	"archive/tar"
	"bufio"
	"crypto/sha256"
	"fmt"
	"io"
	"os"
	"path/filepath"
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
	return m.Stats.PristineBytes + int64(m.Stats.Pristine)*(3*512+2*4096) + 1<<20
}

// digestAndCopy fills in the digests of the pristine files, as digestAll
// does, and writes them into a source copy at name in the same pass.
// Files sharing an inode are written once, the later names as hard links
// to the first. It returns the copy's size.
func digestAndCopy(top string, entries []pristineEntry, name string) (int64, error) {
	f, err := os.Create(name)
	if err != nil {
		return 0, fmt.Errorf("save source copy: %w", err)
	}
	defer f.Close()
	count := &countingWriter{w: f}
	buf := bufio.NewWriterSize(count, 1<<20)
	zw, err := newFrameWriter(buf, zstd.SpeedFastest)
	if err != nil {
		return 0, err
	}
	defer zw.Close()
	tw := tar.NewWriter(zw)
	first := map[uint64]int{} // inode → index of the first entry with it
	bp := digestBufs.Get().(*[]byte)
	defer digestBufs.Put(bp)
	for i := range entries {
		e := &entries[i]
		hdr := &tar.Header{
			Name:    e.name(),
			Mode:    int64(e.Mode.Perm()),
			ModTime: time.Unix(0, e.Mtime), // to the second: the restore sets the recorded time
		}
		if j, ok := first[e.ino]; ok && e.ino != 0 {
			e.Digest = entries[j].Digest
			hdr.Typeflag, hdr.Linkname = tar.TypeLink, entries[j].name()
			if err := tw.WriteHeader(hdr); err != nil {
				return 0, fmt.Errorf("save source copy: %s: %w", quoteName(e.name()), err)
			}
			continue
		}
		first[e.ino] = i
		hdr.Typeflag, hdr.Size = tar.TypeReg, e.Size
		if err := tw.WriteHeader(hdr); err != nil {
			return 0, fmt.Errorf("save source copy: %s: %w", quoteName(e.name()), err)
		}
		if e.Digest, err = copyDigest(tw, filepath.Join(top, e.name()), e, *bp); err != nil {
			return 0, fmt.Errorf("save %s: %w", top, err)
		}
	}
	if err := tw.Close(); err != nil {
		return 0, fmt.Errorf("save source copy: %w", err)
	}
	if err := zw.Close(); err != nil {
		return 0, fmt.Errorf("save source copy: %w", err)
	}
	if err := buf.Flush(); err != nil {
		return 0, fmt.Errorf("save source copy: %w", err)
	}
	return count.n, f.Close()
}

// copyDigest writes the file at p into w and returns its SHA-256; the
// file must be e.Size bytes.
func copyDigest(w io.Writer, p string, e *pristineEntry, buf []byte) ([]byte, error) {
	f, err := openRead(p, e.Mode)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	h := sha256.New()
	var n int64
	for n < e.Size {
		m, err := f.Read(buf[:min(int64(len(buf)), e.Size-n)])
		h.Write(buf[:m])
		if _, werr := w.Write(buf[:m]); werr != nil {
			return nil, werr
		}
		n += int64(m)
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", e.name(), err)
		}
	}
	if m, _ := f.Read(buf[:1]); n != e.Size || m != 0 {
		return nil, fmt.Errorf("%s: changed size while saved: expected %d bytes", e.name(), e.Size)
	}
	return h.Sum(nil), nil
}
