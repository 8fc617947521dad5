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
	"os"
	"path/filepath"
	"strings"

	"github.com/klauspost/compress/zstd"
)

// Limits on what a checkpoint may hold that its manifest cannot declare.
const (
	// maxManifest bounds manifest.json (a tree with a million deleted
	// files of 60-byte names takes a tenth of it).
	maxManifest = 256 << 20
	// maxLine bounds one line of pristine.zst: a name of PATH_MAX bytes,
	// escaped, and the rest.
	maxLine = 64 << 10
	// maxTail bounds what may follow the tar archive's end inside the
	// compressed stream (Go's writer leaves none; GNU tar pads to 10 kB).
	maxTail = 64 << 10
	// maxWindow bounds the zstd window a decoder allocates; Save writes
	// frames of frameSize.
	maxWindow = 64 << 20
	// maxNamesPerEntry bounds order.zst: at most this many bytes for each
	// entry the checkpoint holds (a name, its NUL, and a share of its
	// directory's record).
	maxNamesPerEntry = 4 << 10
)

// verifyArchive checks, before anything is written, that tree.tar.zst has
// the size and SHA-256 the manifest records, reading it as a plain
// stream (nothing is decompressed).
func (x *extractor) verifyArchive(ctx context.Context) error {
	m := x.res.Manifest
	f, err := os.Open(filepath.Join(x.opts.Dir, ArchiveFile))
	if err != nil {
		return &CorruptError{Dir: x.opts.Dir, Err: err}
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return &CorruptError{Dir: x.opts.Dir, Err: err}
	}
	if !fi.Mode().IsRegular() || (m.Stats.Compressed != 0 && fi.Size() != m.Stats.Compressed) {
		return &CorruptError{Dir: x.opts.Dir, Err: fmt.Errorf("%s is a %v of %d bytes, the manifest says a file of %d", ArchiveFile, fi.Mode().Type(), fi.Size(), m.Stats.Compressed)}
	}
	sum := sha256.New()
	if _, err := io.Copy(sum, io.LimitReader(ctxReader{ctx, f}, fi.Size())); err != nil {
		return &CorruptError{Dir: x.opts.Dir, Err: err}
	}
	if got := hex.EncodeToString(sum.Sum(nil)); got != m.Archive {
		return &CorruptError{Dir: x.opts.Dir, Err: fmt.Errorf("%s has digest %s, the manifest says %s", ArchiveFile, got, quoteName(m.Archive))}
	}
	return nil
}

type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}

// openArchive opens tree.tar.zst for reading entries.
//
// keep, if not nil, receives the tar stream as it is read.
func (x *extractor) openArchive(keep io.Writer) (*tar.Reader, func(), error) {
	f, err := os.Open(filepath.Join(x.opts.Dir, ArchiveFile))
	if err != nil {
		return nil, nil, &CorruptError{Dir: x.opts.Dir, Err: err}
	}
	var r io.Reader = f
	if x.part != nil {
		// verifyArchive checked the file's size, which bounds Offset.
		r = io.NewSectionReader(f, x.part.Offset, x.res.Manifest.Stats.Compressed-x.part.Offset)
	}
	zr, err := zstd.NewReader(bufio.NewReaderSize(r, 1<<20), zstd.WithDecoderMaxWindow(maxWindow))
	if err != nil {
		f.Close()
		return nil, nil, &CorruptError{Dir: x.opts.Dir, Err: err}
	}
	x.zr = zr
	var rd io.Reader = taggedReader{zr}
	if keep != nil {
		rd = io.TeeReader(rd, keep)
	}
	return tar.NewReader(rd), func() { zr.Close(); f.Close() }, nil
}

// keptStream keeps what is written to it up to maxDecoded bytes, and then
// nothing (over). It keeps it in chunks of keptChunk bytes: one slice
// grown by append copied the whole stream each time it grew, and the
// copy, which cannot be preempted, kept the garbage collector spinning
// on the other core (a final stage's restore of binutils' outputs: 2.7 s,
// more than half of it that).
type keptStream struct {
	chunks [][]byte
	n      int64
	over   bool
}

