package checkpoint_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/nix-vanilla/nix-vanilla/pkg/checkpoint"
)

// A build generates a file naming its output; the checkpoint brings it
// back for a build whose output has another store hash.
func Example() {
	dir, _ := os.MkdirTemp("", "checkpoint-example")
	defer os.RemoveAll(dir)
	top1, top2 := filepath.Join(dir, "build1"), filepath.Join(dir, "build2")
	old := filepath.Join(dir, "store", "0123456789abcdfghijklmnpqrsvwxyz-pkg-1.0")
	cur := filepath.Join(dir, "store", "zyxwvsrqpnmlkjihgfdcba9876543210-pkg-1.0")
	os.MkdirAll(top1, 0o755)
	os.MkdirAll(top2, 0o755)
	os.WriteFile(filepath.Join(top1, "config.mk"), []byte("prefix = "+old+"\n"), 0o644)

	_, err := checkpoint.Save(checkpoint.SaveOptions{
		Dir: filepath.Join(dir, "ckpt"), Name: "pkg-1.0", Top: top1, Tree: true,
		Outputs: map[string]string{"out": old},
	})
	if err != nil {
		panic(err)
	}
	res, err := checkpoint.Restore(context.Background(), checkpoint.RestoreOptions{
		Dir: filepath.Join(dir, "ckpt"), Top: top2, Tree: true,
		Outputs: map[string]string{"out": cur},
	})
	if err != nil {
		panic(err)
	}
	data, _ := os.ReadFile(filepath.Join(top2, "config.mk"))
	fmt.Println(res.Files, "file,", res.Rewritten, "rewritten")
	fmt.Println(string(data) == "prefix = "+cur+"\n")
	// Output:
	// 1 file, 1 rewritten
	// true
}

// While the build runs, Prepare reads the files it may leave alone and
// compresses the source copy's frames; the save takes what still holds.
func ExamplePrepare() {
	dir, _ := os.MkdirTemp("", "checkpoint-example")
	defer os.RemoveAll(dir)
	top := filepath.Join(dir, "build")
	os.MkdirAll(filepath.Join(top, "src"), 0o755)
	os.WriteFile(filepath.Join(top, "src", "main.c"), []byte("int main(void) { return 0; }\n"), 0o644)
	os.WriteFile(filepath.Join(top, "src", "README"), []byte("hello\n"), 0o644)
	snap, _ := checkpoint.Take(top, nil)

	prepared := filepath.Join(dir, "prepared")
	st, err := checkpoint.Prepare(context.Background(), checkpoint.PrepareOptions{
		Top: top, Snapshot: snap, Dir: prepared, Copy: true,
	})
	if err != nil {
		panic(err)
	}
	// The build changes a file the pass has read: the save reads it again.
	os.WriteFile(filepath.Join(top, "src", "main.c"), []byte("int main(void) { return 1; }\n"), 0o644)
	m, err := checkpoint.Save(checkpoint.SaveOptions{
		Dir: filepath.Join(dir, "ckpt"), Name: "pkg-1.0", Top: top, Tree: true, Snapshot: snap,
		SourceCopy: func(int, int64) bool { return true }, Prepared: prepared,
	})
	if err != nil {
		panic(err)
	}
	fmt.Println("prepared", st.Files, "files;", m.Stats.Pristine, "left to the source")
	fmt.Println(m.Stats.PreparedGroups, "of", m.Stats.CopyGroups, "groups of the copy taken from it")
	// Output:
	// prepared 2 files; 1 left to the source
	// 0 of 1 groups of the copy taken from it
}
