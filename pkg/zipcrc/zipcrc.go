package zipcrc

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"path"
	"strings"
)

const (
	localSig   = "PK\x03\x04"
	centralSig = "PK\x01\x02"
	endSig     = "PK\x05\x06"
	descSig    = "PK\x07\x08"
	end64Loc   = "PK\x06\x07"
	localLen   = 30
	centralLen = 46
	endLen     = 22
	maxComment = 0xffff
)

// ErrZip64 is returned (wrapped) by Fix for a zip64 archive whose bytes
// the rewrite changed.
var ErrZip64 = errors.New("zip64 archive: the CRCs of its stored members are not recomputed")

// ErrSigned is returned (wrapped) by Fix for a signed jar (one with
// META-INF/*.SF signature files) whose stored members changed: their
// digests in the manifest and the signature cannot be made again.
var ErrSigned = errors.New("signed jar: the digests and signatures of its changed members cannot be made again")

// ErrLength is returned (wrapped) by Fix when the rewritten bytes differ
// in length from the original ones.
var ErrLength = errors.New("rewritten bytes differ in length from the original")

// FormatError reports an archive that Fix cannot read.
type FormatError struct {
	Member string // "" for the archive itself
	Reason string
}

func (e *FormatError) Error() string {
	if e.Member == "" {
		return "zip: " + e.Reason
	}
	return fmt.Sprintf("zip member %s: %s", e.Member, e.Reason)
}

// IsZip reports whether data starts with a zip local file header.
func IsZip(data []byte) bool { return bytes.HasPrefix(data, []byte(localSig)) }

// Member fixes the data of a stored member in place (cur, with orig its
// bytes before the rewrite) and returns how many checksums it changed.
type Member func(name string, cur, orig []byte) (int, error)

// Fix recomputes, in cur, the CRC-32 of every stored member whose recorded
// CRC matched its data in orig (the archive before the rewrite, at equal
// length) and no longer matches it in cur. If inner is not nil, it is
// called first on every stored member's data. It returns the number of
// checksums changed, inner's included.
func Fix(cur, orig []byte, inner Member) (int, error) {
	if len(cur) != len(orig) {
		return 0, ErrLength
	}
	if bytes.Equal(cur, orig) {
		return 0, nil
	}
	members, err := directory(orig)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, m := range members {
		k, err := m.fix(cur, orig, inner)
		n += k
		if err != nil {
			return n, err
		}
	}
	if n > 0 && signed(members) {
		return n, ErrSigned
	}
	return n, nil
}

// signed reports a jar signed with jarsigner: it lists the digest of every
// member in META-INF/MANIFEST.MF and signs them in META-INF/NAME.SF.
func signed(ms []member) bool {
	for _, m := range ms {
		dir, file := path.Split(m.name)
		if strings.EqualFold(dir, "META-INF/") && strings.HasSuffix(strings.ToUpper(file), ".SF") {
			return true
		}
	}
	return false
}

// member is where one member's CRCs and data are.
type member struct {
	name    string
	central int // offset of its central directory entry
	local   int // offset of its local file header
	data    int // offset of its data
	size    int // its compressed size
	method  uint16
	flags   uint16
}

// directory reads the central directory of the archive in b.
func directory(b []byte) ([]member, error) {
	e := bytes.LastIndex(b[max(0, len(b)-endLen-maxComment):], []byte(endSig))
	if e < 0 || len(b)-endLen < max(0, len(b)-endLen-maxComment)+e {
		return nil, &FormatError{Reason: "no end of central directory record"}
	}
	e += max(0, len(b)-endLen-maxComment)
	le := binary.LittleEndian
	count, size, off := int(le.Uint16(b[e+10:])), int(le.Uint32(b[e+12:])), int64(le.Uint32(b[e+16:]))
	if count == 0xffff || off == 0xffffffff || size == 0xffffffff || e >= 20 && string(b[e-20:e-16]) == end64Loc {
		return nil, ErrZip64
	}
	start := e - size
	if start < 0 || int64(start) < off {
		return nil, &FormatError{Reason: "the central directory does not fit before its end record"}
	}
	base := start - int(off) // bytes before the archive (self-extracting)
	var ms []member
	for p := start; len(ms) < count; {
		if p+centralLen > e || string(b[p:p+4]) != centralSig {
			return nil, &FormatError{Reason: fmt.Sprintf("no central directory entry at offset %d", p)}
		}
		nl, xl, cl := int(le.Uint16(b[p+28:])), int(le.Uint16(b[p+30:])), int(le.Uint16(b[p+32:]))
		m := member{
			name: string(b[p+centralLen : min(e, p+centralLen+nl)]), central: p,
			local: base + int(le.Uint32(b[p+42:])), size: int(le.Uint32(b[p+20:])),
			method: le.Uint16(b[p+10:]), flags: le.Uint16(b[p+8:]),
		}
		if m.size == 0xffffffff || le.Uint32(b[p+42:]) == 0xffffffff {
			return nil, ErrZip64
		}
		if m.local < 0 || m.local+localLen > len(b) || string(b[m.local:m.local+4]) != localSig {
			return nil, &FormatError{m.name, "no local file header where the central directory says"}
		}
		m.data = m.local + localLen + int(le.Uint16(b[m.local+26:])) + int(le.Uint16(b[m.local+28:]))
		if m.data+m.size > len(b) {
			return nil, &FormatError{m.name, "its data runs past the end of the archive"}
		}
		ms = append(ms, m)
		p += centralLen + nl + xl + cl
	}
	return ms, nil
}

// fix recomputes one stored member's CRC in cur.
func (m member) fix(cur, orig []byte, inner Member) (int, error) {
	if m.method != 0 || m.size == 0 {
		return 0, nil
	}
	data, was := cur[m.data:m.data+m.size], orig[m.data:m.data+m.size]
	if bytes.Equal(data, was) {
		return 0, nil
	}
	le := binary.LittleEndian
	recorded := le.Uint32(orig[m.central+16:])
	if crc32.ChecksumIEEE(was) != recorded {
		return 0, nil // wrong before the rewrite: left as it was
	}
	n := 0
	if inner != nil {
		k, err := inner(m.name, data, was)
		if err != nil {
			return k, err
		}
		n += k
	}
	c := crc32.ChecksumIEEE(data)
	if c == recorded {
		return n, nil
	}
	le.PutUint32(cur[m.central+16:], c)
	if le.Uint32(orig[m.local+14:]) == recorded {
		le.PutUint32(cur[m.local+14:], c)
	}
	if d := m.data + m.size; m.flags&8 != 0 && d+12 <= len(orig) {
		if string(orig[d:d+4]) == descSig {
			d += 4
		}
		if d+4 <= len(orig) && le.Uint32(orig[d:]) == recorded {
			le.PutUint32(cur[d:], c)
		}
	}
	return n + 1, nil
}
