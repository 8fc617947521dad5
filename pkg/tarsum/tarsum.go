package tarsum

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

const (
	block   = 512
	sumOff  = 148
	sumLen  = 8
	sizeOff = 124
	typeOff = 156
)

// ErrLength is returned (wrapped) by Fix when the rewritten bytes differ
// in length from the original ones.
var ErrLength = errors.New("rewritten bytes differ in length from the original")

// FormatError reports a header Fix cannot read.
type FormatError struct {
	Offset int
	Reason string
}

func (e *FormatError) Error() string {
	return fmt.Sprintf("tar: header at offset %d: %s", e.Offset, e.Reason)
}

// IsTar reports whether data starts with a ustar, POSIX or GNU tar header
// whose checksum is right.
func IsTar(data []byte) bool {
	return len(data) >= block && bytes.HasPrefix(data[257:], []byte("ustar")) && valid(data[:block])
}

// Member fixes the data of a regular member in place (cur, with orig its
// bytes before the rewrite) and returns how many checksums it changed.
type Member func(name string, cur, orig []byte) (int, error)

// Fix recomputes, in cur, the checksum of every header whose checksum was
// right in orig (the archive before the rewrite, at equal length) and is
// no longer right in cur. If inner is not nil, it is called on the data of
// every regular member that changed. It returns the number of checksums
// changed, inner's included.
func Fix(cur, orig []byte, inner Member) (int, error) {
	if len(cur) != len(orig) {
		return 0, ErrLength
	}
	n := 0
	for off := 0; off+block <= len(orig); {
		h := orig[off : off+block]
		if isZero(h) || !valid(h) {
			break // the end, or not a header the archive's writer made
		}
		size, err := dataSize(h)
		if err != nil {
			return n, &FormatError{off, err.Error()}
		}
		if !valid(cur[off : off+block]) {
			if err := setSum(cur[off:off+block], h); err != nil {
				return n, &FormatError{off, err.Error()}
			}
			n++
		}
		start := off + block
		if h[typeOff] == 'S' { // GNU sparse: extension blocks follow
			for ext := h[482] != 0; ext && start+block <= len(orig); start += block {
				ext = orig[start+504] != 0
			}
		}
		end := start + int(size)
		if end > len(orig) {
			return n, &FormatError{off, fmt.Sprintf("member data of %d bytes runs past the end of the archive", size)}
		}
		if inner != nil && regular(h[typeOff]) && !bytes.Equal(cur[start:end], orig[start:end]) {
			k, err := inner(name(h), cur[start:end], orig[start:end])
			n += k
			if err != nil {
				return n, err
			}
		}
		off = start + (int(size)+block-1)/block*block
	}
	return n, nil
}

func regular(t byte) bool { return t == 0 || t == '0' || t == '7' }

func name(h []byte) string {
	n, _, _ := bytes.Cut(h[:100], []byte{0})
	if p, _, _ := bytes.Cut(h[345:500], []byte{0}); len(p) > 0 && bytes.HasPrefix(h[257:], []byte("ustar\x00")) {
		return string(p) + "/" + string(n)
	}
	return string(n)
}

// sum is the header's checksum, its checksum field taken as spaces.
func sum(h []byte) int64 {
	var s int64
	for i, b := range h {
		if i >= sumOff && i < sumOff+sumLen {
			b = ' '
		}
		s += int64(b)
	}
	return s
}

func valid(h []byte) bool {
	v, ok := parseOctal(h[sumOff : sumOff+sumLen])
	return ok && v == sum(h)
}

// setSum writes h's checksum into its field, in the digits of the field
// as it was in orig (leading zeros, then the terminator orig had).
func setSum(h, orig []byte) error {
	f := orig[sumOff : sumOff+sumLen]
	i := bytes.IndexFunc(f, func(r rune) bool { return '0' <= r && r <= '7' })
	j := i
	for j >= 0 && j < len(f) && '0' <= f[j] && f[j] <= '7' {
		j++
	}
	if i < 0 {
		return errors.New("checksum field holds no digits")
	}
	s := strconv.FormatInt(sum(h), 8)
	if len(s) > j-i {
		return fmt.Errorf("checksum %s does not fit the field's %d digits", s, j-i)
	}
	copy(h[sumOff:], f)
	copy(h[sumOff+i:sumOff+j], strings.Repeat("0", j-i-len(s))+s)
	return nil
}

// parseOctal reads an octal number surrounded by spaces and NULs.
func parseOctal(f []byte) (int64, bool) {
	t := bytes.Trim(f, " \x00")
	if len(t) == 0 {
		return 0, false
	}
	v, err := strconv.ParseInt(string(t), 8, 64)
	return v, err == nil
}

// dataSize is the length of the data after header h.
func dataSize(h []byte) (int64, error) {
	switch h[typeOff] {
	case '1', '2', '3', '4', '5', '6':
		return 0, nil // header only
	}
	f := h[sizeOff : sizeOff+12]
	if f[0]&0x80 != 0 { // base-256
		var v int64
		for i, b := range f {
			if i == 0 {
				b &= 0x7f
			}
			if v > 1<<54 {
				return 0, errors.New("member size out of range")
			}
			v = v<<8 | int64(b)
		}
		return v, nil
	}
	if t := bytes.Trim(f, " \x00"); len(t) == 0 {
		return 0, nil
	}
	v, ok := parseOctal(f)
	if !ok {
		return 0, fmt.Errorf("size field %q is not a number", f)
	}
	return v, nil
}

func isZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}
