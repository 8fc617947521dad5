package storepath

import (
	"archive/zip"
	"bytes"
	"compress/bzip2"
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

// maxInMemory is the largest nested zip archive Leftovers holds in memory;
// larger ones go to a temporary file. It is a variable for the tests.
var maxInMemory int64 = 64 << 20

type format int

const (
	plain format = iota
	gzipFormat
	zstdFormat
	bzip2Format
	xzFormat
	zipFormat
)

func (f format) String() string {
	return [...]string{"plain", "gzip", "zstd", "bzip2", "xz", "zip"}[f]
}

// sniffLen is how many leading bytes sniff looks at.
const sniffLen = 10

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
	}
	return plain
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
	var head [sniffLen]byte
	h, err := f.ReadAt(head[:], 0)
	if err != nil && err != io.EOF {
		return nil, err
	}
	form := sniff(head[:h])
	if form == plain {
		return nil, nil
	}
	c := &checker{r: r, seen: map[Leftover]bool{}}
	if form == zipFormat {
		err = c.zip(f, fi.Size(), "", 1)
	} else {
		err = c.decompress(form, f, "", 1)
	}
	return c.found, err
}

// checker collects the leftovers of one file.
type checker struct {
	r     *Rewriter
	found []Leftover
	seen  map[Leftover]bool
	buf   []byte
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
	case xzFormat:
		x, err := newXZReader(rd)
		if err != nil {
			return fmt.Errorf("xz: %w", err)
		}
		defer x.Close()
		dr = x
	}
	if err := c.content(dr, member, depth+1); err != nil {
		return fmt.Errorf("%s: %w", form, err)
	}
	return nil
}

// nestedZip checks a zip archive read from rd, which it first copies to
// memory or, if large, to a temporary file.
func (c *checker) nestedZip(rd io.Reader, member string, depth int) error {
	data, err := io.ReadAll(io.LimitReader(rd, maxInMemory+1))
	if err != nil {
		return err
	}
	var ra io.ReaderAt = bytes.NewReader(data)
	size := int64(len(data))
	if size > maxInMemory {
		tmp, err := os.CreateTemp("", "storepath-*.zip")
		if err != nil {
			return err
		}
		defer os.Remove(tmp.Name())
		defer tmp.Close()
		if _, err := tmp.Write(data); err != nil {
			return err
		}
		data = nil
		m, err := io.Copy(tmp, rd)
		if err != nil {
			return err
		}
		ra, size = tmp, size+m
	}
	inner := len(c.found)
	if err := c.zip(ra, size, member+"!/", depth+1); err != nil {
		return err
	}
	// Names, comments and members stored uncompressed in the nested
	// archive: report what its members did not already account for.
	raw := make([]bool, len(c.r.old))
	if err := c.scan(io.NewSectionReader(ra, 0, size), func(k int) { raw[k] = true }); err != nil {
		return err
	}
	for k, ok := range raw {
		if ok && !foundIn(c.found[inner:], c.r.old[k]) {
			c.add(k, member)
		}
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
// to member names.
func (c *checker) zip(ra io.ReaderAt, size int64, prefix string, depth int) error {
	zr, err := zip.NewReader(ra, size)
	if err != nil && !errors.Is(err, zip.ErrInsecurePath) {
		return fmt.Errorf("zip: %w", err)
	}
	zr.RegisterDecompressor(12, func(r io.Reader) io.ReadCloser { return io.NopCloser(bzip2.NewReader(r)) })
	zr.RegisterDecompressor(93, zstd.ZipDecompressor(zstd.WithDecoderConcurrency(1)))
	for _, zf := range zr.File {
		if strings.HasSuffix(zf.Name, "/") && zf.UncompressedSize64 == 0 {
			continue
		}
		if err := c.member(zf, prefix+zf.Name, depth); err != nil {
			return fmt.Errorf("zip member %s: %w", prefix+zf.Name, err)
		}
	}
	return nil
}

func (c *checker) member(zf *zip.File, name string, depth int) error {
	rc, err := zf.Open()
	if err != nil {
		return err
	}
	defer rc.Close()
	return c.content(rc, name, depth)
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

// xzReader decompresses xz data with the xz program.
type xzReader struct {
	cmd    *exec.Cmd
	out    io.ReadCloser
	stderr bytes.Buffer
	done   bool
}

func newXZReader(rd io.Reader) (*xzReader, error) {
	path, err := exec.LookPath("xz")
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrNoDecoder, err)
	}
	x := &xzReader{cmd: exec.Command(path, "--decompress", "--stdout", "--quiet")}
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
