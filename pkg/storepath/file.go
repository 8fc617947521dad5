package storepath

import (
	"errors"
	"fmt"
	"io"
	"os"
	"sync"

	"github.com/nix-vanilla/nix-vanilla/pkg/inplace"
)

// fileChunk is how much of a file File reads at a time.
const fileChunk = 256 << 10

var fileBufs = sync.Pool{New: func() any {
	b := make([]byte, fileChunk)
	return &b
}}

// errNotRegular is returned by File for anything but a regular file.
var errNotRegular = errors.New("not a regular file")

// File rewrites the regular file at path in place and returns the number
// of replacements. It does not follow a symlink at path (that is an
// error, as is any other file that is not regular).
//
// The file is read through a fixed buffer, so its size does not matter. It
// is opened for writing only once an old hash has been found, and then
// only the rewritten spans are written back, at the same offsets (a
// rewrite never changes lengths). A file that needs no change is not
// touched at all. A file that is changed keeps its mode (including
// set-user-ID and set-group-ID bits, which the kernel clears on a write)
// and its modification time; if it is not writable by its owner, u+w is
// added for the time of the rewrite.
//
// If an error occurs after part of the file has been rewritten, the file
// is left partly rewritten; the caller should treat it as lost.
func (r *Rewriter) File(path string) (n int, err error) {
	defer func() {
		if err != nil {
			err = fmt.Errorf("rewrite %s: %w", path, err)
		}
	}()
	fi, err := os.Lstat(path)
	if err != nil {
		return 0, err
	}
	if !fi.Mode().IsRegular() {
		return 0, fmt.Errorf("%w (%s)", errNotRegular, fi.Mode().Type())
	}
	if r.shift == nil || fi.Size() < HashLen {
		return 0, nil
	}
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()

	bufp := fileBufs.Get().(*[]byte)
	defer fileBufs.Put(bufp)
	buf := *bufp

	var rw *inplace.File // opened at the first old hash
	defer func() {
		if rw == nil {
			return
		}
		err = errors.Join(err, rw.Close())
	}()

	var off int64
	for {
		c, rerr := f.ReadAt(buf, off)
		if rerr != nil && rerr != io.EOF {
			return n, rerr
		}
		b := buf[:c]
		last := rerr == io.EOF || c < len(buf)
		m, first, end, keep := r.rewritePart(b, last)
		if m > 0 {
			if rw == nil {
				if rw, err = inplace.Open(path); err != nil {
					return n, err
				}
			}
			n += m
			if _, err := rw.WriteAt(b[first:end], off+int64(first)); err != nil {
				return n, err
			}
		}
		if rerr == io.EOF || c < len(buf) {
			return n, nil
		}
		// The last HashLen-1 bytes may start a hash that goes on in the
		// next chunk; bytes up to end are decided.
		off += int64(min(max(c-(HashLen-1), end), keep))
	}
}
