package checkpoint

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestRestoreOutputsOnlyHardLinks restores only the outputs (Tree false)
// of a checkpoint where output files are hard links of a build-tree file:
// the archive holds the content under the tree's name, which this restore
// does not write, so the first output linking to it gets the content and
// the others are linked to that one.
func TestRestoreOutputsOnlyHardLinks(t *testing.T) {
	for _, tc := range []struct {
		name       string
		maxDecoded int64
	}{
		{"stream kept", maxDecoded},
		{"archive read again", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			old := maxDecoded
			maxDecoded = tc.maxDecoded
			t.Cleanup(func() { maxDecoded = old })
			testRestoreOutputsOnlyHardLinks(t)
		})
	}
}

func testRestoreOutputsOnlyHardLinks(t *testing.T) {
	base := t.TempDir()
	top, ckpt := filepath.Join(base, "build1"), filepath.Join(base, "ckpt")
	out := filepath.Join(base, "store", oldHash+"-pkg-1.0")
	write(t, top, tree{"src/README": "source\n"}, time.Unix(1, 0))
	if err := os.MkdirAll(filepath.Join(out, "bin"), 0o755); err != nil {
		t.Fatal(err)
	}
	snap, err := Take(top, nil)
	if err != nil {
		t.Fatal(err)
	}
	content := "built in /nix/store/" + oldHash + "-pkg-1.0\n"
	write(t, top, tree{"src/prog": content}, time.Unix(3, 0))
	for _, name := range []string{"bin/prog", "bin/prog2"} {
		if err := os.Link(filepath.Join(top, "src/prog"), filepath.Join(out, name)); err != nil {
			t.Fatal(err)
		}
	}
	write(t, out, tree{"share/doc": "doc\n"}, time.Unix(2, 0))
	if _, err := Save(SaveOptions{Dir: ckpt, Name: "pkg-1.0", Top: top, Tree: true, Snapshot: snap, Outputs: map[string]string{"out": out}}); err != nil {
		t.Fatal(err)
	}
	top2, out2 := filepath.Join(base, "build2"), filepath.Join(base, "store", newHash+"-pkg-1.0")
	if err := os.MkdirAll(top2, 0o755); err != nil {
		t.Fatal(err)
	}
	if _, err := Restore(context.Background(), RestoreOptions{Dir: ckpt, Top: top2, Tree: false, Outputs: map[string]string{"out": out2}}); err != nil {
		t.Fatal(err)
	}
	want := "built in /nix/store/" + newHash + "-pkg-1.0\n"
	var inodes []uint64
	for _, name := range []string{"bin/prog", "bin/prog2"} {
		p := filepath.Join(out2, name)
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		if string(b) != want {
			t.Errorf("%s = %q, want %q", name, b, want)
		}
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		inodes = append(inodes, inodeOf(fi).ino)
		if !fi.ModTime().Equal(time.Unix(3, 0)) {
			t.Errorf("%s: mtime %v, want %v", name, fi.ModTime(), time.Unix(3, 0))
		}
	}
	if inodes[0] != inodes[1] {
		t.Errorf("bin/prog and bin/prog2 are no longer one file")
	}
	if _, err := os.Lstat(filepath.Join(top2, "src")); !os.IsNotExist(err) {
		t.Errorf("the outputs-only restore wrote the build tree: %v", err)
	}
}
