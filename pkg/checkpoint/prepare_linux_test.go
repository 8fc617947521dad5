package checkpoint

import (
	"context"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// TestPrepareLeavesAccessTimes checks that the pass reads without moving
// access times on, which a read would do here (relatime: an access time
// not after the modification time).
func TestPrepareLeavesAccessTimes(t *testing.T) {
	top := filepath.Join(t.TempDir(), "build")
	write(t, top, tree{"src/a.c": "a\n", "src/b/c.h": "c\n"}, time.Unix(5, 0))
	snap, err := Take(top, nil)
	if err != nil {
		t.Fatal(err)
	}
	st, err := Prepare(context.Background(), PrepareOptions{Top: top, Snapshot: snap, Dir: filepath.Join(t.TempDir(), "prepared"), Copy: true})
	if err != nil || st.Files != 2 {
		t.Fatalf("Prepare: %+v, %v; want both files", st, err)
	}
	for _, name := range []string{"src/a.c", "src/b/c.h"} {
		fi, err := os.Stat(filepath.Join(top, name))
		if err != nil {
			t.Fatal(err)
		}
		s := fi.Sys().(*syscall.Stat_t)
		if at := time.Unix(s.Atim.Sec, s.Atim.Nsec); !at.Equal(time.Unix(5, 0)) {
			t.Errorf("Prepare moved the access time of %s to %v", name, at)
		}
	}
}
