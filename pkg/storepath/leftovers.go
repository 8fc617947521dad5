package storepath

import (
	"archive/tar"
	"archive/zip"
	"bufio"
	"bytes"
	"compress/bzip2"
	"compress/zlib"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
)

// Leftover is an old hash that Leftovers found inside compressed data.
type Leftover struct {
	// Hash is the old hash.
	Hash string
	// Member is where it was found: "" for the decompressed content of the
	// file itself, else the path of a zip member; the members of nested
	// archives are joined with "!/", as in "lib/a.jar!/META-INF/x".
	Member string
}

// String returns the hash, followed by " in MEMBER" for one found inside
// an archive member.
func (l Leftover) String() string {
	if l.Member == "" {
		return l.Hash
	}
	return l.Hash + " in " + l.Member
}

// ErrNoDecoder is returned (wrapped) by Leftovers for a format it
// recognises but cannot decompress here: xz when no xz program is on PATH.
var ErrNoDecoder = errors.New("no decoder")

const (
	// maxDepth bounds how deep Leftovers looks into containers within
	// containers.
	maxDepth = 4
)

// maxInMemory is the largest ELF file, static library, PNG image or tar
// member holding an archive that Leftovers holds in memory to look into
// when it is inside compressed data; a larger one is an error. Zip
// archives there are streamed (see zipstream.go). It is a variable for
// the tests.
var maxInMemory int64 = 64 << 20

type format int

const (
	plain format = iota
	gzipFormat
	zstdFormat
	bzip2Format
	xzFormat
	zipFormat
	lz4Format
	lzmaFormat
	elfFormat
	arFormat
	pngFormat
	tarFormat
)

func (f format) String() string {
	return [...]string{"plain", "gzip", "zstd", "bzip2", "xz", "zip", "lz4", "lzma", "ELF", "ar", "PNG", "tar"}[f]
}

// sniffLen is how many leading bytes sniff looks at.
const sniffLen = 13

// sniff tells the format of data that starts with head.
func sniff(head []byte) format {
	switch {
	case bytes.HasPrefix(head, []byte{0x1f, 0x8b, 8}):
		return gzipFormat
	case bytes.HasPrefix(head, []byte{0x28, 0xb5, 0x2f, 0xfd}):
		return zstdFormat
	case bytes.HasPrefix(head, []byte{0xfd, '7', 'z', 'X', 'Z', 0}):
		return xzFormat
	case bytes.HasPrefix(head, []byte("PK\x03\x04")), bytes.HasPrefix(head, []byte("PK\x05\x06")):
		return zipFormat
	case len(head) >= 10 && bytes.HasPrefix(head, []byte("BZh")) && '1' <= head[3] && head[3] <= '9' &&
		(bytes.Equal(head[4:10], []byte{0x31, 0x41, 0x59, 0x26, 0x53, 0x59}) || // block
			bytes.Equal(head[4:10], []byte{0x17, 0x72, 0x45, 0x38, 0x50, 0x90})): // end of stream
		return bzip2Format
	case bytes.HasPrefix(head, []byte{0x04, 0x22, 0x4d, 0x18}):
		return lz4Format
	case bytes.HasPrefix(head, []byte("\x7fELF")):
		return elfFormat
	case bytes.HasPrefix(head, []byte("!<arch>\n")):
		return arFormat
	case bytes.HasPrefix(head, []byte("\x89PNG\r\n\x1a\n")):
		return pngFormat
	}
	return plain
}

// tarHeadLen is how many leading bytes IsTar needs.
const tarHeadLen = 262

// sniffOwn tells the format of data whose bytes are a file's own (a whole
// file, or a member of an archive that is one) from its first bytes, up
// to tarHeadLen: sniff's formats, or a tar archive, or, for a whole file
// only, LZMA-alone (which has no magic number: only a whole file is taken
// for one, and only if xz can decode it).
func sniffOwn(head []byte, whole bool) format {
	switch form := sniff(head[:min(len(head), sniffLen)]); {
	case form != plain:
		return form
	case IsTar(head):
		return tarFormat
	case whole && isLZMA(head[:min(len(head), sniffLen)]):
		return lzmaFormat
	}
	return plain
}

// IsTar reports whether a file that starts with head (at least 262 bytes)
// is a POSIX or GNU tar archive, whose magic stands at offset 257.
func IsTar(head []byte) bool {
	return len(head) >= 262 && string(head[257:262]) == "ustar"
}

