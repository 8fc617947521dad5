package pyc_test

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"

	"github.com/nix-vanilla/nix-vanilla/pkg/pyc"
)

func ExampleFix() {
	dir, err := os.MkdirTemp("", "pyc-example")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.RemoveAll(dir)

	// What py_compile wrote under SOURCE_DATE_EPOCH: a hash-based .pyc
	// (Python 3.12's magic number) for config.py.
	oldSource := []byte("PREFIX = '/nix/store/0c7gj7ksb4wqqk3vr8ddnqjwz3cv2dgl-app'\n")
	magic := [4]byte{0xcb, 0x0d, '\r', '\n'}
	sum := pyc.SourceHash(magic, oldSource)
	header := binary.LittleEndian.AppendUint32(magic[:], pyc.HashBased|pyc.CheckSource)
	header = append(header, sum[:]...)

	// The store hash in config.py was rewritten since.
	newSource := bytes.ReplaceAll(oldSource,
		[]byte("0c7gj7ksb4wqqk3vr8ddnqjwz3cv2dgl"), []byte("1cy5sf6qk8xyhmr48a3rk2p99dm81kd4"))
	file := filepath.Join(dir, "app", "__pycache__", "config.cpython-312.pyc")
	if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
		fmt.Println(err)
		return
	}
	if err := os.WriteFile(file, append(header, "code..."...), 0o644); err != nil {
		fmt.Println(err)
		return
	}
	if err := os.WriteFile(filepath.Join(dir, "app", "config.py"), newSource, 0o644); err != nil {
		fmt.Println(err)
		return
	}

	source := pyc.Source(file)
	rel, _ := filepath.Rel(dir, source)
	fmt.Println("source:", filepath.ToSlash(rel))

	h, err := pyc.Header(file)
	if err != nil {
		fmt.Println(err)
		return
	}
	cur, err := os.ReadFile(source)
	if err != nil {
		fmt.Println(err)
		return
	}
	changed, err := pyc.Fix(h, oldSource, cur, file, source)
	if err != nil {
		fmt.Println(err)
		return
	}
	if changed {
		f, err := os.OpenFile(file, os.O_WRONLY, 0)
		if err != nil {
			fmt.Println(err)
			return
		}
		_, err = f.WriteAt(h, 0)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			fmt.Println(err)
			return
		}
	}
	want := pyc.SourceHash(magic, cur)
	fmt.Println("changed:", changed)
	fmt.Println("hash of the new source:", bytes.Equal(h[8:], want[:]))
	// Output:
	// source: app/config.py
	// changed: true
	// hash of the new source: true
}
