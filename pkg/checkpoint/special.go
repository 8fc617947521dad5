package checkpoint

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"syscall"
	"time"
)

// mkfifo creates the named pipe base in dir with mode and modification
// time mtime. The pipe is never opened.
func mkfifo(dir *os.Root, base string, mode fs.FileMode, mtime time.Time) error {
	d, err := dir.Open(".")
	if err != nil {
		return err
	}
	defer d.Close()
	if err := mkfifoat(int(d.Fd()), base, mode.Perm()); err != nil {
		return err
	}
	return dir.Chtimes(base, mtime, mtime)
}

// symlinkTimes sets the access and modification times of the symlink
// base in dir to mtime, not following it (utimensat with
// AT_SYMLINK_NOFOLLOW, relative to the directory's descriptor).
func symlinkTimes(dir *os.Root, base string, mtime time.Time) error {
	d, err := dir.Open(".")
	if err != nil {
		return err
	}
	defer d.Close()
	return lutimesat(int(d.Fd()), base, mtime)
}

// linkAcross makes to (in root toRoot) a hard link to from (in fromRoot):
// a build-tree file and an output file the build linked to each other.
// Each side is reached through its own root, and the link is made between
// the two parent directories' descriptors, so that neither name is
// resolved as a path. Across filesystems (a tree on tmpfs, outputs on
// disk) the file is copied, as a plain build there could not have linked
// it either.
func (x *extractor) linkAcross(fromRoot *os.Root, from string, toRoot *os.Root, to string) error {
	src, err := fromRoot.Open(path.Dir(from))
	if err != nil {
		return fmt.Errorf("restore %s: %w", to, err)
	}
	defer src.Close()
	dst, err := toRoot.Open(path.Dir(to))
	if err != nil {
		return fmt.Errorf("restore %s: %w", to, err)
	}
	defer dst.Close()
	err = linkat(int(src.Fd()), path.Base(from), int(dst.Fd()), path.Base(to))
	if errors.Is(err, syscall.EXDEV) {
		dir, base, err := x.dir(toRoot, to)
		if err != nil {
			return fmt.Errorf("restore %s: %w", to, err)
		}
		x.warn(fmt.Sprintf("%s: a hard link to %s in another filesystem; copied", to, from))
		return x.copyFile(fromRoot, from, dir, base)
	}
	if err != nil {
		return fmt.Errorf("restore %s: hard link to %s: %w", to, from, err)
	}
	return nil
}

// writeSparse writes the data extents of a sparse entry at their offsets
// and leaves the holes unwritten, rewriting store hashes in each extent.
// It returns the number of hashes replaced and fills in magic.
func (x *extractor) writeSparse(f *os.File, tr io.Reader, size int64, extents []extent, magic *[4]byte) (int, error) {
	rewritten := 0
	for i, e := range extents {
		if _, err := f.Seek(e.off, io.SeekStart); err != nil {
			return 0, err
		}
		w := x.rw.Writer(f)
		data := io.LimitReader(tr, e.len)
		if i == 0 && e.off == 0 {
			n, _ := io.ReadFull(data, magic[:])
			data = io.MultiReader(bytes.NewReader(magic[:n]), data)
		}
		if n, err := io.Copy(w, data); err != nil {
			return 0, err
		} else if n != e.len {
			return 0, io.ErrUnexpectedEOF
		}
		if err := w.Close(); err != nil {
			return 0, err
		}
		rewritten += w.Count()
	}
	if err := f.Truncate(size); err != nil {
		return 0, err
	}
	return rewritten, nil
}
