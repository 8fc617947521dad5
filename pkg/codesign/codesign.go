package codesign

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
)

// ErrLength is returned (wrapped) by Fix when the rewritten bytes differ
// in length from the original ones.
var ErrLength = errors.New("rewritten bytes differ in length from the original")

// ErrSigned is what a *SignedError matches with errors.Is.
var ErrSigned = errors.New("signed with a certificate: the signature cannot be made again")

// FormatError reports a Mach-O file or a signature that cannot be read.
type FormatError struct {
	Offset int // in the file
	Reason string
}

func (e *FormatError) Error() string {
	return fmt.Sprintf("mach-o: at offset %d: %s", e.Offset, e.Reason)
}

// SignedError reports a slice whose bytes the rewrite changed and whose
// signature is not ad hoc: a CMS signature with content (a certificate's),
// or a CodeDirectory without the CS_ADHOC flag. Its hashes are signed
// with a key the restore does not have.
type SignedError struct {
	Arch   string
	Reason string
}

func (e *SignedError) Error() string {
	return fmt.Sprintf("mach-o %s slice: %s, signed with a certificate: its signature cannot be made again", e.Arch, e.Reason)
}

// Is makes errors.Is(err, ErrSigned) true.
func (e *SignedError) Is(target error) bool { return target == ErrSigned }

// Fix recomputes, in cur, the code signature hashes of every slice of a
// Mach-O file whose bytes changed from orig (the file before its store
// hashes were rewritten, at equal length). In every CodeDirectory of the
// slice's signature, a code page hash or a special slot hash (of the
// requirements or entitlements blob, or an embedded Info.plist) that
// matched orig and whose bytes changed gets the hash of the new bytes. It returns the number of hashes
// it changed. A hash that was wrong before the rewrite is left as it was.
//
// A changed slice signed with a certificate is refused with a
// *SignedError (before anything is written to cur); an unsigned slice
// needs nothing.
func Fix(cur, orig []byte) (int, error) {
	if len(cur) != len(orig) {
		return 0, ErrLength
	}
	if bytes.Equal(cur, orig) {
		return 0, nil
	}
	f, err := Parse(orig)
	if err != nil {
		return 0, err
	}
	var changed []Slice
	for _, s := range f.Slices {
		end := s.Offset + s.Size
		if s.Signature == nil || bytes.Equal(cur[s.Offset:end], orig[s.Offset:end]) {
			continue
		}
		if err := s.Signature.certified(s.Arch); err != nil {
			return 0, err
		}
		changed = append(changed, s)
	}
	n := 0
	for _, s := range changed {
		for _, d := range s.Signature.Directories {
			n += d.fix(cur, orig, &s)
		}
	}
	return n, nil
}

// certified returns a *SignedError if the signature is not ad hoc.
func (s *Signature) certified(arch string) error {
	if s.CMS > 0 {
		return &SignedError{arch, fmt.Sprintf("CMS signature of %d bytes", s.CMS)}
	}
	for _, d := range s.Directories {
		if !d.Adhoc() {
			return &SignedError{arch, fmt.Sprintf("%s without the ad-hoc flag (flags %#x)", directoryName(d.Slot), d.Flags)}
		}
	}
	return nil
}

// fix recomputes the directory's hashes over bytes of slice s that
// changed.
func (d *Directory) fix(cur, orig []byte, s *Slice) int {
	n := 0
	update := func(slot, start, end int) {
		if bytes.Equal(cur[start:end], orig[start:end]) {
			return
		}
		at := d.SlotOffset(slot)
		if !bytes.Equal(d.sum(orig[start:end]), orig[at:at+d.HashSize]) {
			return // stale before the rewrite: left as it was
		}
		if h := d.sum(cur[start:end]); !bytes.Equal(h, cur[at:at+d.HashSize]) {
			copy(cur[at:], h)
			n++
		}
	}
	for i := range d.CodeSlots {
		start, end := d.Page(i)
		update(i, d.slice+start, d.slice+end)
	}
	for k := 1; k <= d.SpecialSlots; k++ {
		if start, end, ok := s.special(k); ok {
			update(-k, start, end)
		}
	}
	return n
}

