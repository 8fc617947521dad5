package elfid

import (
	"bytes"
	"crypto/sha1"
	"debug/elf"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"slices"

	"github.com/nix-vanilla/nix-vanilla/pkg/inplace"
)

// ErrNoBuildID is returned, wrapped, for an ELF file that has no GNU
// build-id note. There is nothing to recompute; most callers treat it as
// success.
var ErrNoBuildID = errors.New("no GNU build-id note")

// ErrNotELF is returned, wrapped, for data that does not start with the ELF
// magic number.
var ErrNotELF = errors.New("not an ELF file")

// An UnsupportedError reports a build-id that exists but cannot be
// recomputed, because it was not made with --build-id=sha1 or because the
// file no longer holds what the id covers.
type UnsupportedError struct {
	Path   string // file name, empty for Recompute
	Reason string // why the id cannot be recomputed
}

func (e *UnsupportedError) Error() string {
	if e.Path == "" {
		return "build-id cannot be recomputed: " + e.Reason
	}
	return "build-id " + e.Path + ": cannot be recomputed: " + e.Reason
}

// IsELF reports whether data starts with the ELF magic number. It is a
// cheap test to pick the files worth passing to [Recompute].
func IsELF(data []byte) bool {
	return bytes.HasPrefix(data, []byte(elf.ELFMAG))
}

// Recompute computes the build-id of data, a whole ELF file, as GNU ld
// computes it for --build-id=sha1, stores it in the file's build-id note in
// place and reports whether it differed from the stored one. Nothing else in
// data is modified.
//
// Recompute returns an error wrapping [ErrNoBuildID] if the file has no
// build-id note, one wrapping [ErrNotELF] if data is not an ELF file, and an
// [*UnsupportedError] if the id cannot be recomputed.
func Recompute(data []byte) (changed bool, err error) {
	_, changed, err = recompute(data, true)
	return changed, err
}

// Reproducible reports whether the build-id stored in data, a whole ELF
// file, is the one GNU ld computes for data's contents, without changing
// data. Asked of a file before it is edited, it tells whether the id is
// ld's: when it is not (the file was stripped or patched after linking),
// recomputing the id after the edit would give one ld never wrote, and the
// old id is better kept. Errors are those of [Recompute].
func Reproducible(data []byte) (bool, error) {
	_, changed, err := recompute(data, false)
	return err == nil && !changed, err
}

// File recomputes the build-id of the ELF file at path like [Recompute] and,
// if it changed, writes the new id into the file in place. The file keeps
// its permissions and modification time; a read-only file is made writable
// for the duration of the write.
func File(path string) (changed bool, err error) {
	fi, err := os.Stat(path)
	if err != nil {
		return false, fmt.Errorf("build-id: %w", err)
	}
	if !fi.Mode().IsRegular() {
		return false, fmt.Errorf("build-id %s: not a regular file", path)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return false, fmt.Errorf("build-id: %w", err)
	}
	off, changed, err := recompute(data, true)
	if err != nil {
		if u, ok := err.(*UnsupportedError); ok {
			return false, &UnsupportedError{Path: path, Reason: u.Reason}
		}
		return false, fmt.Errorf("build-id %s: %w", path, err)
	}
	if !changed {
		return false, nil
	}
	if err := writeAt(path, data[off:off+sha1.Size], off); err != nil {
		return false, fmt.Errorf("build-id: %w", err)
	}
	return true, nil
}

// writeAt writes b at offset off of the file at path, in place, and
// restores the file's mode and modification time.
func writeAt(path string, b []byte, off int) error {
	f, err := inplace.Open(path)
	if err != nil {
		return err
	}
	_, err = f.WriteAt(b, int64(off))
	return errors.Join(err, f.Close())
}

// Note types.
const (
	ntGNUBuildID         = 3          // NT_GNU_BUILD_ID, name "GNU"
	ntGNUGoldVersion     = 4          // NT_GNU_GOLD_VERSION, name "GNU"
	ntGoBuildID          = 4          // Go's build ID, name "Go"
	ntFDOPackageMetadata = 0xcafe1a7e // FDO_PACKAGING_METADATA, name "FDO"

	noteHeaderSize = 12 // namesz, descsz, type
)

// A layout gives the sizes of the ELF structures of one class and where in
// them are the fields ld zeroes before hashing.
type layout struct {
	ehdrSize, phdrSize, shdrSize int
	phoff, shoff                 int // e_phoff and e_shoff in the ELF header
	shOffset                     int // sh_offset in a section header
	word                         int // size of those fields
}

