package storepath

import (
	"bufio"
	"bytes"
	"compress/bzip2"
	"compress/flate"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"strconv"

	"github.com/klauspost/compress/zstd"
)

// A zip archive inside compressed data (a jar in a gzip file, a wheel
// inside a zip) is read as a stream, member by member in the order of
// their local headers, as unzip -p and Java's ZipInputStream read one
// (APPNOTE.TXT 4.3.7): it is never held whole, in memory or on disk.
// Local headers carry each member's method, sizes and CRC-32; a member
// written with a data descriptor (flag bit 3) has them after its data,
// which only a self-terminating method (deflate) lets a stream find.

// errNotZip says that data starting with a zip signature holds no
// readable first member: it is taken for plain data.
var errNotZip = errors.New("not a zip archive")

// rawHits is an io.Writer that records which old hashes pass through it,
// also across the boundaries of writes.
type rawHits struct {
	r    *Rewriter
	hit  []bool
	tail []byte
}

func (s *rawHits) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 {
		chunk := p[:min(len(p), writerChunk)]
		p = p[len(chunk):]
		buf := append(s.tail, chunk...)
		s.r.each(buf, 0, func(_, k int) bool {
			s.hit[k] = true
			return true
		})
		keep := min(len(buf), HashLen-1)
		s.tail = append(s.tail[:0], buf[len(buf)-keep:]...)
	}
	return n, nil
}

// nestedZip checks a zip archive read from rd inside compressed data: the
// content of each member, and its raw bytes (names, comments, and members
// stored uncompressed, which are inside the compressed data too).
func (c *checker) nestedZip(rd io.Reader, member string, depth int) error {
	raw := &rawHits{r: c.r, hit: make([]bool, len(c.r.old))}
	br := bufio.NewReader(io.TeeReader(rd, raw))
	inner := len(c.found)
	err := c.zipStream(br, member+"!/", depth+1, false)
	if err != nil && !errors.Is(err, errNotZip) {
		return err
	}
	// The central directory and what follows it: names and comments.
	if _, err := io.Copy(io.Discard, spent{br, c.budget}); err != nil {
		return err
	}
	for k, ok := range raw.hit {
		if ok && !foundIn(c.found[inner:], c.r.old[k]) {
			c.add(k, member)
		}
	}
	return nil
}

// zipStream checks the members of the zip archive that br holds, read from
// its local headers up to the first record that is not one (the central
// directory). raw says that the archive's bytes are the file's own: then a
// member stored uncompressed holds nothing that the rewrite missed unless
// it is itself compressed data or an archive.
func (c *checker) zipStream(br *bufio.Reader, prefix string, depth int, raw bool) error {
	for first := true; ; first = false {
		sig, err := br.Peek(4)
		if len(sig) < 4 || string(sig) != "PK\x03\x04" {
			if first {
				return errNotZip
			}
			if err != nil && err != io.EOF {
				return fmt.Errorf("zip: %w", err)
			}
			return nil
		}
		if err := c.budget.take(memberCost); err != nil {
			return err
		}
		if err := c.zipMember(br, prefix, depth, raw, first); err != nil {
			var be *BudgetError
			if first && !errors.As(err, &be) {
				// Not one member could be read: data that merely
				// starts like a zip archive, whose bytes were scanned
				// as they are.
				return errNotZip
			}
			return err
		}
	}
}

// zipMethods are the compression methods zipMember decodes.
var zipMethods = map[uint16]bool{0: true, 8: true, 12: true, 93: true}

func (c *checker) zipMember(br *bufio.Reader, prefix string, depth int, raw, first bool) error {
	var h [30]byte
	if _, err := io.ReadFull(br, h[:]); err != nil {
		return fmt.Errorf("zip: local header: %w", noEOF(err))
	}
	le := binary.LittleEndian
	flags, method := le.Uint16(h[6:]), le.Uint16(h[8:])
	crc, csize, usize := le.Uint32(h[14:]), uint64(le.Uint32(h[18:])), uint64(le.Uint32(h[22:]))
	nameLen, extraLen := int(le.Uint16(h[26:])), int(le.Uint16(h[28:]))
	if first && (!zipMethods[method] || nameLen == 0 || le.Uint16(h[4:]) > 63) {
		return errNotZip
	}
	nx := make([]byte, nameLen+extraLen)
	if _, err := io.ReadFull(br, nx); err != nil {
		return fmt.Errorf("zip: local header: %w", noEOF(err))
	}
	name := prefix + memberName(string(nx[:nameLen]))
	zip64 := false
	for x := nx[nameLen:]; len(x) >= 4; {
		id, n := le.Uint16(x), int(le.Uint16(x[2:]))
		if 4+n > len(x) {
			break
		}
		if id == 1 { // zip64: uncompressed, then compressed size, when 0xffffffff
			zip64 = true
			d := x[4 : 4+n]
			if usize == 0xffffffff && len(d) >= 8 {
				usize, d = le.Uint64(d), d[8:]
			}
			if csize == 0xffffffff && len(d) >= 8 {
				csize = le.Uint64(d)
			}
		}
		x = x[4+n:]
	}
	_ = usize
	if flags&1 != 0 {
		return fmt.Errorf("zip member %s: encrypted", name)
	}
	descriptor := flags&8 != 0
	var body io.Reader = io.LimitReader(br, int64(min(csize, 1<<62)))
	var stored *storedEnd
	switch {
	case descriptor && method == 8:
		body = br // deflate ends by itself; flate reads a ByteReader exactly
	case descriptor && method == 0:
		stored = &storedEnd{br: br, zip64: zip64}
		body = stored
	case descriptor:
		return fmt.Errorf("zip member %s: written with a data descriptor and method %d, whose end a stream cannot find", name, method)
	}
	var dr io.Reader
	switch method {
	case 0:
		dr = body
	case 8:
		fr := flate.NewReader(body)
		defer fr.Close()
		dr = fr
	case 12:
		dr = bzip2.NewReader(body)
	case 93:
		z, err := zstd.NewReader(body, zstd.WithDecoderConcurrency(1))
		if err != nil {
			return fmt.Errorf("zip member %s: zstd: %w", name, err)
		}
		defer z.Close()
		dr = z
	default:
		return fmt.Errorf("zip member %s: unsupported compression method %d", name, method)
	}
	sum := crc32.NewIEEE()
	dr = spent{io.TeeReader(dr, sum), c.budget}
	var err error
	if raw && method == 0 {
		// The rewrite reached its bytes: look only at what it holds
		// compressed (the caller fixes its CRC-32, now stale).
		err = c.storedStream(dr, name, depth)
	} else {
		err = c.content(dr, name, depth)
	}
	if err == nil {
		_, err = io.Copy(io.Discard, dr)
	}
	if err != nil {
		return fmt.Errorf("zip member %s: %w", name, noEOF(err))
	}
	if stored != nil {
		crc = stored.crc.Sum32()
	} else if descriptor {
		d := make([]byte, 12)
		if zip64 {
			d = make([]byte, 20)
		}
		if sig, _ := br.Peek(4); string(sig) == "PK\x07\x08" {
			_, _ = br.Discard(4)
		}
		if _, err := io.ReadFull(br, d); err != nil {
			return fmt.Errorf("zip member %s: data descriptor: %w", name, noEOF(err))
		}
		crc = le.Uint32(d)
	}
	if !(raw && method == 0) && sum.Sum32() != crc {
		return fmt.Errorf("zip member %s: %w", name, errZipChecksum)
	}
	return nil
}

