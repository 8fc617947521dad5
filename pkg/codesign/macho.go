package codesign

import (
	"bytes"
	"encoding/binary"
	"fmt"
)

// Mach-O constants, from Apple's <mach-o/loader.h> and <mach-o/fat.h>
// (cctools and xnu EXTERNAL_HEADERS/mach-o).
const (
	mhMagic    = 0xfeedface // 32-bit, in the file's byte order
	mhMagic64  = 0xfeedfacf // 64-bit
	fatMagic   = 0xcafebabe // universal, 32-bit offsets, always big-endian
	fatMagic64 = 0xcafebabf // universal, 64-bit offsets

	lcSegment       = 0x1
	lcSegment64     = 0x19
	lcUUID          = 0x1b
	lcCodeSignature = 0x1d

	// slotInfoPlist is CSSLOT_INFOSLOT: the hash of the Info.plist, which
	// for a bare Mach-O file is the __TEXT,__info_plist section (ld's
	// -sectcreate), if it has one.
	slotInfoPlist = 1

	// maxFatArchs bounds the slices of a universal file. Java class files
	// start with 0xcafebabe too, followed by their minor and major
	// versions: a major version is 45 or more, which makes them read as
	// at least 45 slices, so they are told apart here (as file(1) does).
	maxFatArchs = 32
)

// File is where a Mach-O file, thin or universal, keeps its UUIDs and code
// signatures. Offsets are from the start of the file.
type File struct {
	// Fat is true for a universal file (FAT_MAGIC or FAT_MAGIC_64).
	Fat bool
	// Slices are the thin Mach-O files it holds: one for a thin file.
	Slices []Slice
}

// Slice is one thin Mach-O file.
type Slice struct {
	// Offset and Size locate the slice in the file.
	Offset, Size int
	// CPU is the slice's cputype, Arch its name ("arm64", "x86_64", or
	// the number).
	CPU  uint32
	Arch string
	// UUID is the file offset of the 16 bytes of the LC_UUID command, or
	// -1 if the slice has none.
	UUID int
	// Signature is the embedded signature (LC_CODE_SIGNATURE), or nil.
	Signature *Signature
	// info is the file range of an embedded __TEXT,__info_plist section.
	info    [2]int
	hasInfo bool
}

// IsMachO reports whether data looks like a Mach-O file: a thin file in
// either byte order, 32- or 64-bit, or a universal file whose slices lie
// inside data and start with a thin Mach-O header (which a Java class file,
// the other 0xcafebabe format, does not pass).
func IsMachO(data []byte) bool {
	if len(data) < 8 {
		return false
	}
	if _, _, ok := thinOrder(data); ok {
		return true
	}
	_, err := fatSlices(data)
	return err == nil
}

// thinOrder returns the byte order and word size of a thin Mach-O header.
func thinOrder(data []byte) (binary.ByteOrder, bool, bool) {
	if len(data) < 4 {
		return nil, false, false
	}
	for _, o := range []binary.ByteOrder{binary.LittleEndian, binary.BigEndian} {
		switch o.Uint32(data) {
		case mhMagic:
			return o, false, true
		case mhMagic64:
			return o, true, true
		}
	}
	return nil, false, false
}

// fatSlices reads the fat_arch (or fat_arch_64) table of a universal file.
func fatSlices(data []byte) ([]Slice, error) {
	be := binary.BigEndian
	if len(data) < 8 {
		return nil, &FormatError{0, "truncated header"}
	}
	magic := be.Uint32(data)
	if magic != fatMagic && magic != fatMagic64 {
		return nil, &FormatError{0, "not a Mach-O file"}
	}
	n := int(be.Uint32(data[4:]))
	entry := 20
	if magic == fatMagic64 {
		entry = 32
	}
	if n <= 0 || n > maxFatArchs || 8+n*entry > len(data) {
		return nil, &FormatError{4, fmt.Sprintf("universal header with %d slices", n)}
	}
	slices := make([]Slice, n)
	for i := range slices {
		a := data[8+i*entry:]
		var off, size uint64
		if magic == fatMagic64 {
			off, size = be.Uint64(a[8:]), be.Uint64(a[16:])
		} else {
			off, size = uint64(be.Uint32(a[8:])), uint64(be.Uint32(a[12:]))
		}
		if off < uint64(8+n*entry) || off > uint64(len(data)) || size > uint64(len(data))-off {
			return nil, &FormatError{8 + i*entry, fmt.Sprintf("slice %d (%d bytes at %d) is not inside the file", i, size, off)}
		}
		if _, _, ok := thinOrder(data[off : off+size]); !ok {
			return nil, &FormatError{int(off), fmt.Sprintf("slice %d is not a Mach-O file", i)}
		}
		slices[i] = Slice{Offset: int(off), Size: int(size), CPU: be.Uint32(a)}
	}
	return slices, nil
}