// Mismatch is a signature hash that does not match the bytes it covers.
type Mismatch struct {
	Arch      string
	Directory uint32 // the CodeDirectory's slot: 0, or 0x1000 + n
	HashType  uint8
	// Slot is the code slot (the page number), or -n for special slot n.
	Slot int
}

func (m Mismatch) String() string {
	what := fmt.Sprintf("page %d", m.Slot)
	if m.Slot < 0 {
		what = fmt.Sprintf("special slot %d", -m.Slot)
	}
	return fmt.Sprintf("%s %s (%s) %s", m.Arch, directoryName(m.Directory), hashName(m.HashType), what)
}

// VerifyError lists the hashes of a signature that do not match the file,
// and code limits that leave bytes before the signature unhashed.
type VerifyError struct {
	Mismatches []Mismatch
	Problems   []string
}

func (e *VerifyError) Error() string {
	var parts []string
	for i, m := range e.Mismatches {
		if i == 3 {
			parts = append(parts, fmt.Sprintf("and %d more", len(e.Mismatches)-i))
			break
		}
		parts = append(parts, m.String())
	}
	parts = append(parts, e.Problems...)
	return fmt.Sprintf("mach-o: signature does not verify (%d stale hashes): %s", len(e.Mismatches), strings.Join(parts, "; "))
}

// Verify checks every code signature of a Mach-O file the way a loader
// checks its pages: every code slot hash of every CodeDirectory against
// its page, every special slot whose blob the signature holds against
// the blob, and that the code hashes cover the slice up to the
// signature. It returns a *VerifyError listing what does not match, a
// *FormatError for a file it cannot read, or nil (an unsigned file is
// not an error; see [Parse]). It checks no certificate and no CMS
// signature.
func Verify(data []byte) error {
	f, err := Parse(data)
	if err != nil {
		return err
	}
	e := &VerifyError{}
	for _, s := range f.Slices {
		sig := s.Signature
		if sig == nil {
			continue
		}
		for _, d := range sig.Directories {
			if d.CodeLimit != sig.Offset-s.Offset {
				e.Problems = append(e.Problems, fmt.Sprintf("%s %s covers %d bytes, but the signature starts at %d",
					s.Arch, directoryName(d.Slot), d.CodeLimit, sig.Offset-s.Offset))
			}
			check := func(slot int, b []byte) {
				at := d.SlotOffset(slot)
				if !bytes.Equal(d.sum(b), data[at:at+d.HashSize]) {
					e.Mismatches = append(e.Mismatches, Mismatch{s.Arch, d.Slot, d.HashType, slot})
				}
			}
			for i := range d.CodeSlots {
				start, end := d.Page(i)
				check(i, data[s.Offset+start:s.Offset+end])
			}
			for k := 1; k <= d.SpecialSlots; k++ {
				if start, end, ok := s.special(k); ok {
					check(-k, data[start:end])
				}
			}
		}
	}
	if len(e.Mismatches) > 0 || len(e.Problems) > 0 {
		return e
	}
	return nil
}

func hashName(t uint8) string {
	switch t {
	case HashSHA1:
		return "SHA-1"
	case HashSHA256:
		return "SHA-256"
	case HashSHA256Trunc:
		return "SHA-256/20"
	case HashSHA384:
		return "SHA-384"
	case hashSHA512:
		return "SHA-512"
	}
	return fmt.Sprintf("hash type %d", t)
}

// directoryName names a CodeDirectory by its slot.
func directoryName(slot uint32) string {
	if slot == slotCodeDirectory {
		return "CodeDirectory"
	}
	return fmt.Sprintf("alternate CodeDirectory %#x", slot)
}
