package codesign

import (
	"bytes"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/binary"
	"fmt"
	"hash"
)

// Code signing constants, from Apple's cs_blobs.h (xnu
// osfmk/kern/cs_blobs.h; the same layouts as Security's
// CodeSigning/cscdefs.h and lld's MachO/SyntheticSections.cpp
// CodeSignatureSection). Signature blobs are big-endian whatever the
// byte order of the Mach-O file.
const (
	magicEmbeddedSignature = 0xfade0cc0 // CSMAGIC_EMBEDDED_SIGNATURE: the SuperBlob
	magicCodeDirectory     = 0xfade0c02 // CSMAGIC_CODEDIRECTORY
	magicBlobWrapper       = 0xfade0b01 // CSMAGIC_BLOBWRAPPER: the CMS signature

	slotCodeDirectory  = 0       // CSSLOT_CODEDIRECTORY
	slotAlternateFirst = 0x1000  // CSSLOT_ALTERNATE_CODEDIRECTORIES
	slotAlternateLast  = 0x1004  // … CSSLOT_ALTERNATE_CODEDIRECTORY_MAX of them
	slotSignature      = 0x10000 // CSSLOT_SIGNATURESLOT

	flagAdhoc = 0x2 // CS_ADHOC

	versionScatter     = 0x20100 // CS_SUPPORTSSCATTER
	versionCodeLimit64 = 0x20300 // CS_SUPPORTSCODELIMIT64

	// maxBlobs bounds a SuperBlob's index before anything is allocated.
	maxBlobs = 64
)

// Hash types (CS_HASHTYPE_*) and their sizes.
const (
	HashSHA1          = 1
	HashSHA256        = 2
	HashSHA256Trunc   = 3 // SHA-256 truncated to 20 bytes
	HashSHA384        = 4
	hashSHA512        = 5 // not in every cs_blobs.h; accepted when verifying
	maxHashSize       = 64
	maxCodeDirectory  = 1 << 28
	maxSpecialSlots   = 64
	codeDirectoryBase = 44 // bytes up to and including spare2
)

// Signature is an embedded code signature: a SuperBlob with one
// CodeDirectory or more and possibly a CMS signature.
type Signature struct {
	// Offset and Size locate the SuperBlob in the file.
	Offset, Size int
	// Directories are its CodeDirectories: the one in slot 0 first, then
	// the alternates (slots 0x1000 to 0x1004), in index order.
	Directories []Directory
	// CMS is the number of bytes of the CMS signature (slot 0x10000),
	// not counting the blob header: 0 when there is none or it is empty,
	// as in an ad-hoc signature made by codesign.
	CMS   int
	blobs []blob
}

type blob struct {
	slot        uint32
	offset, end int // in the file, the blob header included
}

// Directory is one CodeDirectory.
type Directory struct {
	// Offset and Length locate the CodeDirectory blob in the file.
	Offset, Length int
	// Slot is its slot in the SuperBlob (0, or 0x1000 + n).
	Slot uint32
	// Version and Flags are its version and flags (CS_ADHOC is 0x2).
	Version, Flags uint32
	// HashType is its CS_HASHTYPE_*, HashSize the length of each hash.
	HashType uint8
	HashSize int
	// PageSize is the size of the pages it hashes (4096, 16384), or 0
	// when one hash covers all the code.
	PageSize int
	// CodeLimit is how many bytes of the slice the code hashes cover
	// (codeLimit64 when it is set).
	CodeLimit int
	// CodeSlots and SpecialSlots count its hashes.
	CodeSlots, SpecialSlots int
	// Identifier is its identifier string (lld's and ld64's: the output
	// file's name).
	Identifier string
	// hashes is the file offset of code slot 0; the special slot n is
	// n hashes before it.
	hashes int
	slice  int
}

// Adhoc reports whether the CodeDirectory is flagged ad hoc (CS_ADHOC).
func (d *Directory) Adhoc() bool { return d.Flags&flagAdhoc != 0 }

// Page returns the range of slice offsets code slot i hashes.
func (d *Directory) Page(i int) (start, end int) {
	if d.PageSize == 0 {
		return 0, d.CodeLimit
	}
	start = i * d.PageSize
	return start, min(start+d.PageSize, d.CodeLimit)
}

// PageOf returns the code slot whose page holds slice offset off, or -1.
func (d *Directory) PageOf(off int) int {
	if off < 0 || off >= d.CodeLimit {
		return -1
	}
	if d.PageSize == 0 {
		return 0
	}
	return off / d.PageSize
}

// SlotOffset returns the file offset of the hash in code slot i; special
// slot n (1 for Info.plist, 2 for the requirements, …) is slot -n.
func (d *Directory) SlotOffset(i int) int { return d.hashes + i*d.HashSize }

// newHash returns the hash function of a CS_HASHTYPE and its size.
func newHash(t uint8) (func() hash.Hash, int, bool) {
	switch t {
	case HashSHA1:
		return sha1.New, sha1.Size, true
	case HashSHA256:
		return sha256.New, sha256.Size, true
	case HashSHA256Trunc:
		return sha256.New, 20, true
	case HashSHA384:
		return sha512.New384, sha512.Size384, true
	case hashSHA512:
		return sha512.New, sha512.Size, true
	}
	return nil, 0, false
}

// sum hashes b with the directory's hash, truncated to its size.
func (d *Directory) sum(b []byte) []byte {
	h, _, _ := newHash(d.HashType)
	w := h()
	w.Write(b)
	return w.Sum(nil)[:d.HashSize]
}

