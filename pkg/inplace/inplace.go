package inplace

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/google/renameio/v2"
)

// modeBits are the bits of a file's mode that chmod sets.
const modeBits = fs.ModePerm | fs.ModeSetuid | fs.ModeSetgid | fs.ModeSticky

// File is a regular file opened by [Open] for writing in place.
type File struct {
	*os.File
	path string
	fi   fs.FileInfo
}

// Open opens the regular file at path (a symlink is followed) for
// writing in place, adding u+w first if its owner cannot write it.
// [File.Close] gives the file back the mode and modification time it had
// here. If the open fails, the mode is put back too.
func Open(path string) (*File, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, &fs.PathError{Op: "open", Path: path, Err: fmt.Errorf("a %s, not a regular file", fi.Mode().Type())}
	}
	if fi.Mode().Perm()&0o200 == 0 {
		if err := os.Chmod(path, (fi.Mode()|0o200)&modeBits); err != nil {
			return nil, err
		}
	}
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		return nil, errors.Join(err, restoreMode(path, fi))
	}
	return &File{File: f, path: path, fi: fi}, nil
}

// Close closes the file and gives it back its mode and modification time,
// returning every error that occurred.
func (f *File) Close() error {
	err := f.File.Close()
	err = errors.Join(err, restoreMode(f.path, f.fi))
	// A zero access time leaves the access time as it is.
	return errors.Join(err, os.Chtimes(f.path, time.Time{}, f.fi.ModTime()))
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
	return os.Chmod(path, fi.Mode()&modeBits)
}

// Replace replaces the file at path by one holding data, renamed over it
// (with package renameio), with the old file's permissions and
// modification time. A symlink is followed: the file it names is
// replaced. A file that does not exist is created with mode 0644 and the
// current time.
func Replace(path string, data []byte) error {
	if resolved, err := filepath.EvalSymlinks(path); err == nil {
		path = resolved
	} else if !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	mode := fs.FileMode(0o644)
	var mtime time.Time
	if fi, err := os.Stat(path); err == nil {
		mode = fi.Mode().Perm()
		mtime = fi.ModTime()
	} else if !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	t, err := renameio.NewPendingFile(path, renameio.WithStaticPermissions(mode))
	if err != nil {
		return err
	}
	defer t.Cleanup()
	if _, err := t.Write(data); err != nil {
		return err
	}
	// Closing after the time is set does not change it: Sync and Close
	// write no data.
	if !mtime.IsZero() {
		if err := os.Chtimes(t.Name(), time.Time{}, mtime); err != nil {
			return err
		}
	}
	return t.CloseAtomicallyReplace()
}
