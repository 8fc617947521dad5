//go:build !linux

package unpack

import (
	"io/fs"
	"os"
	"time"
)

// createFile writes a new file name in d with data, mode and
// modification time, through d's os.Root.
func createFile(d *dir, name string, data []byte, mode fs.FileMode, mtime time.Time) (created bool, err error) {
	return createFileRoot(d, name, data, mode, mtime)
}

// createFileRoot is createFile through the os.Root: a new file name in
// d, with data, mode and modification time; created says whether the
// file was created (and must be removed on failure).
func createFileRoot(d *dir, name string, data []byte, mode fs.FileMode, mtime time.Time) (created bool, err error) {
	f, err := d.root.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return false, err
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Chmod(mode)
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = d.root.Chtimes(name, time.Time{}, mtime)
	}
	return true, err
}

// inMemory reports whether dir is on a filesystem in memory: not known
// here, so no.
func inMemory(string) bool { return false }