const keptChunk = 1 << 20

func (k *keptStream) Write(p []byte) (int, error) {
	if k.over || k.n+int64(len(p)) > maxDecoded {
		k.over, k.chunks = true, nil
		return len(p), nil
	}
	k.n += int64(len(p))
	for q := p; len(q) > 0; {
		last := len(k.chunks) - 1
		if last < 0 || len(k.chunks[last]) == cap(k.chunks[last]) {
			k.chunks = append(k.chunks, make([]byte, 0, keptChunk))
			last++
		}
		c := k.chunks[last]
		m := min(len(q), cap(c)-len(c))
		k.chunks[last] = append(c, q[:m]...)
		q = q[m:]
	}
	return len(p), nil
}

// reader returns a reader of what was kept, from its start.
func (k *keptStream) reader() io.Reader {
	rs := make([]io.Reader, len(k.chunks))
	for i, c := range k.chunks {
		rs[i] = bytes.NewReader(c)
	}
	return io.MultiReader(rs...)
}

// maxDecoded bounds the tar stream precheck keeps in memory for extract,
// which then does not decompress the archive a second time.
var maxDecoded int64 = 512 << 20

// errWholeArchive says that the outputs part holds a hard link to a file
// of the tree part: the restore reads the whole archive.
var errWholeArchive = errors.New("the outputs link to files of the build tree")

// declared returns what the manifest declares that the archive, or the
// part of it this restore reads (x.part), holds.
func (x *extractor) declared() Part {
	if x.part != nil {
		return *x.part
	}
	st := x.res.Manifest.Stats
	return Part{Entries: st.Entries, Files: st.Files, Bytes: st.Bytes, SparseSize: st.SparseSize}
}

// precheck reads every entry of the archive, or of the part of it this
// restore reads (x.part), once before anything is written: it must
// decompress and parse, name clean paths, hold only regular files,
// directories, symlinks, hard links and FIFOs, and its files, bytes and
// sparse sizes must stay within what the manifest declares. The outputs
// part holds outputs alone. It returns the number of entries.
func (x *extractor) precheck(ctx context.Context) (int, error) {
	n, err := x.precheckPart(ctx)
	if errors.Is(err, errWholeArchive) {
		x.part = nil
		x.sparseLeft = x.declared().SparseSize
		n, err = x.precheckPart(ctx)
	}
	return n, err
}