// isLZMA recognises the 13-byte header of an LZMA-alone (.lzma) file:
// properties lc+lp*9+pb*45 below 225, a dictionary size of 2^n or
// 2^n+2^(n-1) bytes, and an uncompressed size that is unknown (all ones)
// or below 2^48, as xz and lzma write them.
func isLZMA(head []byte) bool {
	if len(head) < 13 || head[0] >= 225 {
		return false
	}
	d := uint32(head[1]) | uint32(head[2])<<8 | uint32(head[3])<<16 | uint32(head[4])<<24
	if d < 1<<12 {
		return false
	}
	for d&1 == 0 {
		d >>= 1
	}
	if d != 1 && d != 3 {
		return false
	}
	unknown := bytes.Equal(head[5:13], bytes.Repeat([]byte{0xff}, 8))
	return unknown || head[11] == 0 && head[12] == 0
}

// Leftovers looks for old hashes that a rewrite cannot have replaced
// because they are inside compressed data: if the file at path is gzip,
// zstd, bzip2, xz or zip (jar, wheel, ...) data, it decompresses it (each
// member of a zip) and returns the old hashes found, each once per member.
// Compressed data or archives found inside (a .gz member of a zip, a jar
// inside a jar) are looked into too, a few levels deep. Any other file,
// or a symlink, gives nil at the cost of reading its first bytes. The
// file is recognised by its content, not its name.
//
// It does not look for hashes in the file's own bytes: File replaces
// those. Call it after File, and fail if it finds anything.
//
// An error means the file could not be fully checked: it is truncated or
// corrupt, it uses a compression method that is not supported, its
// checksum does not match (wrapping zip.ErrChecksum, or the ErrChecksum of
// github.com/klauspost/compress/gzip, and so on: typically because File rewrote a hash stored uncompressed inside
// it), or it is xz and there is no xz program on PATH (wrapping
// ErrNoDecoder). The leftovers found before the error are returned with it.
func (r *Rewriter) Leftovers(path string) (found []Leftover, err error) {
	defer func() {
		if err != nil {
			err = fmt.Errorf("leftovers %s: %w", path, err)
		}
	}()
	if r.shift == nil {
		return nil, nil
	}
	fi, err := os.Lstat(path)
	if err != nil || !fi.Mode().IsRegular() {
		return nil, err
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return r.leftovers(f, fi.Size())
}

// Inside is Leftovers for a file's contents in memory. Given a file's
// bytes as they were before File rewrote them, it reports every old hash
// that sits inside compressed data, whether or not File's rewrite of the
// raw bytes happened to reach it: one stored as a literal inside an lz4,
// zstd or deflate stream is rewritten in place, blindly, and the stream
// may then differ from the one the compressor makes for the new content.
func (r *Rewriter) Inside(data []byte) ([]Leftover, error) {
	if r.shift == nil {
		return nil, nil
	}
	found, err := r.leftovers(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		err = fmt.Errorf("leftovers: %w", err)
	}
	return found, err
}

func (r *Rewriter) leftovers(f io.ReaderAt, size int64) (found []Leftover, err error) {
	var head [tarHeadLen]byte
	h, err := f.ReadAt(head[:], 0)
	if err != nil && err != io.EOF {
		return nil, err
	}
	form := sniffOwn(head[:h], true)
	if form == plain {
		return nil, nil
	}
	c := &checker{r: r, seen: map[Leftover]bool{}, budget: r.budget}
	if c.budget == nil {
		c.budget = NewBudget(ScanBound(size))
	}
	err = c.own(f, size, form, "", 1)
	if form == lzmaFormat && err != nil && !errors.Is(err, ErrNoDecoder) {
		// Not LZMA after all (its header looked like one); range
		// coding leaves no hash readable either way.
		return nil, nil
	}
	return c.found, err
}

// own checks data whose raw bytes are the file's own (the rewrite
// reached them): a whole file, or a member of a static library that is
// one. Only what is compressed inside is looked into.
func (c *checker) own(f io.ReaderAt, size int64, form format, member string, depth int) error {
	rd := io.NewSectionReader(f, 0, size)
	switch form {
	case plain:
		return nil
	case zipFormat:
		return c.zip(f, size, member, depth, true)
	case elfFormat:
		return c.elf(f, member, depth)
	case arFormat:
		data, err := io.ReadAll(rd)
		if err != nil {
			return err
		}
		return c.ar(data, member, depth-1, true)
	case pngFormat:
		return c.png(rd, member, depth)
	case tarFormat:
		return c.tar(rd, member, depth)
	}
	return c.decompress(form, rd, member, depth)
}

// checker collects the leftovers of one file.
type checker struct {
	r     *Rewriter
	found []Leftover
	seen  map[Leftover]bool
	buf   []byte
	// budget bounds the bytes decompressed and the members looked at.
	budget *Budget
}

func (c *checker) add(k int, member string) {
	l := Leftover{Hash: c.r.old[k], Member: member}
	if !c.seen[l] {
		c.seen[l] = true
		c.found = append(c.found, l)
	}
}

// content checks data that may itself be compressed or an archive.
func (c *checker) content(rd io.Reader, member string, depth int) error {
	var head [sniffLen]byte
	h, err := fill(rd, head[:])
	if err != nil && err != io.EOF {
		return err
	}
	all := io.MultiReader(bytes.NewReader(head[:h]), rd)
	form := sniff(head[:h])
	if depth >= maxDepth {
		form = plain
	}
	switch form {
	case plain:
		return c.scan(all, func(k int) { c.add(k, member) })
	case zipFormat:
		return c.nestedZip(all, member, depth)
	case elfFormat, arFormat:
		// Inside compressed data the raw bytes are not the file's own
		// either: scan them too.
		data, err := io.ReadAll(io.LimitReader(all, maxInMemory+1))
		if err != nil {
			return err
		}
		if err := c.scan(io.MultiReader(bytes.NewReader(data), rd), func(k int) { c.add(k, member) }); err != nil {
			return err
		}
		if int64(len(data)) > maxInMemory {
			return fmt.Errorf("%s: %s data larger than %d bytes inside compressed data: its compressed parts are not checked", member, form, maxInMemory)
		}
		if form == elfFormat {
			return c.elf(bytes.NewReader(data), member, depth)
		}
		return c.ar(data, member, depth, false)
	case pngFormat:
		// Inside compressed data, its plain chunks are not the file's own
		// bytes either.
		data, err := io.ReadAll(io.LimitReader(all, maxInMemory+1))
		if err != nil {
			return err
		}
		if int64(len(data)) > maxInMemory {
			return fmt.Errorf("%s: a PNG image larger than %d bytes", member, maxInMemory)
		}
		if err := c.scan(bytes.NewReader(data), func(k int) { c.add(k, member) }); err != nil {
			return err
		}
		return c.png(bytes.NewReader(data), member, depth)
	default:
		return c.decompress(form, all, member, depth)
	}
}

// decompress checks the decompressed content of rd, in format form.
func (c *checker) decompress(form format, rd io.Reader, member string, depth int) error {
	var dr io.Reader
	switch form {
	case gzipFormat:
		z, err := gzip.NewReader(rd)
		if err != nil {
			return fmt.Errorf("gzip: %w", err)
		}
		defer z.Close()
		dr = z
	case zstdFormat:
		z, err := zstd.NewReader(rd, zstd.WithDecoderConcurrency(1))
		if err != nil {
			return fmt.Errorf("zstd: %w", err)
		}
		defer z.Close()
		dr = z
	case bzip2Format:
		dr = bzip2.NewReader(rd)
	case xzFormat, lz4Format, lzmaFormat:
		x, err := newCmdReader(rd, decoders[form]...)
		if err != nil {
			return fmt.Errorf("%s: %w", form, err)
		}
		defer x.Close()
		dr = x
	}
	if err := c.budget.take(memberCost); err != nil {
		return err
	}
	if err := c.content(spent{dr, c.budget}, member, depth+1); err != nil {
		return fmt.Errorf("%s: %w", form, err)
	}
	return nil
}

func foundIn(found []Leftover, hash string) bool {
	for _, l := range found {
		if l.Hash == hash {
			return true
		}
	}
	return false
}

// zip checks every member of the zip archive in ra; prefix is prepended
// to member names. raw says that the archive's bytes are the file's own,
// which the rewrite reaches: then a member stored uncompressed is too, and
// only what it may hold compressed is looked into (its CRC-32 is the
// caller's to fix, see pkg/zipcrc).
func (c *checker) zip(ra io.ReaderAt, size int64, prefix string, depth int, raw bool) error {
	zr, err := zip.NewReader(ra, size)
	if errors.Is(err, zip.ErrFormat) {
		// No central directory: read what local headers there are. Data
		// that merely starts like a zip archive is plain data, which the
		// rewrite reached.
		err := c.zipStream(bufio.NewReader(io.NewSectionReader(ra, 0, size)), prefix, depth, raw)
		if errors.Is(err, errNotZip) {
			return nil
		}
		return err
	}
	if err != nil && !errors.Is(err, zip.ErrInsecurePath) {
		return fmt.Errorf("zip: %w", err)
	}
	zr.RegisterDecompressor(12, func(r io.Reader) io.ReadCloser { return io.NopCloser(bzip2.NewReader(r)) })
	zr.RegisterDecompressor(93, zstd.ZipDecompressor(zstd.WithDecoderConcurrency(1)))
	for _, zf := range zr.File {
		if strings.HasSuffix(zf.Name, "/") && zf.UncompressedSize64 == 0 {
			continue
		}
		name := prefix + memberName(zf.Name)
		err := c.budget.take(memberCost)
		if err == nil && raw && zf.Method == zip.Store {
			err = c.stored(ra, zf, name, depth)
		} else if err == nil {
			err = c.member(zf, name, depth)
		}
		if err != nil {
			return fmt.Errorf("zip member %s: %w", name, err)
		}
	}
	return nil
}

// stored checks a member stored uncompressed in an archive whose bytes are
// the file's own: plain content is rewritten in place, exactly; a stored
// zip archive is looked into the same way; other content (a .gz member)
// as usual. The member's CRC-32 is not checked: it is stale after the
// rewrite until the caller fixes it.
func (c *checker) stored(ra io.ReaderAt, zf *zip.File, name string, depth int) error {
	off, err := zf.DataOffset()
	if err != nil {
		return err
	}
	size := int64(zf.CompressedSize64)
	var head [sniffLen]byte
	h, err := io.NewSectionReader(ra, off, size).ReadAt(head[:], 0)
	if err != nil && err != io.EOF {
		return err
	}
	form := sniff(head[:h])
	switch {
	case form == plain || depth >= maxDepth:
		return nil
	case form == zipFormat:
		return c.zip(io.NewSectionReader(ra, off, size), size, name+"!/", depth+1, true)
	case form == elfFormat:
		return c.elf(io.NewSectionReader(ra, off, size), name, depth)
	case form == arFormat:
		data, err := io.ReadAll(io.NewSectionReader(ra, off, size))
		if err != nil {
			return err
		}
		return c.ar(data, name, depth, true)
	case form == pngFormat:
		return c.png(io.NewSectionReader(ra, off, size), name, depth+1)
	}
	return c.content(io.NewSectionReader(ra, off, size), name, depth)
}

func (c *checker) member(zf *zip.File, name string, depth int) error {
	rc, err := zf.Open()
	if err != nil {
		return err
	}
	defer rc.Close()
	return c.content(spent{rc, c.budget}, name, depth)
}

// scan calls hit for every old hash in what rd yields, overlapping or not.
func (c *checker) scan(rd io.Reader, hit func(k int)) error {
	if c.buf == nil {
		c.buf = make([]byte, HashLen-1+writerChunk)
	}
	held := 0
	for {
		n, err := fill(rd, c.buf[held:])
		b := c.buf[:held+n]
		c.r.each(b, 0, func(_, k int) bool {
			hit(k)
			return true
		})
		if err == io.EOF {
			return nil
		} else if err != nil {
			return err
		}
		held = copy(c.buf, b[len(b)-(HashLen-1):])
	}
}

// decoders are the programs that decompress what Go does not.
var decoders = map[format][]string{
	xzFormat:   {"xz", "--decompress", "--stdout", "--quiet"},
	lzmaFormat: {"xz", "--format=lzma", "--decompress", "--stdout", "--quiet"},
	lz4Format:  {"lz4", "--decompress", "--stdout", "--quiet"},
}

// xzReader decompresses data with a program (xz, lz4).
type xzReader struct {
	cmd    *exec.Cmd
	out    io.ReadCloser
	stderr bytes.Buffer
	done   bool
}

func newCmdReader(rd io.Reader, argv ...string) (*xzReader, error) {
	path, err := exec.LookPath(argv[0])
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrNoDecoder, err)
	}
	x := &xzReader{cmd: exec.Command(path, argv[1:]...)}
	x.cmd.Stdin = rd
	x.cmd.Stderr = &x.stderr
	if x.out, err = x.cmd.StdoutPipe(); err != nil {
		return nil, err
	}
	if err := x.cmd.Start(); err != nil {
		return nil, err
	}
	return x, nil
}

