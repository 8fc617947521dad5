package unpack

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// FuzzUnpack gives Unpack lists of files as a hostile checkpoint might
// (names, sizes, digests, modes of its choosing) for a real tarball and
// source directory: it must not panic, must not write outside Top, and
// must either succeed with exactly the listed files or leave Top empty.
func FuzzUnpack(f *testing.F) {
	work := f.TempDir()
	sourceTree(f, work, "p")
	sourceTree(f, work, "0123456789abcdfghijklmnpqrsvwxyz-d")
	run(f, work, "tar", "czf", "p.tar.gz", "p")
	srcs := []string{filepath.Join(work, "p.tar.gz"), filepath.Join(work, "0123456789abcdfghijklmnpqrsvwxyz-d")}
	good := unpacked(f, stdenvUnpack(f, srcs...))
	seed, _ := json.Marshal(good)
	f.Add(seed)
	f.Add([]byte(`[{"Name":"p/README","Size":6}]`))
	f.Add([]byte(`[{"Name":"d/big","Size":1099511627776}]`))
	f.Add([]byte(`[{"Name":"p/../../escape","Size":1}]`))
	f.Add([]byte(`[{"Name":"p","Size":0},{"Name":"p/README","Size":6}]`))
	f.Fuzz(func(t *testing.T, data []byte) {
		var files []File
		if json.Unmarshal(data, &files) != nil || len(files) > 64 {
			return
		}
		base := t.TempDir()
		top := filepath.Join(base, "top")
		if err := os.Mkdir(top, 0o755); err != nil {
			t.Fatal(err)
		}
		var res *Result
		var err error
		done := make(chan struct{})
		go func() {
			defer close(done)
			res, err = Unpack(context.Background(), Options{Top: top, Sources: srcs, Files: files, Workers: 2})
		}()
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			t.Fatalf("Unpack of %d files still running after 20 s", len(files))
		}
		if names, _ := os.ReadDir(base); len(names) != 1 {
			t.Fatalf("wrote beside the build directory: %v", names)
		}
		if err != nil {
			var nr *NotReproducedError
			if !errors.As(err, &nr) {
				t.Fatalf("error of type %T: %v", err, err)
			}
			empty(t, top)
			return
		}
		if res.Files != len(files) {
			t.Fatalf("wrote %d files, listed %d", res.Files, len(files))
		}
	})
}