func (x *extractor) precheckPart(ctx context.Context) (int, error) {
	m, want := x.res.Manifest, x.declared()
	// The stream is kept for extract when what the manifest declares
	// (data and a header or two per entry) fits the bound; the bound on
	// entries and bytes is checked as it is read.
	var keep *keptStream
	if estimate := want.Bytes + int64(want.Entries+2)*1536; estimate <= maxDecoded {
		keep = &keptStream{}
	}
	var tr *tar.Reader
	var done func()
	var err error
	if keep != nil {
		tr, done, err = x.openArchive(keep)
	} else {
		tr, done, err = x.openArchive(nil)
	}
	if err != nil {
		return 0, err
	}
	defer done()
	corrupt := func(err error) (int, error) { return 0, &CorruptError{Dir: x.opts.Dir, Err: err} }
	var files, entries int
	var bytes, sparse int64
	for {
		if err := ctx.Err(); err != nil {
			return 0, err
		}
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return corrupt(fmt.Errorf("%s: %w", ArchiveFile, err))
		}
		entries++
		if err := cleanName(trimSlash(hdr.Name)); err != nil {
			return corrupt(err)
		}
		if rel, ok := strings.CutPrefix(trimSlash(hdr.Name), "tree/"); ok && x.kept(rel) {
			return corrupt(fmt.Errorf("archive entry %s is under a name of the build directory that no checkpoint holds", quoteName(hdr.Name)))
		}
		if name := trimSlash(hdr.Name); x.part != nil && name != "outputs" && !strings.HasPrefix(name, "outputs/") {
			return corrupt(fmt.Errorf("archive entry %s is in the outputs part, which holds outputs alone", quoteName(hdr.Name)))
		}
		switch hdr.Typeflag {
		case tar.TypeReg:
			files++
			bytes += hdr.Size
			size, _, isSparse, err := sparseMap(hdr, want.SparseSize-sparse)
			if err != nil {
				return corrupt(err)
			}
			if isSparse {
				sparse += size
			}
		case tar.TypeDir, tar.TypeSymlink, tar.TypeFifo:
		case tar.TypeLink:
			if err := cleanName(hdr.Linkname); err != nil {
				return corrupt(fmt.Errorf("hard link %s: %w", quoteName(hdr.Name), err))
			}
			if x.part != nil && strings.HasPrefix(hdr.Linkname, "tree/") {
				return 0, errWholeArchive
			}
		default:
			return corrupt(fmt.Errorf("archive entry %s has type %q: a checkpoint holds only regular files, directories, symlinks, hard links and named pipes", quoteName(hdr.Name), hdr.Typeflag))
		}
		if hdr.Size < 0 || entries > want.Entries || files > want.Files || bytes > want.Bytes {
			return corrupt(fmt.Errorf("archive entry %s: the %s holds more than the %d entries, %d files and %d bytes the manifest declares", quoteName(hdr.Name), x.partName(), want.Entries, want.Files, want.Bytes))
		}
	}
	for _, rel := range m.Deleted {
		if x.kept(rel) {
			return corrupt(fmt.Errorf("the checkpoint deletes %s, a name of the build directory that no checkpoint holds", quoteName(rel)))
		}
	}
	if entries != want.Entries || files != want.Files || bytes != want.Bytes {
		return corrupt(fmt.Errorf("the %s holds %d entries, %d files and %d bytes; the manifest declares %d, %d and %d", x.partName(), entries, files, bytes, want.Entries, want.Files, want.Bytes))
	}
	if err := x.tail(); err != nil {
		return 0, err
	}
	if keep != nil && !keep.over {
		x.decoded = keep
	}
	return entries, nil
}

// partName names what precheck reads, in messages.
func (x *extractor) partName() string {
	if x.part != nil {
		return "archive's outputs part"
	}
	return "archive"
}

// tail reads what follows the tar archive's end in the decompressed
// stream, which must be short (and then the zstd frames' checksums have
// all been checked).
func (x *extractor) tail() error {
	n, err := io.Copy(io.Discard, io.LimitReader(x.zr, maxTail+1))
	if err != nil {
		return &CorruptError{Dir: x.opts.Dir, Err: fmt.Errorf("%s: %w", ArchiveFile, err)}
	}
	if n > maxTail {
		return &CorruptError{Dir: x.opts.Dir, Err: fmt.Errorf("%s: more than %d bytes after the end of the tar archive", ArchiveFile, maxTail)}
	}
	return nil
}

func trimSlash(name string) string {
	for len(name) > 1 && name[len(name)-1] == '/' {
		name = name[:len(name)-1]
	}
	return name
}

// corruptArchive says whether an error extracting comes from reading the
// archive (a damaged or forged one) rather than from writing.
func corruptArchive(err error) bool {
	return errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, zstd.ErrMagicMismatch) ||
		errors.Is(err, zstd.ErrCRCMismatch) || errors.Is(err, tar.ErrHeader) || errors.Is(err, errArchiveRead)
}

// errArchiveRead marks errors of the decompressing reader.
var errArchiveRead = errors.New("reading the archive")

// taggedReader marks the errors of r with errArchiveRead.
type taggedReader struct{ r io.Reader }

func (t taggedReader) Read(p []byte) (int, error) {
	n, err := t.r.Read(p)
	if err != nil && err != io.EOF {
		err = fmt.Errorf("%w: %w", errArchiveRead, err)
	}
	return n, err
}
