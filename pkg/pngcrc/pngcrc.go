package pngcrc

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
)

// Signature is the 8 bytes every PNG file starts with.
const Signature = "\x89PNG\r\n\x1a\n"

// ErrLength is returned (wrapped) by Fix when the rewritten bytes differ
// in length from the original ones.
var ErrLength = errors.New("rewritten bytes differ in length from the original")

// FormatError reports a chunk that runs past the end of the file.
type FormatError struct {
	Offset int
	Reason string
}

func (e *FormatError) Error() string {
	return fmt.Sprintf("png: chunk at offset %d: %s", e.Offset, e.Reason)
}

// IsPNG reports whether data starts with the PNG signature.
func IsPNG(data []byte) bool { return bytes.HasPrefix(data, []byte(Signature)) }

// Fix recomputes, in cur, the CRC of every chunk whose CRC matched its
// bytes in orig (the file before its store hashes were rewritten, at
// equal length) and no longer matches them in cur. It returns the number
// of CRCs it changed. Fix stops at the IEND chunk; bytes after it are
// left alone.
func Fix(cur, orig []byte) (int, error) {
	if len(cur) != len(orig) {
		return 0, ErrLength
	}
	if !IsPNG(orig) {
		return 0, &FormatError{0, "no PNG signature"}
	}
	n := 0
	for off := len(Signature); off < len(orig); {
		if len(orig)-off < 12 {
			return n, &FormatError{off, "truncated chunk header"}
		}
		size := int(binary.BigEndian.Uint32(orig[off:]))
		end := off + 8 + size
		if size > len(orig) || end+4 > len(orig) {
			return n, &FormatError{off, fmt.Sprintf("chunk of %d bytes runs past the end of the file", size)}
		}
		recorded := binary.BigEndian.Uint32(orig[end:])
		if crc32.ChecksumIEEE(orig[off+4:end]) == recorded {
			if c := crc32.ChecksumIEEE(cur[off+4 : end]); c != recorded {
				binary.BigEndian.PutUint32(cur[end:], c)
				n++
			}
		}
		if string(orig[off+4:off+8]) == "IEND" {
			break
		}
		off = end + 4
	}
	return n, nil
}
