package storepath

import (
	"bytes"
	"debug/elf"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/klauspost/compress/zlib"
	"github.com/klauspost/compress/zstd"
)

// elf checks the compressed sections of the ELF file in ra: sections
// marked SHF_COMPRESSED (gcc -gz, ld --compress-debug-sections) and the
// LTO sections (.gnu.lto_*) that GCC fills with zstd or zlib streams. Raw
// section bytes are the file's own and are left to File. Members are
// named "section NAME".
func (c *checker) elf(ra io.ReaderAt, prefix string, depth int) error {
	f, err := elf.NewFile(ra)
	if err != nil {
		return nil // not an ELF file after all: nothing compressed to see
	}
	defer f.Close()
	for _, s := range f.Sections {
		name := prefix + "section " + s.Name
		if prefix != "" {
			name = prefix + "!/section " + s.Name
		}
		if err := c.budget.take(memberCost); err != nil {
			return err
		}
		switch {
		case s.Type == elf.SHT_NOBITS:
		case s.Flags&elf.SHF_COMPRESSED != 0:
			if err := c.content(spent{s.Open(), c.budget}, name, depth); err != nil {
				return fmt.Errorf("%s: %w", name, err)
			}
		case strings.HasPrefix(s.Name, ".gnu.lto_"):
			if err := c.lto(s.Open(), name, depth); err != nil {
				return fmt.Errorf("%s: %w", name, err)
			}
		}
	}
	return nil
}

// lto checks an LTO section: GCC (lto-compress.cc) writes one zstd frame
// or zlib stream per section, or the data uncompressed.
func (c *checker) lto(rd io.Reader, member string, depth int) error {
	var head [4]byte
	n, err := fill(rd, head[:])
	if err != nil && err != io.EOF {
		return err
	}
	all := io.MultiReader(bytes.NewReader(head[:n]), rd)
	switch {
	case n == 4 && bytes.Equal(head[:], []byte{0x28, 0xb5, 0x2f, 0xfd}):
		z, err := zstd.NewReader(all, zstd.WithDecoderConcurrency(1))
		if err != nil {
			return fmt.Errorf("zstd: %w", err)
		}
		defer z.Close()
		return c.content(spent{z, c.budget}, member, depth+1)
	case n >= 2 && head[0]&0x0f == 8 && (uint(head[0])<<8|uint(head[1]))%31 == 0:
		z, err := zlib.NewReader(all)
		if err != nil {
			return fmt.Errorf("zlib: %w", err)
		}
		defer z.Close()
		return c.content(spent{z, c.budget}, member, depth+1)
	}
	return nil // uncompressed: File rewrote it
}

// ar checks the members of a static library (System V / GNU ar).
//
// own says that the archive's bytes are the file's own (a static library
// on disk, which the byte rewrite reached): then a member's raw bytes are
// too, and only what is compressed inside a member is looked into. Inside
// compressed data (own false) every member's bytes are scanned.
func (c *checker) ar(data []byte, prefix string, depth int, own bool) error {
	if depth >= maxDepth {
		return nil
	}
	names := []byte(nil) // the GNU long-name table "//"
	for off := 8; off+60 <= len(data); {
		h := data[off : off+60]
		size, err := strconv.ParseInt(strings.TrimSpace(string(h[48:58])), 10, 64)
		if err != nil || size < 0 || off+60+int(size) > len(data) {
			return fmt.Errorf("ar member header at %d: bad size %q", off, h[48:58])
		}
		if err := c.budget.take(memberCost); err != nil {
			return err
		}
		body := data[off+60 : off+60+int(size)]
		name := strings.TrimRight(string(h[:16]), " ")
		switch {
		case name == "//":
			names = body
		case name == "/" || name == "/SYM64/":
		default:
			if i, err := strconv.Atoi(strings.TrimPrefix(name, "/")); err == nil && strings.HasPrefix(name, "/") && i < len(names) {
				name = string(names[i:])
				if j := strings.Index(name, "/\n"); j >= 0 {
					name = name[:j]
				}
			}
			name = memberName(strings.TrimSuffix(name, "/"))
			member := name
			if prefix != "" {
				member = prefix + "!/" + name
			}
			var err error
			if own {
				err = c.own(bytes.NewReader(body), size, sniffOwn(body[:min(len(body), tarHeadLen)], false), member, depth+1)
			} else {
				err = c.content(bytes.NewReader(body), member, depth+1)
			}
			if err != nil {
				return fmt.Errorf("ar member %s: %w", member, err)
			}
		}
		off += 60 + int(size) + int(size&1)
	}
	return nil
}
