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
