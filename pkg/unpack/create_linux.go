package unpack

import (
	"io/fs"
	"time"

	"golang.org/x/sys/unix"
)

// createFile writes a new file name in d with data, mode and
// modification time, with the five system calls that takes (openat,
// write, fchmod, close, utimensat), all relative to d's descriptor: an
// *os.File costs several more per file (the poller's registration, which
// fails for regular files, and descriptor flags), and a Linux source
// tree has tens of thousands of files. The name is created with O_EXCL
// and O_NOFOLLOW, and retimed without following a symlink, so nothing
// outside d is touched, as through d's os.Root.
func createFile(d *dir, name string, data []byte, mode fs.FileMode, mtime time.Time) (created bool, err error) {
	if d.f == nil {
		if d.f, err = d.root.Open("."); err != nil {
			return false, err
		}
	}
	dfd := int(d.f.Fd())
	fd, err := unix.Openat(dfd, name, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o600)
	if err != nil {
		return false, &fs.PathError{Op: "open", Path: name, Err: err}
	}
	for len(data) > 0 && err == nil {
		var n int
		n, err = unix.Write(fd, data)
		data = data[n:]
	}
	if err == nil {
		err = unix.Fchmod(fd, unixMode(mode))
	}
	if cerr := unix.Close(fd); err == nil {
		err = cerr
	}
	if err == nil {
		ts := []unix.Timespec{{Nsec: unix.UTIME_OMIT}, unix.NsecToTimespec(mtime.UnixNano())}
		err = unix.UtimesNanoAt(dfd, name, ts, unix.AT_SYMLINK_NOFOLLOW)
	}
	if err != nil {
		return true, &fs.PathError{Op: "write", Path: name, Err: err}
	}
	return true, nil
}

// unixMode is mode's permission and sticky bits as chmod takes them.
func unixMode(mode fs.FileMode) uint32 {
	m := uint32(mode.Perm())
	if mode&fs.ModeSticky != 0 {
		m |= unix.S_ISVTX
	}
	return m
}

// inMemory reports whether dir is on a tmpfs or ramfs.
func inMemory(dir string) bool {
	var st unix.Statfs_t
	if unix.Statfs(dir, &st) != nil {
		return false
	}
	return st.Type == unix.TMPFS_MAGIC || st.Type == unix.RAMFS_MAGIC
}
