package checkpoint

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// benchTree writes a build tree of pristine source files and generated
// files (objects naming the output), and returns a checkpoint of it.
func benchTree(b *testing.B, pristine, generated, size int) (base, ckpt string, snap *Snapshot) {
	b.Helper()
	base = b.TempDir()
	top := filepath.Join(base, "build1")
	ckpt = filepath.Join(base, "ckpt")
	src := tree{}
	for i := range pristine {
		src[fmt.Sprintf("src/d%02d/s%05d.c", i%50, i)] = strings.Repeat(fmt.Sprintf("int f%d(void);\n", i), size/16)
	}
	write(b, top, src, time.Unix(1, 0))
	snap, err := Take(top, nil)
	if err != nil {
		b.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(base, "source"), 0o755); err != nil {
		b.Fatal(err)
	}
	if err := copyTree(top, filepath.Join(base, "source")); err != nil {
		b.Fatal(err)
	}
	gen := tree{}
	for i := range generated {
		gen[fmt.Sprintf("src/d%02d/g%05d.o", i%50, i)] = strings.Repeat("/nix/store/"+oldHash+"-pkg-1.0 \x00\x01", size/44)
	}
	write(b, top, gen, time.Unix(2, 0))
	out := filepath.Join(base, "store", oldHash+"-pkg-1.0")
	write(b, out, tree{"share/data": "in /nix/store/" + oldHash + "-pkg-1.0\n"}, time.Unix(2, 0))
	if _, err := Save(SaveOptions{Dir: ckpt, Name: "pkg-1.0", Top: top, Tree: true, Snapshot: snap,
		Outputs: map[string]string{"out": out}}); err != nil {
		b.Fatal(err)
	}
	return base, ckpt, snap
}

// BenchmarkRestore restores a checkpoint of 2,000 generated files over
// 4,000 pristine ones (16 KiB each) into a freshly written source.
func BenchmarkRestore(b *testing.B) {
	base, ckpt, _ := benchTree(b, 4000, 2000, 16<<10)
	src := filepath.Join(base, "source")
	for i := 0; b.Loop(); i++ {
		b.StopTimer()
		top := filepath.Join(base, fmt.Sprintf("b%d", i))
		out := filepath.Join(base, "store", newHash+"-pkg-1.0")
		os.RemoveAll(out)
		os.MkdirAll(top, 0o755)
		if err := copyTree(src, top); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		if _, err := Restore(context.Background(), RestoreOptions{Dir: ckpt, Top: top, Tree: true,
			Outputs: map[string]string{"out": out}}); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		os.RemoveAll(top)
		b.StartTimer()
	}
}

// BenchmarkSave saves the same tree.
func BenchmarkSave(b *testing.B) {
	base, _, snap := benchTree(b, 4000, 2000, 16<<10)
	top := filepath.Join(base, "build1")
	out := filepath.Join(base, "store", oldHash+"-pkg-1.0")
	for i := 0; b.Loop(); i++ {
		dir := filepath.Join(base, fmt.Sprintf("c%d", i))
		if _, err := Save(SaveOptions{Dir: dir, Name: "pkg-1.0", Top: top, Tree: true, Snapshot: snap,
			Outputs: map[string]string{"out": out}}); err != nil {
			b.Fatal(err)
		}
	}
}