func (x *xzReader) Read(p []byte) (int, error) {
	n, err := x.out.Read(p)
	if err == io.EOF && !x.done {
		x.done = true
		if werr := x.cmd.Wait(); werr != nil {
			return n, fmt.Errorf("%w: %s", werr, strings.TrimSpace(x.stderr.String()))
		}
	}
	return n, err
}

func (x *xzReader) Close() error {
	if !x.done {
		x.done = true
		_ = x.cmd.Process.Kill()
		_ = x.cmd.Wait()
	}
	return nil
}

// tar checks the members of a tar archive whose bytes are the file's own:
// plain members are rewritten in place (pkg/tarsum fixes the header
// checksums), so only what a member holds compressed, or an archive or
// ELF file it is, is looked into.
func (c *checker) tar(rd io.Reader, prefix string, depth int) error {
	tr := tar.NewReader(rd)
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("tar: %w", err)
		}
		if err := c.budget.take(memberCost); err != nil {
			return err
		}
		if hdr.Typeflag != tar.TypeReg || depth >= maxDepth {
			continue
		}
		name := prefix + memberName(hdr.Name)
		var head [sniffLen]byte
		h, err := fill(tr, head[:])
		if err != nil && err != io.EOF {
			return err
		}
		all := io.MultiReader(bytes.NewReader(head[:h]), tr)
		switch form := sniff(head[:h]); form {
		case plain:
			continue
		case zipFormat, elfFormat, arFormat:
			data, err := io.ReadAll(io.LimitReader(all, maxInMemory+1))
			if err != nil {
				return err
			}
			if int64(len(data)) > maxInMemory {
				return fmt.Errorf("tar member %s: larger than %d bytes", name, maxInMemory)
			}
			switch form {
			case zipFormat:
				err = c.zip(bytes.NewReader(data), int64(len(data)), name+"!/", depth+1, true)
			case elfFormat:
				err = c.elf(bytes.NewReader(data), name, depth)
			default:
				err = c.ar(data, name, depth, true)
			}
			if err != nil {
				return fmt.Errorf("tar member %s: %w", name, err)
			}
		case pngFormat:
			if err := c.png(all, name, depth+1); err != nil {
				return fmt.Errorf("tar member %s: %w", name, err)
			}
		default:
			if err := c.decompress(form, all, name, depth); err != nil {
				return fmt.Errorf("tar member %s: %w", name, err)
			}
		}
	}
}