// Parse reads the layout of a Mach-O file's slices, UUIDs and signatures.
// It returns a *FormatError for a file it cannot read.
func Parse(data []byte) (*File, error) {
	f := &File{}
	if _, _, ok := thinOrder(data); ok {
		f.Slices = []Slice{{Offset: 0, Size: len(data)}}
	} else {
		s, err := fatSlices(data)
		if err != nil {
			return nil, err
		}
		f.Fat, f.Slices = true, s
	}
	for i := range f.Slices {
		if err := f.Slices[i].read(data); err != nil {
			return nil, err
		}
	}
	return f, nil
}

// read fills in a slice's CPU, UUID and signature from its load commands.
func (s *Slice) read(data []byte) error {
	m := data[s.Offset : s.Offset+s.Size]
	o, is64, _ := thinOrder(m)
	hdr := 28
	if is64 {
		hdr = 32
	}
	if len(m) < hdr {
		return &FormatError{s.Offset, "truncated Mach-O header"}
	}
	s.CPU = o.Uint32(m[4:])
	s.Arch = archName(s.CPU)
	s.UUID = -1
	ncmds, size := int(o.Uint32(m[16:])), uint64(o.Uint32(m[20:]))
	if size > uint64(len(m)-hdr) || uint64(ncmds)*8 > size {
		return &FormatError{s.Offset + 16, fmt.Sprintf("%d load commands of %d bytes do not fit in the file", ncmds, size)}
	}
	cmds := m[hdr : hdr+int(size)]
	for i, off := 0, 0; i < ncmds; i++ {
		if len(cmds)-off < 8 {
			return &FormatError{s.Offset + hdr + off, "truncated load command"}
		}
		cmd, n := o.Uint32(cmds[off:]), int(o.Uint32(cmds[off+4:]))
		if n < 8 || n > len(cmds)-off {
			return &FormatError{s.Offset + hdr + off, fmt.Sprintf("load command of %d bytes", n)}
		}
		switch {
		case cmd == lcUUID && n >= 24:
			s.UUID = s.Offset + hdr + off + 8
		case cmd == lcSegment64 && is64 || cmd == lcSegment && !is64:
			if err := s.infoPlist(o, is64, cmds[off:off+n], s.Offset+hdr+off); err != nil {
				return err
			}
		case cmd == lcCodeSignature && n >= 16:
			at, size := uint64(o.Uint32(cmds[off+8:])), uint64(o.Uint32(cmds[off+12:]))
			if at > uint64(len(m)) || size > uint64(len(m))-at {
				return &FormatError{s.Offset + hdr + off, fmt.Sprintf("code signature (%d bytes at %d) is not inside the file", size, at)}
			}
			sig, err := readSignature(data, s.Offset, s.Size, s.Offset+int(at), int(size))
			if err != nil {
				return err
			}
			s.Signature = sig
		}
		off += n
	}
	return nil
}

// infoPlist finds an embedded __TEXT,__info_plist section in a segment
// command (at file offset at), whose hash a signature's Info.plist slot
// holds.
func (s *Slice) infoPlist(o binary.ByteOrder, is64 bool, seg []byte, at int) error {
	head, sect := 56, 68
	if is64 {
		head, sect = 72, 80
	}
	if len(seg) < head || !bytes.Equal(bytes.TrimRight(seg[8:24], "\x00"), []byte("__TEXT")) {
		return nil
	}
	nsects := uint64(o.Uint32(seg[head-8:]))
	if nsects > uint64(len(seg)-head)/uint64(sect) {
		return &FormatError{at, fmt.Sprintf("segment with %d sections does not fit in its command", nsects)}
	}
	for i := range int(nsects) {
		c := seg[head+i*sect:]
		if !bytes.Equal(bytes.TrimRight(c[:16], "\x00"), []byte("__info_plist")) {
			continue
		}
		var size, off uint64
		if is64 {
			size, off = o.Uint64(c[40:]), uint64(o.Uint32(c[48:]))
		} else {
			size, off = uint64(o.Uint32(c[36:])), uint64(o.Uint32(c[40:]))
		}
		if off > uint64(s.Size) || size > uint64(s.Size)-off {
			return &FormatError{at, fmt.Sprintf("__info_plist section (%d bytes at %d) is not inside the file", size, off)}
		}
		s.info, s.hasInfo = [2]int{s.Offset + int(off), s.Offset + int(off+size)}, true
	}
	return nil
}

// special returns the file range special slot k of the slice's signature
// hashes, if the file holds it: a blob of the signature, or the embedded
// Info.plist.
func (s *Slice) special(k int) (start, end int, ok bool) {
	if k == slotInfoPlist && s.hasInfo {
		return s.info[0], s.info[1], true
	}
	b, ok := s.Signature.blobOf(k)
	return b.offset, b.end, ok
}

// archName names the CPU types nixpkgs builds for, and gives the number
// of any other.
func archName(cpu uint32) string {
	switch cpu {
	case 0x0100000c:
		return "arm64"
	case 0x0200000c:
		return "arm64_32"
	case 0x01000007:
		return "x86_64"
	case 7:
		return "i386"
	case 12:
		return "arm"
	case 18:
		return "ppc"
	case 0x01000012:
		return "ppc64"
	}
	return fmt.Sprintf("cputype %#x", cpu)
}