var layouts = map[elf.Class]layout{
	elf.ELFCLASS32: {ehdrSize: 52, phdrSize: 32, shdrSize: 40, phoff: 28, shoff: 32, shOffset: 16, word: 4},
	elf.ELFCLASS64: {ehdrSize: 64, phdrSize: 56, shdrSize: 64, phoff: 32, shoff: 40, shOffset: 24, word: 8},
}

// A note locates one note in the contents of a section or segment.
type note struct {
	start, end int // the whole note
	desc       int // its descriptor
	descsz     int
}

// recompute does the work of Recompute and also returns the file offset of
// the build-id.
func recompute(data []byte, write bool) (off int, changed bool, err error) {
	if !IsELF(data) {
		return 0, false, ErrNotELF
	}
	f, err := elf.NewFile(bytes.NewReader(data))
	if err != nil {
		return 0, false, fmt.Errorf("malformed ELF file: %w", err)
	}
	l, ok := layouts[f.Class]
	if !ok || len(data) < l.ehdrSize {
		return 0, false, fmt.Errorf("unsupported ELF class %v", f.Class)
	}
	if len(f.Sections) == 0 {
		// Without section headers there is no knowing what the id covered.
		for _, p := range f.Progs {
			if b, ok := span(data, p.Off, p.Filesz); ok && p.Type == elf.PT_NOTE {
				if _, ok := findNote(b, f.ByteOrder, int(p.Align), "GNU", ntGNUBuildID); ok {
					return 0, false, &UnsupportedError{Reason: "no section headers (stripped?)"}
				}
			}
		}
		return 0, false, ErrNoBuildID
	}

	// Find the build-id, the other notes to hash as zeros and the marks
	// other linkers leave.
	idSec := -1
	var id note
	zero := make(map[int][]note) // by section index
	var linker string
	for i, s := range f.Sections {
		if s.Type == elf.SHT_NOBITS || s.Type != elf.SHT_NOTE && s.Name != ".comment" {
			continue
		}
		b, ok := span(data, s.Offset, s.FileSize)
		if !ok {
			return 0, false, fmt.Errorf("malformed ELF file: section %s out of range", s.Name)
		}
		if s.Type != elf.SHT_NOTE {
			for _, c := range bytes.Split(b, []byte{0}) {
				switch {
				case bytes.HasPrefix(c, []byte("Linker: LLD")):
					linker = "lld"
				case bytes.HasPrefix(c, []byte("mold ")):
					linker = "mold"
				}
			}
			continue
		}
		align := int(s.Addralign)
		if n, ok := findNote(b, f.ByteOrder, align, "GNU", ntGNUBuildID); ok {
			if idSec >= 0 {
				return 0, false, &UnsupportedError{Reason: "more than one build-id note"}
			}
			idSec, id = i, n
			zero[i] = append(zero[i], n)
		}
		if n, ok := findNote(b, f.ByteOrder, align, "FDO", ntFDOPackageMetadata); ok {
			zero[i] = append(zero[i], n)
		}
		if _, ok := findNote(b, f.ByteOrder, align, "GNU", ntGNUGoldVersion); ok {
			linker = "gold"
		}
		if _, ok := findNote(b, f.ByteOrder, align, "Go", ntGoBuildID); ok {
			linker = "the Go linker"
		}
	}
	switch {
	case idSec < 0:
		return 0, false, ErrNoBuildID
	case id.descsz != sha1.Size:
		return 0, false, &UnsupportedError{Reason: fmt.Sprintf(
			"%d-byte id, not --build-id=sha1 (md5 and uuid ids have 16 bytes)", id.descsz)}
	case linker != "":
		return 0, false, &UnsupportedError{Reason: "linked by " + linker + ", not GNU ld"}
	}

	off = int(f.Sections[idSec].Offset) + id.desc
	sum, err := checksum(data, f, l, zero, off)
	if err != nil {
		return 0, false, err
	}
	if desc := data[off : off+sha1.Size]; !bytes.Equal(desc, sum) {
		if write {
			copy(desc, sum)
		}
		changed = true
	}
	return off, changed, nil
}