// readSignature reads the SuperBlob at off (size bytes) of the slice at
// slice (sliceSize bytes).
func readSignature(data []byte, slice, sliceSize, off, size int) (*Signature, error) {
	be := binary.BigEndian
	sb := data[off : off+size]
	if len(sb) < 12 || be.Uint32(sb) != magicEmbeddedSignature {
		return nil, &FormatError{off, "code signature is not an embedded-signature SuperBlob"}
	}
	length, count := int(be.Uint32(sb[4:])), int(be.Uint32(sb[8:]))
	if length < 12 || length > len(sb) || count < 0 || count > maxBlobs || 12+8*count > length {
		return nil, &FormatError{off, fmt.Sprintf("SuperBlob of %d bytes with %d blobs", length, count)}
	}
	sb = sb[:length]
	s := &Signature{Offset: off, Size: length}
	for i := range count {
		slot, at := be.Uint32(sb[12+8*i:]), int(be.Uint32(sb[16+8*i:]))
		if at < 12+8*count || at > len(sb)-8 {
			return nil, &FormatError{off + 12 + 8*i, fmt.Sprintf("blob %#x at offset %d is outside the SuperBlob", slot, at)}
		}
		n := int(be.Uint32(sb[at+4:]))
		if n < 8 || n > len(sb)-at {
			return nil, &FormatError{off + at, fmt.Sprintf("blob %#x of %d bytes runs past the SuperBlob", slot, n)}
		}
		s.blobs = append(s.blobs, blob{slot, off + at, off + at + n})
		switch {
		case slot == slotCodeDirectory || slot >= slotAlternateFirst && slot <= slotAlternateLast:
			d, err := readDirectory(data, slice, sliceSize, off+at, n)
			if err != nil {
				return nil, err
			}
			d.Slot = slot
			s.Directories = append(s.Directories, *d)
		case slot == slotSignature:
			if be.Uint32(sb[at:]) != magicBlobWrapper {
				return nil, &FormatError{off + at, "signature slot holds no CMS blob wrapper"}
			}
			s.CMS = n - 8
		}
	}
	if len(s.Directories) == 0 {
		return nil, &FormatError{off, "code signature without a CodeDirectory"}
	}
	return s, nil
}

// readDirectory reads the CodeDirectory blob of n bytes at off, checking
// that its hashes lie inside it and its pages inside the slice.
func readDirectory(data []byte, slice, sliceSize, off, n int) (*Directory, error) {
	be := binary.BigEndian
	cd := data[off : off+n]
	fail := func(format string, a ...any) error {
		return &FormatError{off, "CodeDirectory: " + fmt.Sprintf(format, a...)}
	}
	if be.Uint32(cd) != magicCodeDirectory {
		return nil, fail("bad magic %#x", be.Uint32(cd))
	}
	if n < codeDirectoryBase {
		return nil, fail("truncated (%d bytes)", n)
	}
	d := &Directory{
		Offset: off, Length: n, slice: slice,
		Version: be.Uint32(cd[8:]), Flags: be.Uint32(cd[12:]),
		SpecialSlots: int(be.Uint32(cd[24:])), CodeSlots: int(be.Uint32(cd[28:])),
		CodeLimit: int(be.Uint32(cd[32:])), HashSize: int(cd[36]), HashType: cd[37],
	}
	hashOff, identOff := int(be.Uint32(cd[16:])), int(be.Uint32(cd[20:]))
	if d.Version >= versionScatter && n >= 48 && be.Uint32(cd[44:]) != 0 {
		return nil, fail("scatter vectors are not supported")
	}
	if d.Version >= versionCodeLimit64 && n >= 64 {
		if l := be.Uint64(cd[56:]); l != 0 {
			if l > uint64(sliceSize) {
				return nil, fail("codeLimit64 %d is past the end of the file", l)
			}
			d.CodeLimit = int(l)
		}
	}
	if shift := cd[39]; shift != 0 {
		if shift < 9 || shift > 24 {
			return nil, fail("page size 2^%d", shift)
		}
		d.PageSize = 1 << shift
	}
	if _, size, ok := newHash(d.HashType); !ok || size != d.HashSize {
		return nil, fail("hash type %d with %d-byte hashes", d.HashType, d.HashSize)
	}
	// (On 32-bit platforms, a field of 2^31 or more reads as negative.)
	if d.SpecialSlots < 0 || d.CodeSlots < 0 || d.CodeLimit < 0 || hashOff < 0 ||
		d.SpecialSlots > maxSpecialSlots || d.CodeSlots > n/d.HashSize ||
		hashOff < d.SpecialSlots*d.HashSize || hashOff > n || d.CodeSlots*d.HashSize > n-hashOff {
		return nil, fail("%d special and %d code hashes at %d do not fit in %d bytes", d.SpecialSlots, d.CodeSlots, hashOff, n)
	}
	d.hashes = off + hashOff
	if d.CodeLimit > sliceSize {
		return nil, fail("code limit %d is past the end of the slice", d.CodeLimit)
	}
	want := 1
	if d.PageSize != 0 {
		want = (d.CodeLimit + d.PageSize - 1) / d.PageSize
	}
	if d.CodeLimit == 0 {
		want = 0
	}
	if d.CodeSlots != want {
		return nil, fail("%d code slots for %d bytes in pages of %d", d.CodeSlots, d.CodeLimit, d.PageSize)
	}
	if identOff > 0 && identOff < n {
		id := cd[identOff:]
		if i := bytes.IndexByte(id, 0); i >= 0 {
			d.Identifier = string(id[:i])
		}
	}
	return d, nil
}

// blobOf returns the blob of a special slot, if the SuperBlob holds it.
func (s *Signature) blobOf(slot int) (blob, bool) {
	for _, b := range s.blobs {
		if int(b.slot) == slot {
			return b, true
		}
	}
	return blob{}, false
}
