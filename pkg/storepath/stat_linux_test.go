package storepath

import (
	"os"
	"syscall"
	"testing"
	"time"
)

// statChange returns the inode change time of path.
func statChange(t *testing.T, path string) time.Time {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	st := fi.Sys().(*syscall.Stat_t)
	return time.Unix(st.Ctim.Sec, st.Ctim.Nsec)
}