// png checks the zlib-compressed chunks of a PNG image (zTXt, iCCP, a
// compressed iTXt, and the image data): the rewrite reaches the others,
// and pkg/pngcrc fixes their CRCs.
func (c *checker) png(rd io.Reader, member string, depth int) error {
	br := bufio.NewReader(rd)
	if _, err := br.Discard(8); err != nil {
		return fmt.Errorf("png: %w", err)
	}
	var idat bytes.Buffer
	for {
		var hdr [8]byte
		if _, err := io.ReadFull(br, hdr[:]); err == io.EOF {
			break
		} else if err != nil {
			return fmt.Errorf("png: %w", err)
		}
		n := int64(binary.BigEndian.Uint32(hdr[:4]))
		if err := c.budget.take(memberCost); err != nil {
			return err
		}
		if n > maxInMemory {
			return fmt.Errorf("png: a chunk of %d bytes", n)
		}
		data := make([]byte, n)
		if _, err := io.ReadFull(br, data); err != nil {
			return fmt.Errorf("png: %w", err)
		}
		if _, err := br.Discard(4); err != nil { // CRC
			return fmt.Errorf("png: %w", err)
		}
		var z []byte
		switch typ := string(hdr[4:]); typ {
		case "IDAT":
			if int64(idat.Len())+n > maxInMemory {
				return fmt.Errorf("png: image data larger than %d bytes", maxInMemory)
			}
			idat.Write(data)
			continue
		case "zTXt", "iCCP":
			if i := bytes.IndexByte(data, 0); i >= 0 && i+2 <= len(data) {
				z = data[i+2:]
			}
		case "iTXt":
			// keyword\0, compression flag, method, language\0, keyword\0, text
			if i := bytes.IndexByte(data, 0); i >= 0 && i+3 <= len(data) && data[i+1] == 1 {
				rest := data[i+3:]
				for k := 0; k < 2; k++ {
					j := bytes.IndexByte(rest, 0)
					if j < 0 {
						rest = nil
						break
					}
					rest = rest[j+1:]
				}
				z = rest
			}
		case "IEND":
			return c.zlib(idat.Bytes(), member+" (image data)", depth)
		}
		if z != nil {
			if err := c.zlib(z, member+" ("+string(hdr[4:])+" chunk)", depth); err != nil {
				return err
			}
		}
	}
	return c.zlib(idat.Bytes(), member+" (image data)", depth)
}

// zlib checks one zlib stream's content.
func (c *checker) zlib(data []byte, member string, depth int) error {
	if len(data) == 0 {
		return nil
	}
	if err := c.budget.take(memberCost); err != nil {
		return err
	}
	z, err := zlib.NewReader(bytes.NewReader(data))
	if err != nil {
		return fmt.Errorf("zlib in %s: %w", member, err)
	}
	defer z.Close()
	return c.content(spent{z, c.budget}, strings.TrimSpace(member), depth+1)
}
