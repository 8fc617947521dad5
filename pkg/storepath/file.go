package storepath

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"sync"
	"time"
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

	var rw *os.File // opened at the first old hash
	defer func() {
		if rw == nil {
			return
		}
		err = errors.Join(err, r.finish(path, fi, rw))
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
				if rw, err = openWritable(path, fi); err != nil {
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

// openWritable opens path for writing, first adding u+w if fi lacks it.
func openWritable(path string, fi fs.FileInfo) (*os.File, error) {
	if fi.Mode().Perm()&0o200 == 0 {
		if err := os.Chmod(path, fi.Mode().Perm()|0o200|fi.Mode()&(fs.ModeSetuid|fs.ModeSetgid|fs.ModeSticky)); err != nil {
			return nil, err
		}
	}
	rw, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		// Leave the mode as it was.
		return nil, errors.Join(err, restoreMode(path, fi))
	}
	return rw, nil
}

// finish closes rw and gives path back the mode and modification time of fi.
func (r *Rewriter) finish(path string, fi fs.FileInfo, rw *os.File) error {
	err := rw.Close()
	err = errors.Join(err, restoreMode(path, fi))
	if cerr := os.Chtimes(path, time.Time{}, fi.ModTime()); cerr != nil {
		err = errors.Join(err, cerr)
	}
	return err
}

// restoreMode sets the mode of path back to that of fi if it has changed.
func restoreMode(path string, fi fs.FileInfo) error {
	now, err := os.Stat(path)
	if err != nil {
		return err
	}
	if now.Mode() == fi.Mode() {
		return nil
	}
	return os.Chmod(path, fi.Mode()&(fs.ModePerm|fs.ModeSetuid|fs.ModeSetgid|fs.ModeSticky))
}
