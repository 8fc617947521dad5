package checkpoint

import (
	"io/fs"
	"os"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// ctime is a file's change time in nanoseconds.
func ctime(st *syscall.Stat_t) int64 { return st.Ctim.Sec*1e9 + st.Ctim.Nsec }

// mkfifoat creates the named pipe base in the directory dirfd with mode,
// umask or not, without opening it.
func mkfifoat(dirfd int, base string, mode fs.FileMode) error {
	if err := syscall.Mknodat(dirfd, base, syscall.S_IFIFO|uint32(mode), 0); err != nil {
		return &os.PathError{Op: "mkfifo", Path: base, Err: err}
	}
	// The umask took bits off; chmod does not open the pipe.
	if err := syscall.Fchmodat(dirfd, base, uint32(mode), 0); err != nil {
		return &os.PathError{Op: "chmod", Path: base, Err: err}
	}
	return nil
}

// linkat is linkat(2) without AT_SYMLINK_FOLLOW, which the syscall
// package does not export.
func linkat(olddirfd int, oldname string, newdirfd int, newname string) error {
	o, err := syscall.BytePtrFromString(oldname)
	if err != nil {
		return err
	}
	n, err := syscall.BytePtrFromString(newname)
	if err != nil {
		return err
	}
	_, _, e := syscall.Syscall6(syscall.SYS_LINKAT, uintptr(olddirfd), uintptr(unsafe.Pointer(o)),
		uintptr(newdirfd), uintptr(unsafe.Pointer(n)), 0, 0)
	if e != 0 {
		return e
	}
	return nil
}

// oNoAtime opens a file without updating its access time, for a file the
// process owns.
const oNoAtime = syscall.O_NOATIME

// lutimesat sets the times of the symlink base in the directory dirfd to
// mtime, not following it.
func lutimesat(dirfd int, base string, mtime time.Time) error {
	ts := unix.NsecToTimespec(mtime.UnixNano())
	if err := unix.UtimesNanoAt(dirfd, base, []unix.Timespec{ts, ts}, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return &os.PathError{Op: "utimensat", Path: base, Err: err}
	}
	return nil
}