// checksum computes the id as BFD's elf_checksum_contents and ld's
// write_build_id do, with the notes in zero hashed as zeros. The id is at
// offset id of data, and must not be part of what is hashed.
func checksum(data []byte, f *elf.File, l layout, zero map[int][]note, id int) ([]byte, error) {
	bo := f.ByteOrder
	word := func(off int) uint64 {
		if l.word == 4 {
			return uint64(bo.Uint32(data[off:]))
		}
		return bo.Uint64(data[off:])
	}
	// e_phentsize, e_phnum, e_shentsize, e_shnum and e_shstrndx end the
	// ELF header of both classes.
	phentsize := int(bo.Uint16(data[l.ehdrSize-10:]))
	shentsize := int(bo.Uint16(data[l.ehdrSize-6:]))
	shstrndx := int(bo.Uint16(data[l.ehdrSize-2:]))
	if len(f.Progs) > 0 && phentsize != l.phdrSize {
		return nil, fmt.Errorf("malformed ELF file: program header size %d", phentsize)
	}
	if shentsize != l.shdrSize {
		return nil, fmt.Errorf("malformed ELF file: section header size %d", shentsize)
	}

	// ld writes the null section, the section name table, the symbol table
	// and its companions itself, not from input sections; their contents
	// are not hashed.
	skip := map[int]bool{0: true, shstrndx: true}
	if shstrndx == int(elf.SHN_XINDEX) {
		skip[int(f.Sections[0].Link)] = true
	}
	for i, s := range f.Sections {
		switch s.Type {
		case elf.SHT_SYMTAB:
			skip[i] = true
			skip[int(s.Link)] = true
		case elf.SHT_SYMTAB_SHNDX:
			skip[i] = true
		}
	}

	h := sha1.New()
	overlap := false
	hash := func(b []byte, off uint64) {
		if off < uint64(id+sha1.Size) && uint64(id) < off+uint64(len(b)) {
			overlap = true
		}
		h.Write(b)
	}

	ehdr := bytes.Clone(data[:l.ehdrSize])
	clear(ehdr[l.phoff : l.phoff+l.word])
	clear(ehdr[l.shoff : l.shoff+l.word])
	hash(ehdr, 0)

	phoff := word(l.phoff)
	phdrs, ok := span(data, phoff, uint64(len(f.Progs)*l.phdrSize))
	if !ok {
		return nil, errors.New("malformed ELF file: program headers out of range")
	}
	hash(phdrs, phoff)

	shoff := word(l.shoff)
	shdr := make([]byte, l.shdrSize)
	for i, s := range f.Sections {
		off := shoff + uint64(i*l.shdrSize)
		b, ok := span(data, off, uint64(l.shdrSize))
		if !ok {
			return nil, errors.New("malformed ELF file: section headers out of range")
		}
		copy(shdr, b)
		clear(shdr[l.shOffset : l.shOffset+l.word])
		hash(shdr, off)

		if s.Type == elf.SHT_NOBITS || skip[i] {
			continue
		}
		b, ok = span(data, s.Offset, s.FileSize)
		if !ok {
			return nil, fmt.Errorf("malformed ELF file: section %s out of range", s.Name)
		}
		notes := slices.SortedFunc(slices.Values(zero[i]), func(a, b note) int { return a.start - b.start })
		at := 0
		for _, n := range notes {
			hash(b[at:n.start], s.Offset+uint64(at))
			h.Write(make([]byte, n.end-n.start))
			at = n.end
		}
		hash(b[at:], s.Offset+uint64(at))
	}
	if overlap {
		return nil, errors.New("malformed ELF file: build-id overlaps the data it covers")
	}
	return h.Sum(nil), nil
}

// span returns data[off:off+n], reporting whether it is within data.
func span(data []byte, off, n uint64) ([]byte, bool) {
	if off > uint64(len(data)) || n > uint64(len(data))-off {
		return nil, false
	}
	return data[off : off+n], true
}

// findNote finds the first note with the given name and type in b, the
// contents of a note section or segment aligned to align.
func findNote(b []byte, bo binary.ByteOrder, align int, name string, typ uint32) (note, bool) {
	if align != 8 {
		align = 4
	}
	pad := func(n int) int { return (n + align - 1) &^ (align - 1) }
	for at := 0; len(b)-at >= noteHeaderSize; {
		if uint64(bo.Uint32(b[at:])) > uint64(len(b)) || uint64(bo.Uint32(b[at+4:])) > uint64(len(b)) {
			break
		}
		namesz, descsz := int(bo.Uint32(b[at:])), int(bo.Uint32(b[at+4:]))
		n := note{start: at, desc: pad(at + noteHeaderSize + namesz), descsz: descsz}
		n.end = n.desc + descsz
		if n.end > len(b) {
			break
		}
		nm := b[at+noteHeaderSize : at+noteHeaderSize+namesz]
		if bo.Uint32(b[at+8:]) == typ && string(bytes.TrimRight(nm, "\x00")) == name {
			return n, true
		}
		at = min(pad(n.end), len(b))
	}
	return note{}, false
}
