package elfid

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
	"fmt"
	"io"
	"os"
)

// A DebugLink is the .gnu_debuglink section of a stripped ELF file: the
// base name of the file that holds its debug information and the CRC-32
// (IEEE, as zlib computes it) of that whole file, which gdb checks.
type DebugLink struct {
	Name string
	CRC  uint32
	// offset is the CRC's offset in the file, order its byte order.
	offset int64
	order  binary.ByteOrder
}

// ReadDebugLink returns the .gnu_debuglink of the ELF file at path, or nil
// if it has none (or is not an ELF file).
func ReadDebugLink(path string) (*DebugLink, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("debuglink: %w", err)
	}
	defer f.Close()
	return ReadDebugLinkFrom(f, path)
}

// ReadDebugLinkFrom is [ReadDebugLink] for a file already open; path
// names it in errors.
func ReadDebugLinkFrom(r io.ReaderAt, path string) (*DebugLink, error) {
	f, err := elf.NewFile(r)
	if err != nil {
		if _, ok := err.(*elf.FormatError); ok {
			return nil, nil
		}
		return nil, fmt.Errorf("debuglink: %w", err)
	}
	defer f.Close()
	s := f.Section(".gnu_debuglink")
	if s == nil || s.Type == elf.SHT_NOBITS || s.Flags&elf.SHF_COMPRESSED != 0 {
		return nil, nil
	}
	b, err := s.Data()
	if err != nil {
		return nil, fmt.Errorf("debuglink %s: %w", path, err)
	}
	// The name, NUL-terminated, padded to 4 bytes, then the CRC.
	end := bytes.IndexByte(b, 0)
	at := (end + 4) &^ 3
	if end <= 0 || at+4 > len(b) {
		return nil, fmt.Errorf("debuglink %s: malformed .gnu_debuglink section (%d bytes)", path, len(b))
	}
	return &DebugLink{Name: string(b[:end]), CRC: f.ByteOrder.Uint32(b[at:]), offset: int64(s.Offset) + int64(at), order: f.ByteOrder}, nil
}

// Patch returns the bytes that give the file l was read from crc as
// the CRC of its debug file, and the offset to write them at.
func (l *DebugLink) Patch(crc uint32) (off int64, b []byte) {
	b = make([]byte, 4)
	l.order.PutUint32(b, crc)
	return l.offset, b
}

// SetCRC writes crc as the CRC of the debug file into the ELF file at
// path, which l was read from, keeping its mode and modification time.
func (l *DebugLink) SetCRC(path string, crc uint32) error {
	if _, err := os.Stat(path); err != nil {
		return fmt.Errorf("debuglink: %w", err)
	}
	var b [4]byte
	l.order.PutUint32(b[:], crc)
	if err := writeAt(path, b[:], int(l.offset)); err != nil {
		return fmt.Errorf("debuglink %s: %w", path, err)
	}
	l.CRC = crc
	return nil
}
