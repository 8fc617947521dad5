//go:build !linux && !darwin

package checkpoint

import (
	"errors"
	"io/fs"
	"os"
	"syscall"
	"time"
)

// ctime is a file's change time in nanoseconds.
func ctime(st *syscall.Stat_t) int64 { return st.Ctimespec.Sec*1e9 + st.Ctimespec.Nsec }

// mkfifoat is not available here: the syscall package has no mknodat
// outside Linux, and creating the pipe by path would leave the restore's
// confinement.
func mkfifoat(_ int, base string, _ fs.FileMode) error {
	return &os.PathError{Op: "mkfifo", Path: base, Err: errors.ErrUnsupported}
}

// linkat reports EXDEV, so that the caller copies the file: the syscall
// package has no linkat outside Linux.
func linkat(int, string, int, string) error { return syscall.EXDEV }

// oNoAtime is 0: no O_NOATIME here.
const oNoAtime = 0

// lutimesat does nothing here: the syscall package has no utimensat
// outside Linux, and setting the times by path would follow the link.
// Symlinks keep the time of their creation.
func lutimesat(int, string, time.Time) error { return nil }
