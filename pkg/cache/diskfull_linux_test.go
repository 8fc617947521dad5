package cache

import (
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// tmpfs mounts a tmpfs of 1 MiB (read-only if ro) on a new directory,
// or skips the test where mounting is not permitted.
func tmpfs(t *testing.T, ro bool) string {
	dir := t.TempDir()
	if err := syscall.Mount("tmpfs", dir, "tmpfs", 0, "size=1m"); err != nil {
		t.Skipf("cannot mount a tmpfs (needs root): %v", err)
	}
	t.Cleanup(func() { syscall.Unmount(dir, syscall.MNT_DETACH) })
	if ro {
		if _, err := Open(dir); err != nil {
			t.Fatal(err)
		}
		if err := syscall.Mount("tmpfs", dir, "tmpfs", syscall.MS_REMOUNT|syscall.MS_RDONLY, "size=1m"); err != nil {
			t.Skipf("cannot remount read-only: %v", err)
		}
	}
	return dir
}

func TestDiskFull(t *testing.T) {
	for _, tc := range []struct {
		name string
		fill func(k string) func(string) error
	}{
		// fill itself runs out of space.
		{"fill", func(k string) func(string) error { return fill(k, 2<<20) }},
		// fill gets everything in, swallowing its own ENOSPC; Put's
		// use file and header then find no room.
		{"own writes", func(k string) func(string) error {
			return func(dir string) error {
				f, err := os.Create(filepath.Join(dir, "tree.tar.zst"))
				if err != nil {
					return err
				}
				defer f.Close()
				buf := make([]byte, 4096)
				for {
					if _, err := f.Write(buf); err != nil {
						return nil
					}
				}
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Open(tmpfs(t, false))
			if err != nil {
				t.Fatal(err)
			}
			k := key("big")
			err = c.Put(info(k), tc.fill(k))
			if !errors.Is(err, syscall.ENOSPC) {
				t.Fatalf("Put: %v, want an error wrapping ENOSPC", err)
			}
			if got := append(dirNames(t, c, EntriesDir), dirNames(t, c, TmpDir)...); len(got) != 0 {
				t.Errorf("a Put that ran out of space left %q", got)
			}
			// The space is back: a small entry fits.
			put(t, c, key("small"), 1000)
		})
	}
}

func TestOpenReadOnly(t *testing.T) {
	dir := tmpfs(t, true)
	_, err := Open(dir)
	var u *UnavailableError
	if !errors.As(err, &u) || u.Reason != NotWritable || !errors.Is(err, syscall.EROFS) {
		t.Fatalf("Open of a read-only cache: %v, want not writable (EROFS)", err)
	}
}
