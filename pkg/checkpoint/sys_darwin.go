package checkpoint

import (
	"errors"
	"io/fs"
	"os"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// ctime is a file's change time in nanoseconds.
func ctime(st *syscall.Stat_t) int64 { return st.Ctimespec.Sec*1e9 + st.Ctimespec.Nsec }

// mkfifoat is not available here: neither the syscall package nor
// golang.org/x/sys/unix (v0.47.0) has mkfifoat or mknodat for darwin
// (libSystem has them from macOS 13 on, and Go reaches libSystem only
// through the trampolines those packages define), and creating the pipe
// by path would leave the restore's confinement.
func mkfifoat(_ int, base string, _ fs.FileMode) error {
	return &os.PathError{Op: "mkfifo", Path: base, Err: errors.ErrUnsupported}
}

// linkat is linkat(2) without AT_SYMLINK_FOLLOW, from golang.org/x/sys/unix
// (the syscall package has none for darwin): names relative to the two
// directories' descriptors, as on Linux.
func linkat(olddirfd int, oldname string, newdirfd int, newname string) error {
	return unix.Linkat(olddirfd, oldname, newdirfd, newname, 0)
}

// oNoAtime is 0: darwin has no O_NOATIME.
const oNoAtime = 0

// lutimesat sets the times of the symlink base in the directory dirfd to
// mtime, not following it.
func lutimesat(dirfd int, base string, mtime time.Time) error {
	ts := unix.NsecToTimespec(mtime.UnixNano())
	if err := unix.UtimesNanoAt(dirfd, base, []unix.Timespec{ts, ts}, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return &os.PathError{Op: "utimensat", Path: base, Err: err}
	}
	return nil
}
