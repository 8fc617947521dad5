package codesign

import (
	"encoding/binary"
)

// Synth describes a small Mach-O file that tests build without a linker:
// a header, LC_UUID and LC_CODE_SIGNATURE, Body, padding to 16 bytes, and
// a SuperBlob signing all of it, laid out as lld lays out its signature.
type Synth struct {
	BigEndian, Is32 bool
	CPU             uint32
	Body            []byte
	PageShift       uint8   // 12 by default; 0 is taken as 12
	HashTypes       []uint8 // slot 0 first, then alternates; SHA-256 by default
	Identifier      string
	Flags           uint32 // CS_ADHOC is added unless NotAdhoc
	NotAdhoc        bool
	CMS             []byte // nil: no signature slot; empty: an empty wrapper
	Requirements    []byte // nil: none; else the requirements blob's data
	InfoPlist       []byte // nil: none; else a __TEXT,__info_plist section after Body
}

// Build returns the file's bytes.
func (s Synth) Build() []byte {
	var o binary.ByteOrder = binary.LittleEndian
	if s.BigEndian {
		o = binary.BigEndian
	}
	if s.CPU == 0 {
		s.CPU = 0x0100000c
	}
	if s.PageShift == 0 {
		s.PageShift = 12
	}
	if len(s.HashTypes) == 0 {
		s.HashTypes = []uint8{HashSHA256}
	}
	hdr := 32
	magic := uint32(mhMagic64)
	if s.Is32 {
		hdr, magic = 28, mhMagic
	}
	cmds, ncmds := 24+16, 2
	seg, sect := 72, 80
	if s.Is32 {
		seg, sect = 56, 68
	}
	if s.InfoPlist != nil {
		cmds, ncmds = cmds+seg+sect, 3
	}
	f := make([]byte, hdr+cmds)
	o.PutUint32(f, magic)
	o.PutUint32(f[4:], s.CPU)
	o.PutUint32(f[12:], 2) // MH_EXECUTE
	o.PutUint32(f[16:], uint32(ncmds))
	o.PutUint32(f[20:], uint32(cmds))
	c := f[hdr:]
	o.PutUint32(c, lcUUID)
	o.PutUint32(c[4:], 24)
	copy(c[8:], "0123456789abcdef")
	o.PutUint32(c[24:], lcCodeSignature)
	o.PutUint32(c[28:], 16)
	f = append(f, s.Body...)
	if s.InfoPlist != nil {
		// LC_SEGMENT(_64) __TEXT with one section, __info_plist.
		c := f[hdr+40:]
		cmd := uint32(lcSegment64)
		if s.Is32 {
			cmd = lcSegment
		}
		o.PutUint32(c, cmd)
		o.PutUint32(c[4:], uint32(seg+sect))
		copy(c[8:], "__TEXT")
		o.PutUint32(c[seg-8:], 1) // nsects
		x := c[seg:]
		copy(x, "__info_plist")
		copy(x[16:], "__TEXT")
		if s.Is32 {
			o.PutUint32(x[36:], uint32(len(s.InfoPlist)))
			o.PutUint32(x[40:], uint32(len(f)))
		} else {
			o.PutUint64(x[40:], uint64(len(s.InfoPlist)))
			o.PutUint32(x[48:], uint32(len(f)))
		}
		f = append(f, s.InfoPlist...)
	}
	for len(f)%16 != 0 {
		f = append(f, 0)
	}
	// The signature's size does not depend on the bytes it hashes, which
	// include the load command that gives it.
	o.PutUint32(f[hdr+32:], uint32(len(f)))
	o.PutUint32(f[hdr+36:], uint32(len(s.signature(f))))
	return append(f, s.signature(f)...)
}

