package inplace_test

import (
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/nix-vanilla/nix-vanilla/pkg/inplace"
)

func ExampleOpen() {
	dir, err := os.MkdirTemp("", "inplace")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)
	p := filepath.Join(dir, "config")
	os.WriteFile(p, []byte("prefix=/nix/store/aaaa-x\n"), 0o444) // read-only
	then := time.Date(1980, 1, 1, 0, 0, 0, 0, time.UTC)
	os.Chtimes(p, then, then)

	f, err := inplace.Open(p) // u+w for the time of the edit
	if err != nil {
		panic(err)
	}
	f.WriteAt([]byte("bbbb"), int64(len("prefix=/nix/store/")))
	if err := f.Close(); err != nil {
		panic(err)
	}

	b, _ := os.ReadFile(p)
	fi, _ := os.Stat(p)
	fmt.Printf("%s%v %v\n", b, fi.Mode(), fi.ModTime().UTC())
	// Output:
	// prefix=/nix/store/bbbb-x
	// -r--r--r-- 1980-01-01 00:00:00 +0000 UTC
}
