package unpack_test

import (
	"archive/tar"
	"context"
	"crypto/sha256"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/nix-vanilla/nix-vanilla/pkg/unpack"
)

func ExampleUnpack() {
	dir, err := os.MkdirTemp("", "unpack-example")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.RemoveAll(dir)

	// The derivation's source: an uncompressed tarball in the store.
	src := filepath.Join(dir, "0c7gj7ksb4wqqk3vr8ddnqjwz3cv2dgl-hello-1.0.tar")
	when := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	members := []member{
		{"hello-1.0/README", "hello\n", 0o644},
		{"hello-1.0/configure", "#!/bin/sh\n", 0o755},
		{"hello-1.0/src/main.c", "int main(void) { return 0; }\n", 0o644},
	}
	if err := writeTar(src, when, members); err != nil {
		fmt.Println(err)
		return
	}

	// The checkpoint lists the files the build left as unpackPhase made
	// them; it changed configure, so that one comes from the checkpoint.
	var files []unpack.File
	for _, m := range members {
		if m.name == "hello-1.0/configure" {
			continue
		}
		sum := sha256.Sum256([]byte(m.body))
		files = append(files, unpack.File{
			Name:   m.name,
			Size:   int64(len(m.body)),
			Mode:   m.mode,
			Mtime:  when.UnixNano(),
			Digest: sum[:],
		})
	}

	top := filepath.Join(dir, "build")
	if err := os.Mkdir(top, 0o755); err != nil {
		fmt.Println(err)
		return
	}
	res, err := unpack.Unpack(context.Background(), unpack.Options{Top: top, Sources: []string{src}, Files: files})
	if err != nil {
		// A *unpack.NotReproducedError: run unpackPhase instead.
		fmt.Println(err)
		return
	}
	fmt.Printf("%d files, %d bytes, created %v\n", res.Files, res.Bytes, res.Created)
	err = filepath.WalkDir(top, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(top, p)
		fmt.Println(fi.Mode(), fi.ModTime().UTC().Format(time.DateTime), filepath.ToSlash(rel), res.Verified[filepath.ToSlash(rel)])
		return nil
	})
	if err != nil {
		fmt.Println(err)
	}
	// Output:
	// 2 files, 35 bytes, created [hello-1.0]
	// -rw-r--r-- 2024-05-01 12:00:00 hello-1.0/README true
	// -rw-r--r-- 2024-05-01 12:00:00 hello-1.0/src/main.c true
}

// A member is a regular file of a tarball.
type member struct {
	name, body string
	mode       fs.FileMode
}

// writeTar writes an uncompressed tarball at name.
func writeTar(name string, when time.Time, members []member) error {
	f, err := os.Create(name)
	if err != nil {
		return err
	}
	tw := tar.NewWriter(f)
	for _, m := range members {
		hdr := &tar.Header{Name: m.name, Mode: int64(m.mode), Size: int64(len(m.body)), ModTime: when}
		if err := tw.WriteHeader(hdr); err != nil {
			f.Close()
			return err
		}
		if _, err := tw.Write([]byte(m.body)); err != nil {
			f.Close()
			return err
		}
	}
	if err := tw.Close(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
