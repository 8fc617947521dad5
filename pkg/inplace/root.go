package inplace

import (
	"io/fs"
	"os"
	"path"
	"strconv"
	"syscall"
)

// ReplaceIn replaces rel, inside root, by a file holding data with the
// permissions and the modification time fi gives (fi describes the old
// file), renamed over it; the access time is set to the modification time
// too. Every name is resolved through root, so neither the new file nor
// the rename can leave it, and the new file is created only where no file
// is (O_EXCL, no symlink followed). The temporary name, next to rel, is
// .NAME.tmpPID.
//
// It is the counterpart of [Replace] for a caller confined to a directory;
// package renameio cannot work through an [os.Root].
func ReplaceIn(root *os.Root, rel string, data []byte, fi fs.FileInfo) (err error) {
	tmp := path.Join(path.Dir(rel), "."+path.Base(rel)+".tmp"+strconv.Itoa(os.Getpid()))
	f, err := root.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL|syscall.O_NOFOLLOW, fi.Mode().Perm())
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			_ = root.Remove(tmp)
		}
	}()
	if _, err = f.Write(data); err == nil {
		err = f.Chmod(fi.Mode().Perm())
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = root.Chtimes(tmp, fi.ModTime(), fi.ModTime())
	}
	if err != nil {
		return err
	}
	return root.Rename(tmp, rel)
}
