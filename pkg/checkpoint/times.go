package checkpoint

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strconv"
	"strings"
)

// umask returns the process's umask as Linux reports it in
// /proc/self/status, or 0o777 (so that every mode is set explicitly) if it
// cannot be read. Reading it with umask(2) would mean setting it, which
// races with other goroutines creating files.
func umask() fs.FileMode {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0o777
	}
	for line := range strings.Lines(string(data)) {
		if v, ok := strings.CutPrefix(line, "Umask:"); ok {
			if m, err := strconv.ParseUint(strings.TrimSpace(v), 8, 32); err == nil {
				return fs.FileMode(m)
			}
		}
	}
	return 0o777
}

// times restores the modes of files created with other ones, then the
// modes and modification times of directories, from the deepest up, since
// creating entries changes a directory's time. Each is applied only to
// the file or directory it was recorded for: a later entry of the same
// name (a file where a directory was, a symlink) keeps its own.
func (x *extractor) times() error {
	for _, e := range x.modes {
		if err := x.setMode(e, false); err != nil {
			return err
		}
	}
	for i := len(x.dirs) - 1; i >= 0; i-- {
		if err := x.setMode(x.dirs[i], true); err != nil {
			return err
		}
	}
	return nil
}

// setMode gives the entry e its mode, and its time too for a directory,
// if its name still is what was restored.
func (x *extractor) setMode(e timedEntry, isDir bool) error {
	dir, base, err := x.dir(e.root, e.rel)
	if err != nil {
		var nr *NotRegularError
		if errors.Is(err, fs.ErrNotExist) || errors.As(err, &nr) {
			return nil // removed or replaced by a later entry
		}
		return fmt.Errorf("restore %s: %w", quoteName(e.rel), err)
	}
	fi, err := dir.Lstat(base)
	if err != nil || inodeOf(fi) != e.inode || fi.IsDir() != isDir {
		return nil // replaced by a later entry, which has its own
	}
	if err := dir.Chmod(base, e.mode.Perm()|e.mode&fs.ModeSticky); err != nil {
		return fmt.Errorf("restore %s: %w", quoteName(e.rel), err)
	}
	if isDir {
		if err := dir.Chtimes(base, e.mtime, e.mtime); err != nil {
			return fmt.Errorf("restore %s: %w", quoteName(e.rel), err)
		}
	}
	return nil
}