// signature builds the SuperBlob over code (the file up to the signature).
func (s Synth) signature(code []byte) []byte {
	be := binary.BigEndian
	type entry struct {
		slot uint32
		data []byte
	}
	var blobs []entry
	var req []byte
	if s.Requirements != nil {
		req = be.AppendUint32(nil, 0xfade0c01)
		req = be.AppendUint32(req, uint32(8+len(s.Requirements)))
		req = append(req, s.Requirements...)
	}
	for i, t := range s.HashTypes {
		slot := uint32(slotCodeDirectory)
		if i > 0 {
			slot = slotAlternateFirst + uint32(i-1)
		}
		blobs = append(blobs, entry{slot, s.directory(code, t, req)})
	}
	if req != nil {
		blobs = append(blobs, entry{2, req})
	}
	if s.CMS != nil {
		w := be.AppendUint32(nil, magicBlobWrapper)
		w = be.AppendUint32(w, uint32(8+len(s.CMS)))
		blobs = append(blobs, entry{slotSignature, append(w, s.CMS...)})
	}
	head := 12 + 8*len(blobs)
	sb := make([]byte, head)
	be.PutUint32(sb, magicEmbeddedSignature)
	be.PutUint32(sb[8:], uint32(len(blobs)))
	for i, b := range blobs {
		be.PutUint32(sb[12+8*i:], b.slot)
		be.PutUint32(sb[16+8*i:], uint32(len(sb)))
		sb = append(sb, b.data...)
	}
	be.PutUint32(sb[4:], uint32(len(sb)))
	return sb
}

// directory builds a CodeDirectory (version 0x20400, as lld writes it)
// with hash type t over code, and the requirements' special slot.
func (s Synth) directory(code []byte, t uint8, req []byte) []byte {
	be := binary.BigEndian
	newH, size, _ := newHash(t)
	sum := func(b []byte) []byte { h := newH(); h.Write(b); return h.Sum(nil)[:size] }
	page := 1 << s.PageShift
	nCode := (len(code) + page - 1) / page
	nSpecial := 0
	if s.InfoPlist != nil {
		nSpecial = 1
	}
	if req != nil {
		nSpecial = 2
	}
	const fixed = 88
	ident := append([]byte(s.Identifier), 0)
	hashOff := fixed + len(ident) + nSpecial*size
	cd := make([]byte, hashOff, hashOff+nCode*size)
	flags := s.Flags
	if !s.NotAdhoc {
		flags |= flagAdhoc
	}
	be.PutUint32(cd, magicCodeDirectory)
	be.PutUint32(cd[8:], 0x20400)
	be.PutUint32(cd[12:], flags)
	be.PutUint32(cd[16:], uint32(hashOff))
	be.PutUint32(cd[20:], fixed)
	be.PutUint32(cd[24:], uint32(nSpecial))
	be.PutUint32(cd[28:], uint32(nCode))
	be.PutUint32(cd[32:], uint32(len(code)))
	cd[36], cd[37], cd[39] = byte(size), t, s.PageShift
	copy(cd[fixed:], ident)
	if req != nil {
		copy(cd[hashOff-2*size:], sum(req)) // slot 2
	}
	if s.InfoPlist != nil {
		copy(cd[hashOff-size:], sum(s.InfoPlist)) // slot 1; else zero
	}
	for i := 0; i < len(code); i += page {
		cd = append(cd, sum(code[i:min(i+page, len(code))])...)
	}
	be.PutUint32(cd[4:], uint32(len(cd)))
	return cd
}

// Lipo returns a universal file of the given thin files, each aligned to
// 2^align bytes, with 64-bit offsets if wide (FAT_MAGIC_64).
func Lipo(wide bool, align uint, thin ...[]byte) []byte {
	be := binary.BigEndian
	entry := 20
	magic := uint32(fatMagic)
	if wide {
		entry, magic = 32, fatMagic64
	}
	f := be.AppendUint32(nil, magic)
	f = be.AppendUint32(f, uint32(len(thin)))
	f = append(f, make([]byte, entry*len(thin))...)
	for i, t := range thin {
		for len(f)%(1<<align) != 0 {
			f = append(f, 0)
		}
		a := f[8+i*entry:]
		o, _, _ := thinOrder(t)
		be.PutUint32(a, o.Uint32(t[4:]))
		be.PutUint32(a[4:], o.Uint32(t[8:]))
		if wide {
			be.PutUint64(a[8:], uint64(len(f)))
			be.PutUint64(a[16:], uint64(len(t)))
			be.PutUint32(a[24:], uint32(align))
		} else {
			be.PutUint32(a[8:], uint32(len(f)))
			be.PutUint32(a[12:], uint32(len(t)))
			be.PutUint32(a[16:], uint32(align))
		}
		f = append(f, t...)
	}
	return f
}
