package checkpoint

import (
	"fmt"
	"io"
	"io/fs"
	"os"
	"syscall"
	"time"
)

// Every file operation of a restore goes through an *os.Root: the build
// directory's, an output's own (opened without following a symlink), or
// the store directory's for the one name of an output that is a single
// file or symlink. A root resolves symlinks only while they stay inside
// it; on top of that, the restore opens the last component of every name
// with O_NOFOLLOW and O_NONBLOCK and uses what it opened only if fstat
// says it is a regular file (or a directory, for directories), so that no
// symlink, named pipe or device is ever opened.

// openFlags are added to every open of an existing file.
const openFlags = syscall.O_NOFOLLOW | syscall.O_NONBLOCK | syscall.O_CLOEXEC

// NotRegularError reports a name that a restore expected to be a regular
// file (or a directory) and found to be something else.
type NotRegularError struct {
	Path string
	Mode fs.FileMode
}

func (e *NotRegularError) Error() string {
	return fmt.Sprintf("%s: a %v, not a regular file or directory; refusing to open it", quoteName(e.Path), e.Mode.Type())
}

// openRegular opens rel in r with flag, never following a symlink as its
// last component and never blocking on a FIFO, and fails unless it is a
// regular file.
func openRegular(r *os.Root, rel string, flag int) (*os.File, fs.FileInfo, error) {
	f, err := r.OpenFile(rel, flag|openFlags, 0)
	if err != nil {
		return nil, nil, err
	}
	fi, err := f.Stat()
	if err == nil && !fi.Mode().IsRegular() {
		err = &NotRegularError{Path: rel, Mode: fi.Mode()}
	}
	if err != nil {
		f.Close()
		return nil, nil, err
	}
	return f, fi, nil
}

// openDirNoFollow opens the directory base of parent as a root of its
// own; a symlink there, even one that stays inside parent, is refused.
func openDirNoFollow(parent *os.Root, base string) (*os.Root, error) {
	fi, err := parent.Lstat(base)
	if err != nil {
		return nil, err
	}
	if !fi.IsDir() {
		return nil, &NotRegularError{Path: base, Mode: fi.Mode()}
	}
	sub, err := parent.OpenRoot(base)
	if err != nil {
		return nil, err
	}
	if sfi, err := sub.Stat("."); err != nil || !os.SameFile(fi, sfi) {
		sub.Close()
		return nil, fmt.Errorf("%s changed while being opened", quoteName(base))
	}
	return sub, nil
}

// inode identifies a file.
type inode struct{ dev, ino uint64 }

func inodeOf(fi fs.FileInfo) inode {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return inode{uint64(st.Dev), st.Ino}
	}
	return inode{}
}

// openRestored opens a file the extraction wrote, through its root, and
// fails if the name no longer is that file (a later entry replaced it, by
// a symlink for instance).
func (x *extractor) openRestored(w writtenFile, flag int) (*os.File, error) {
	f, fi, err := openRegular(w.root, w.rel, flag)
	if err != nil {
		return nil, fmt.Errorf("restore: %s: %w", quoteName(w.path), err)
	}
	if inodeOf(fi) != w.inode {
		f.Close()
		return nil, fmt.Errorf("restore: %s was replaced after it was extracted (the archive names it twice)", quoteName(w.path))
	}
	return f, nil
}

// readRestored reads a restored file whole.
func (x *extractor) readRestored(w writtenFile) ([]byte, error) {
	f, err := x.openRestored(w, os.O_RDONLY)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	data := make([]byte, fi.Size())
	if _, err := io.ReadFull(f, data); err != nil {
		return nil, fmt.Errorf("restore: read %s: %w", quoteName(w.path), err)
	}
	return data, nil
}

// writeRestored writes b at offset off of a restored file, keeping its
// modification time (restored files keep owner write permission until
// the end of the restore; see times).
func (x *extractor) writeRestored(w writtenFile, off int64, b []byte, truncate bool) error {
	f, err := x.openRestored(w, os.O_WRONLY)
	if err != nil {
		return err
	}
	fi, err := f.Stat()
	if err == nil {
		_, err = f.WriteAt(b, off)
	}
	if err == nil && truncate {
		err = f.Truncate(off + int64(len(b)))
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = x.keepTime(w, fi.ModTime())
	}
	if err != nil {
		return fmt.Errorf("restore: write %s: %w", quoteName(w.path), err)
	}
	return nil
}

// keepTime sets a restored file's modification time back to mtime.
func (x *extractor) keepTime(w writtenFile, mtime time.Time) error {
	// The name was just checked to be the file itself (openRestored), and
	// the root keeps a symlink put there from leading out.
	return w.root.Chtimes(w.rel, mtime, mtime)
}