// storedEnd reads a member stored uncompressed and written with a data
// descriptor (as Go's archive/zip and Python's zipfile write to a stream):
// its data ends where a descriptor begins whose signature, CRC-32 and
// sizes match the bytes read so far (as Apache Commons Compress finds it),
// and the descriptor is consumed.
type storedEnd struct {
	br    *bufio.Reader
	zip64 bool
	n     uint64
	crc   hash32
	done  bool
}

type hash32 interface {
	io.Writer
	Sum32() uint32
}

func (s *storedEnd) Read(p []byte) (int, error) {
	if s.done {
		return 0, io.EOF
	}
	if s.crc == nil {
		s.crc = crc32.NewIEEE()
	}
	dlen := 16
	if s.zip64 {
		dlen = 24
	}
	buf, err := s.br.Peek(min(s.br.Size(), max(len(p), dlen)))
	if len(buf) < dlen && err != nil {
		return 0, fmt.Errorf("a member stored with a data descriptor: its end was not found: %w", noEOF(err))
	}
	le := binary.LittleEndian
	i := bytes.Index(buf, []byte("PK\x07\x08"))
	switch {
	case i == 0 && len(buf) >= dlen:
		size := uint64(le.Uint32(buf[8:]))
		if s.zip64 {
			size = le.Uint64(buf[8:])
		}
		if le.Uint32(buf[4:]) == s.crc.Sum32() && size == s.n {
			s.done = true
			_, _ = s.br.Discard(dlen)
			return 0, io.EOF
		}
		i = 1 // a "PK\7\8" inside the data
	case i < 0:
		// Keep what may be the start of a signature.
		i = max(len(buf)-3, 1)
	case i == 0:
		i = 1
	}
	n := copy(p, buf[:min(i, len(buf))])
	_, _ = s.crc.Write(p[:n])
	s.n += uint64(n)
	_, _ = s.br.Discard(n)
	return n, nil
}

// errZipChecksum is archive/zip's ErrChecksum, for the streamed reader.
var errZipChecksum = errors.New("zip: checksum error")

// storedStream is stored for a member read from a stream.
func (c *checker) storedStream(rd io.Reader, name string, depth int) error {
	var head [sniffLen]byte
	h, err := fill(rd, head[:])
	if err != nil && err != io.EOF {
		return err
	}
	all := io.MultiReader(bytes.NewReader(head[:h]), rd)
	switch form := sniff(head[:h]); {
	case form == plain || depth >= maxDepth:
		return nil
	case form == zipFormat:
		err := c.zipStream(bufio.NewReader(all), name+"!/", depth+1, true)
		if errors.Is(err, errNotZip) {
			return nil
		}
		return err
	case form == pngFormat:
		return c.png(all, name, depth+1)
	case form == elfFormat, form == arFormat:
		data, err := io.ReadAll(io.LimitReader(all, maxInMemory+1))
		if err != nil {
			return err
		}
		if int64(len(data)) > maxInMemory {
			return fmt.Errorf("%s larger than %d bytes: its compressed parts are not checked", form, maxInMemory)
		}
		if form == elfFormat {
			return c.elf(bytes.NewReader(data), name, depth)
		}
		return c.ar(data, name, depth, true)
	}
	return c.content(all, name, depth)
}

func noEOF(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}

// memberName makes an archive member's name, which is data, fit for
// messages: escaped where it is not printable, and shortened.
func memberName(name string) string {
	if len(name) > 200 {
		name = name[:200] + "…"
	}
	if q := strconv.Quote(name); q[1:len(q)-1] != name {
		return q
	}
	return name
}
