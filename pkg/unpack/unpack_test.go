package unpack

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// sourceTree writes a small source tree below dir/name: nested
// directories, an empty file, a large one, an executable, a read-only
// file, names with blanks, and a deep directory with no file the test
// lists.
func sourceTree(t testing.TB, dir, name string) {
	t.Helper()
	files := map[string]string{
		"README":                "hello\n",
		"empty":                 "",
		"src/main.c":            "int main(void) { return 0; }\n",
		"src/lib/a b.c":         "/* blank in the name */\n",
		"src/lib/big.dat":       strings.Repeat("0123456789abcdef", 1<<17), // 2 MiB
		"configure":             "#!/bin/sh\necho configured\n",
		"doc/readonly.txt":      "do not edit\n",
		"deep/er/still/file.in": "deep\n",
	}
	for n, c := range files {
		p := filepath.Join(dir, name, n)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(c), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	os.Chmod(filepath.Join(dir, name, "configure"), 0o755)
	os.Chmod(filepath.Join(dir, name, "doc/readonly.txt"), 0o444)
	when := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	filepath.WalkDir(filepath.Join(dir, name), func(p string, d fs.DirEntry, err error) error {
		when = when.Add(time.Second)
		return os.Chtimes(p, when, when)
	})
}

// unpacked lists the regular files below top as a checkpoint would.
func unpacked(t testing.TB, top string) []File {
	t.Helper()
	var files []File
	err := filepath.WalkDir(top, func(p string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(top, p)
		sum := sha256.Sum256(data)
		files = append(files, File{Name: filepath.ToSlash(rel), Size: fi.Size(), Mode: fi.Mode(), Mtime: fi.ModTime().UnixNano(), Digest: sum[:]})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

func run(t testing.TB, dir string, name string, args ...string) {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s %v: %v\n%s", name, args, err, out)
	}
}

func need(t *testing.T, progs ...string) {
	t.Helper()
	for _, p := range progs {
		if _, err := exec.LookPath(p); err != nil {
			t.Skipf("no %s", p)
		}
	}
}

// stdenvUnpack unpacks src into a new directory as stdenv's
// _defaultUnpack does, and makes the sources writable as unpackPhase
// does.
func stdenvUnpack(t testing.TB, srcs ...string) string {
	t.Helper()
	top := t.TempDir()
	for _, src := range srcs {
		if fi, err := os.Stat(src); err == nil && fi.IsDir() {
			run(t, top, "cp", "-pr", "--reflink=auto", "--", src, stripHash(filepath.Base(src)))
		} else {
			run(t, top, "tar", "xf", src, "--mode=+w", "--warning=no-timestamp")
		}
	}
	run(t, top, "chmod", "-R", "u+w", ".")
	return top
}

// sameFiles checks that top holds exactly want's files, with their
// content, modes and times, and no other file.
func sameFiles(t *testing.T, top string, want []File) {
	t.Helper()
	got := unpacked(t, top)
	key := func(f File) string { return f.Name }
	slices.SortFunc(got, func(a, b File) int { return strings.Compare(key(a), key(b)) })
	want = slices.Clone(want)
	slices.SortFunc(want, func(a, b File) int { return strings.Compare(key(a), key(b)) })
	if len(got) != len(want) {
		t.Fatalf("unpacked %d files, want %d", len(got), len(want))
	}
	for i := range got {
		g, w := got[i], want[i]
		if g.Name != w.Name || g.Size != w.Size || g.Mode != w.Mode || g.Mtime != w.Mtime || !bytes.Equal(g.Digest, w.Digest) {
			t.Errorf("got %s %d %v %d, want %s %d %v %d", g.Name, g.Size, g.Mode, g.Mtime, w.Name, w.Size, w.Mode, w.Mtime)
		}
	}
}

func empty(t testing.TB, dir string) {
	t.Helper()
	names, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(names) > 0 {
		t.Errorf("%s holds %v after a failed unpack", dir, names)
	}
}

func TestUnpackFormats(t *testing.T) {
	work := t.TempDir()
	sourceTree(t, work, "hello-2.12")
	for _, tc := range []struct {
		file string
		make []string
		prog string
	}{
		{"hello-2.12.tar", []string{"tar", "cf", "hello-2.12.tar", "hello-2.12"}, "tar"},
		{"hello-2.12.tar.gz", []string{"tar", "czf", "hello-2.12.tar.gz", "hello-2.12"}, "gzip"},
		{"hello-2.12.tar.bz2", []string{"tar", "cjf", "hello-2.12.tar.bz2", "hello-2.12"}, "bzip2"},
		{"hello-2.12.tar.xz", []string{"tar", "cJf", "hello-2.12.tar.xz", "hello-2.12"}, "xz"},
		{"hello-2.12.tar.zst", []string{"tar", "--zstd", "-cf", "hello-2.12.tar.zst", "hello-2.12"}, "zstd"},
		{"hello-2.12.tgz", []string{"tar", "czf", "hello-2.12.tgz", "./hello-2.12"}, "gzip"},
	} {
		t.Run(tc.file, func(t *testing.T) {
			need(t, tc.prog)
			run(t, work, tc.make[0], tc.make[1:]...)
			src := filepath.Join(work, tc.file)
			want := unpacked(t, stdenvUnpack(t, src))
			if len(want) != 8 {
				t.Fatalf("stdenv's unpacker gave %d files", len(want))
			}
			top := t.TempDir()
			res, err := Unpack(context.Background(), Options{Top: top, Sources: []string{src}, Files: want, Workers: 3})
			if err != nil {
				t.Fatal(err)
			}
			sameFiles(t, top, want)
			if res.Files != len(want) || len(res.Verified) != len(want) || !slices.Equal(res.Created, []string{"hello-2.12"}) {
				t.Errorf("result: %d files, %d verified, created %q", res.Files, len(res.Verified), res.Created)
			}
			if err := res.Remove(); err != nil {
				t.Fatal(err)
			}
			empty(t, top)
		})
	}
}

// TestUnpackSubset brings back only the files the build left alone.
func TestUnpackSubset(t *testing.T) {
	work := t.TempDir()
	sourceTree(t, work, "hello-2.12")
	run(t, work, "tar", "cJf", "hello.tar.xz", "hello-2.12")
	src := filepath.Join(work, "hello.tar.xz")
	all := unpacked(t, stdenvUnpack(t, src))
	var some []File
	for _, f := range all {
		if !strings.HasPrefix(f.Name, "hello-2.12/src/") && !strings.HasPrefix(f.Name, "hello-2.12/deep/") {
			some = append(some, f)
		}
	}
	top := t.TempDir()
	if _, err := Unpack(context.Background(), Options{Top: top, Sources: []string{src}, Files: some}); err != nil {
		t.Fatal(err)
	}
	sameFiles(t, top, some)
	if _, err := os.Lstat(filepath.Join(top, "hello-2.12/src")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("created a directory holding no listed file: %v", err)
	}
}

// TestUnpackDirectory copies a source directory named like a store path
// to its name without the hash, with a tarball beside it (srcs).
func TestUnpackDirectory(t *testing.T) {
	work := t.TempDir()
	sourceTree(t, work, "0123456789abcdfghijklmnpqrsvwxyz-source")
	sourceTree(t, work, "extra-1.0")
	run(t, work, "tar", "czf", "extra.tar.gz", "extra-1.0")
	srcs := []string{filepath.Join(work, "0123456789abcdfghijklmnpqrsvwxyz-source"), filepath.Join(work, "extra.tar.gz")}
	want := unpacked(t, stdenvUnpack(t, srcs...))
	if len(want) != 16 || !strings.HasPrefix(want[0].Name, "extra-1.0/") && !strings.HasPrefix(want[0].Name, "source/") {
		t.Fatalf("stdenv's unpacker gave %d files (%s first)", len(want), want[0].Name)
	}
	top := t.TempDir()
	res, err := Unpack(context.Background(), Options{Top: top, Sources: srcs, Files: want})
	if err != nil {
		t.Fatal(err)
	}
	sameFiles(t, top, want)
	slices.Sort(res.Created)
	if !slices.Equal(res.Created, []string{"extra-1.0", "source"}) {
		t.Errorf("created %q", res.Created)
	}
}

// TestUnpackHardLink keeps a tarball's hard link one.
func TestUnpackHardLink(t *testing.T) {
	work := t.TempDir()
	sourceTree(t, work, "p")
	if err := os.Link(filepath.Join(work, "p/README"), filepath.Join(work, "p/README.copy")); err != nil {
		t.Fatal(err)
	}
	run(t, work, "tar", "cf", "p.tar", "p")
	src := filepath.Join(work, "p.tar")
	want := unpacked(t, stdenvUnpack(t, src))
	top := t.TempDir()
	if _, err := Unpack(context.Background(), Options{Top: top, Sources: []string{src}, Files: want}); err != nil {
		t.Fatal(err)
	}
	sameFiles(t, top, want)
	// A file added twice is a hard link to itself the second time.
	run(t, work, "tar", "cf", "twice-linked.tar", "p", "p/README")
	src2 := filepath.Join(work, "twice-linked.tar")
	top2 := t.TempDir()
	if _, err := Unpack(context.Background(), Options{Top: top2, Sources: []string{src2}, Files: unpacked(t, stdenvUnpack(t, src2))}); err != nil {
		t.Fatalf("a tarball holding a file twice: %v", err)
	}
	a, _ := os.Stat(filepath.Join(top, "p/README"))
	b, _ := os.Stat(filepath.Join(top, "p/README.copy"))
	if !os.SameFile(a, b) {
		t.Error("hard link unpacked as two files")
	}
}

// TestUnpackNotReproduced: whatever Unpack cannot do exactly fails with
// a NotReproducedError naming the reason, leaving the directory empty.
func TestUnpackNotReproduced(t *testing.T) {
	work := t.TempDir()
	sourceTree(t, work, "p")
	run(t, work, "tar", "czf", "p.tar.gz", "p")
	run(t, work, "zip", "-qr", "p.zip", "p")
	run(t, work, "sh", "-c", "tar cf twice.tar p && tar rf twice.tar p/README")
	run(t, work, "sh", "-c", "printf 'LZIP\\001' > p.tar.lz && cat p.tar.gz >> p.tar.lz")
	src := filepath.Join(work, "p.tar.gz")
	want := unpacked(t, stdenvUnpack(t, src))
	// A source directory with a symlink to a directory outside it.
	linkSrc := filepath.Join(work, "0123456789abcdfghijklmnpqrsvwxyz-l")
	os.MkdirAll(linkSrc, 0o755)
	os.Symlink(filepath.Join(work, "p"), filepath.Join(linkSrc, "out"))
	readme, _ := os.ReadFile(filepath.Join(work, "p/README"))
	sum := sha256.Sum256(readme)
	throughLink := []File{{Name: "l/out/README", Size: int64(len(readme)), Mode: 0o644, Digest: sum[:]}}
	patched := slices.Clone(want)
	for i := range patched {
		if patched[i].Name == "p/src/main.c" {
			patched[i].Digest = bytes.Repeat([]byte{1}, 32)
		}
	}
	extra := append(slices.Clone(want), File{Name: "p/config.h", Size: 3, Digest: make([]byte, 32)})
	for _, tc := range []struct {
		name    string
		srcs    []string
		files   []File
		setup   func(top string)
		message string
	}{
		{name: "postUnpack patched a file", srcs: []string{src}, files: patched, message: `"p/src/main.c": content differs`},
		{name: "postUnpack made a file", srcs: []string{src}, files: extra, message: `"p/config.h": in none of the sources`},
		{name: "zip", srcs: []string{filepath.Join(work, "p.zip")}, files: want, message: "neither a directory nor a tarball"},
		{name: "lzip", srcs: []string{filepath.Join(work, "p.tar.lz")}, files: want, message: "compressed in a format"},
		{name: "member twice", srcs: []string{filepath.Join(work, "twice.tar")}, files: want, message: `"p/README": more than once`},
		{name: "missing source", srcs: []string{filepath.Join(work, "nope.tar")}, files: want, message: "no such file"},
		{name: "name exists", srcs: []string{src}, files: want, setup: func(top string) { os.MkdirAll(filepath.Join(top, "p"), 0o755) }, message: "file exists"},
		{name: "not clean", srcs: []string{src}, files: []File{{Name: "../p/README"}}, message: "not a clean relative path"},
		{name: "through a symlink", srcs: []string{linkSrc}, files: throughLink, message: `"l/out": not a directory in the source`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			top := t.TempDir()
			if tc.setup != nil {
				tc.setup(top)
			}
			_, err := Unpack(context.Background(), Options{Top: top, Sources: tc.srcs, Files: tc.files, Workers: 2})
			var nr *NotReproducedError
			if !errors.As(err, &nr) || !strings.Contains(err.Error(), tc.message) {
				t.Fatalf("Unpack: %v, want a NotReproducedError saying %q", err, tc.message)
			}
			if tc.setup == nil {
				empty(t, top)
			} else if names, _ := os.ReadDir(filepath.Join(top, "p")); len(names) != 0 {
				t.Errorf("wrote into a directory it did not create: %v", names)
			}
		})
	}
}

// TestUnpackNoXz: without an xz program an xz tarball is not unpacked.
func TestUnpackNoXz(t *testing.T) {
	work := t.TempDir()
	sourceTree(t, work, "p")
	run(t, work, "tar", "cJf", "p.tar.xz", "p")
	src := filepath.Join(work, "p.tar.xz")
	want := unpacked(t, stdenvUnpack(t, src))
	top := t.TempDir()
	noPath := func(string) (string, error) { return "", exec.ErrNotFound }
	_, err := Unpack(context.Background(), Options{Top: top, Sources: []string{src}, Files: want, LookPath: noPath})
	if err == nil || !strings.Contains(err.Error(), "no xz program") {
		t.Fatalf("Unpack: %v", err)
	}
	empty(t, top)
}

// TestUnpackMany writes many files in many directories on several
// workers and checks each directory lists its entries as tar left them
// where the filesystem keeps creation order.
func TestUnpackMany(t *testing.T) {
	work := t.TempDir()
	for d := range 40 {
		for f := range 50 {
			p := filepath.Join(work, "big", fmt.Sprintf("d%02d", d%7), fmt.Sprintf("s%02d", d), fmt.Sprintf("f%03d.c", f))
			os.MkdirAll(filepath.Dir(p), 0o755)
			if err := os.WriteFile(p, []byte(p), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	run(t, work, "tar", "--zstd", "-cf", "big.tar.zst", "big")
	src := filepath.Join(work, "big.tar.zst")
	ref := stdenvUnpack(t, src)
	want := unpacked(t, ref)
	top := t.TempDir()
	if _, err := Unpack(context.Background(), Options{Top: top, Sources: []string{src}, Files: want, Workers: 4}); err != nil {
		t.Fatal(err)
	}
	sameFiles(t, top, want)
	listing := func(dir string) []string {
		f, err := os.Open(dir)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		names, err := f.Readdirnames(-1)
		if err != nil {
			t.Fatal(err)
		}
		return names
	}
	for _, d := range []string{"big", "big/d03", "big/d03/s10"} {
		if got, want := listing(filepath.Join(top, d)), listing(filepath.Join(ref, d)); !slices.Equal(got, want) && sameOrderFS(t) {
			t.Errorf("%s lists %q, tar left %q", d, got[:3], want[:3])
		}
	}
}

// sameOrderFS reports whether TMPDIR lists entries in creation order
// (tmpfs), where the order of creation shows.
func sameOrderFS(t *testing.T) bool {
	dir := t.TempDir()
	for _, n := range []string{"b", "a", "c"} {
		os.WriteFile(filepath.Join(dir, n), nil, 0o644)
	}
	f, _ := os.Open(dir)
	defer f.Close()
	names, _ := f.Readdirnames(-1)
	return slices.Equal(names, []string{"c", "a", "b"}) || slices.Equal(names, []string{"b", "a", "c"})
}

// TestUnpackLimit unpacks a plain tarball with Limit at its size (it is
// read to its end: unpacked) and at half of it (it goes on beyond: not
// reproduced, nothing left).
func TestUnpackLimit(t *testing.T) {
	work := t.TempDir()
	sourceTree(t, work, "hello-2.12")
	run(t, work, "tar", "cf", "hello-2.12.tar", "hello-2.12")
	src := filepath.Join(work, "hello-2.12.tar")
	fi, err := os.Stat(src)
	if err != nil {
		t.Fatal(err)
	}
	want := unpacked(t, stdenvUnpack(t, src))
	top := t.TempDir()
	if _, err := Unpack(context.Background(), Options{Top: top, Sources: []string{src}, Files: want, Limit: fi.Size()}); err != nil {
		t.Fatalf("Limit at the tarball's size: %v", err)
	}
	sameFiles(t, top, want)
	top = t.TempDir()
	_, err = Unpack(context.Background(), Options{Top: top, Sources: []string{src}, Files: want, Limit: fi.Size() / 2})
	var nr *NotReproducedError
	if !errors.As(err, &nr) || !strings.Contains(err.Error(), fmt.Sprintf("more than %d bytes of tar data", fi.Size()/2)) {
		t.Fatalf("Limit at half the tarball: %v; want a NotReproducedError saying so", err)
	}
	empty(t, top)
}
