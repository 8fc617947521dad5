package checkpoint

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/klauspost/compress/zstd"

	"github.com/nix-vanilla/nix-vanilla/pkg/unpack"
)

// copySource writes a source tarball with what a source copy must carry
// (a hard-linked pair, a read-only and an executable file, an empty file,
// a name longer than a tar header holds, a name that is not UTF-8) and
// unpacks it into top as stdenv does.
func copySource(t *testing.T, base, top string) string {
	t.Helper()
	staging := filepath.Join(base, "staging")
	write(t, staging, source, time.Unix(1, 0))
	long := "src/" + strings.Repeat("long-directory-name/", 6) + "file.c"
	write(t, staging, tree{
		"src/lib/one.c":    "/* one */\n",
		"src/lib/empty":    "",
		"src/lib/run.sh":   "#!/bin/sh\necho run\n",
		"src/lib/ro.txt":   "read only\n",
		long:               "/* long */\n",
		"src/lib/\xff\xfe": "not UTF-8\n",
		"src/lib/linked":   "two names, one file\n",
	}, time.Unix(3, 0))
	for name, mode := range map[string]os.FileMode{"src/lib/run.sh": 0o755, "src/lib/ro.txt": 0o444} {
		if err := os.Chmod(filepath.Join(staging, name), mode); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Link(filepath.Join(staging, "src/lib/linked"), filepath.Join(staging, "src/lib/linked-too")); err != nil {
		t.Fatal(err)
	}
	tarball := filepath.Join(base, "src.tar.xz")
	if out, err := exec.Command("tar", "cJf", tarball, "-C", staging, "src").CombinedOutput(); err != nil {
		t.Fatalf("tar: %v\n%s", err, out)
	}
	stdenvUnpack(t, tarball, top)
	return tarball
}

// savedWithCopy saves a checkpoint with a source copy of the build of
// copySource's tarball; it returns the tree and output a restore over
// stdenv's unpack gives, to compare with.
func savedWithCopy(t *testing.T) (base, ckpt, tarball string, wantTree, wantOut map[string]entry, ref string) {
	t.Helper()
	base = t.TempDir()
	top, ckpt := filepath.Join(base, "build1"), filepath.Join(base, "ckpt")
	out := filepath.Join(base, "store", oldHash+"-pkg-1.0")
	tarball = copySource(t, base, top)
	snap, err := Take(top, nil)
	if err != nil {
		t.Fatal(err)
	}
	build(t, top, out)
	var asked [2]int64
	m, err := Save(SaveOptions{Dir: ckpt, Name: "pkg-1.0", Top: top, Tree: true, Snapshot: snap, Outputs: map[string]string{"out": out},
		SourceCopy: func(files int, bytes int64) bool { asked = [2]int64{int64(files), bytes}; return true }})
	if err != nil {
		t.Fatal(err)
	}
	if asked != [2]int64{int64(m.Stats.Pristine), m.Stats.PristineBytes} || m.Stats.Pristine != 9 {
		t.Fatalf("SourceCopy asked with %v; the checkpoint has %d pristine files of %d bytes, want 9", asked, m.Stats.Pristine, m.Stats.PristineBytes)
	}
	if fi, err := os.Stat(filepath.Join(ckpt, SourceCopyFile)); err != nil || fi.Size() != m.Stats.SourceCopy {
		t.Fatalf("source copy: %v, %v; the manifest says %d bytes", fi, err, m.Stats.SourceCopy)
	}
	ref = filepath.Join(base, "build0") // the length of build1: binaries name it
	refOut := filepath.Join(base, "store", newHash+"-pkg-1.0")
	stdenvUnpack(t, tarball, ref)
	if _, err := Restore(context.Background(), RestoreOptions{Dir: ckpt, Top: ref, Tree: true, Outputs: map[string]string{"out": refOut}}); err != nil {
		t.Fatal(err)
	}
	wantTree, wantOut = list(t, ref), list(t, refOut)
	if err := os.RemoveAll(refOut); err != nil {
		t.Fatal(err)
	}
	return base, ckpt, tarball, wantTree, wantOut, ref
}

// TestRestoreFromSourceCopy restores into an empty build directory from
// the checkpoint's source copy alone: the tree and the output are those
// of a restore over stdenv's unpack, hard links included.
func TestRestoreFromSourceCopy(t *testing.T) {
	base, ckpt, _, wantTree, wantOut, ref := savedWithCopy(t)
	top := filepath.Join(base, "build2")
	out := filepath.Join(base, "store", newHash+"-pkg-1.0")
	if err := os.Mkdir(top, 0o755); err != nil {
		t.Fatal(err)
	}
	res, err := Restore(context.Background(), RestoreOptions{Dir: ckpt, Top: top, Tree: true, Outputs: map[string]string{"out": out}, SourceCopy: true})
	if err != nil {
		t.Fatal(err)
	}
	if !res.FromSourceCopy || res.Unpacked == nil || res.Unpacked.Files != 9 {
		t.Fatalf("FromSourceCopy %v, unpacked %+v: want the 9 pristine files from the copy", res.FromSourceCopy, res.Unpacked)
	}
	checkTreeFiles(t, top, res)
	for k, e := range wantTree {
		e.content = strings.ReplaceAll(e.content, ref, top)
		wantTree[k] = e
	}
	compare(t, "tree", list(t, top), wantTree)
	compare(t, "output", list(t, out), wantOut)
	a, errA := os.Stat(filepath.Join(top, "src/lib/linked"))
	b, errB := os.Stat(filepath.Join(top, "src/lib/linked-too"))
	if errA != nil || errB != nil || !os.SameFile(a, b) || a.Sys().(*syscall.Stat_t).Nlink != 2 {
		t.Errorf("src/lib/linked and linked-too are not one file with two links: %v %v", errA, errB)
	}
}

// rewriteCopy replaces ckpt's source copy by what edit makes of its tar
// stream's entries.
func rewriteCopy(t *testing.T, ckpt string, edit func(tw *tar.Writer, hdr *tar.Header, data []byte)) {
	t.Helper()
	f, err := os.Open(filepath.Join(ckpt, SourceCopyFile))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := zstd.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	var buf bytes.Buffer
	zw, _ := zstd.NewWriter(&buf)
	tr, tw := tar.NewReader(zr), tar.NewWriter(zw)
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		data, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		edit(tw, hdr, data)
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	zw.Close()
	if err := os.WriteFile(filepath.Join(ckpt, SourceCopyFile), buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestSourceCopyUntrusted restores from copies the save did not write:
// other bytes in a file, an entry larger than the files listed, no copy
// at all. Each fails with a NotReproducedError leaving the build
// directory empty and no output, and a checkpoint without a copy is
// restored from the sources when they are given.
func TestSourceCopyUntrusted(t *testing.T) {
	base, ckpt, tarball, _, _, _ := savedWithCopy(t)
	out := filepath.Join(base, "store", newHash+"-pkg-1.0")
	m, err := ReadManifest(ckpt)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		damage  func(dir string)
		sources []string
		want    string // in the error; "" for success
	}{
		{"other bytes", func(dir string) {
			rewriteCopy(t, dir, func(tw *tar.Writer, hdr *tar.Header, data []byte) {
				if hdr.Name == "src/lib/one.c" {
					data = bytes.ToUpper(data)
				}
				tw.WriteHeader(hdr)
				tw.Write(data)
			})
		}, nil, "content differs"},
		{"larger than listed", func(dir string) {
			rewriteCopy(t, dir, func(tw *tar.Writer, hdr *tar.Header, data []byte) {
				if hdr.Name == "src/lib/one.c" {
					big := &tar.Header{Name: "src/lib/padding", Typeflag: tar.TypeReg, Mode: 0o644, Size: SourceCopyLimit(m) + 1}
					tw.WriteHeader(big)
					zeros := make([]byte, 1<<20)
					for n := int64(0); n < big.Size; n += int64(len(zeros)) {
						tw.Write(zeros[:min(int64(len(zeros)), big.Size-n)])
					}
				}
				tw.WriteHeader(hdr)
				tw.Write(data)
			})
		}, nil, "more than"},
		{"no copy", func(dir string) { os.Remove(filepath.Join(dir, SourceCopyFile)); noCopy(t, dir) }, nil, "no source copy"},
		{"no copy, sources", func(dir string) { os.Remove(filepath.Join(dir, SourceCopyFile)); noCopy(t, dir) }, []string{tarball}, ""},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := filepath.Join(base, "damaged", tt.name)
			if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
				t.Fatal(err)
			}
			if msg, err := exec.Command("cp", "-r", ckpt, dir).CombinedOutput(); err != nil {
				t.Fatalf("%v: %s", err, msg)
			}
			tt.damage(dir)
			top := filepath.Join(base, "top", string(rune('a'+i)))
			if err := os.MkdirAll(top, 0o755); err != nil {
				t.Fatal(err)
			}
			os.RemoveAll(out)
			start := time.Now()
			res, err := Restore(context.Background(), RestoreOptions{Dir: dir, Top: top, Tree: true, Outputs: map[string]string{"out": out},
				SourceCopy: true, Sources: tt.sources})
			if tt.want == "" {
				if err != nil || res.FromSourceCopy || res.Unpacked == nil {
					t.Fatalf("Restore: %v (from the copy: %v); want a restore from the sources", err, res != nil && res.FromSourceCopy)
				}
				return
			}
			notReproduced(t, err, tt.want, top, out)
			t.Logf("failed after %v", time.Since(start))
		})
	}
}

// notReproduced fails t unless err is a NotReproducedError saying want,
// with nothing written to top or out.
func notReproduced(t *testing.T, err error, want, top, out string) {
	t.Helper()
	var nr *unpack.NotReproducedError
	if !errors.As(err, &nr) || !strings.Contains(err.Error(), want) {
		t.Fatalf("Restore: %v; want a NotReproducedError saying %q", err, want)
	}
	if names, _ := os.ReadDir(top); len(names) != 0 {
		t.Errorf("the build directory holds %v after a failed restore", names)
	}
	if _, err := os.Lstat(out); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("output created by a failed restore: %v", err)
	}
}

// noCopy makes the manifest in dir say it has no source copy.
func noCopy(t *testing.T, dir string) {
	t.Helper()
	m, err := ReadManifest(dir)
	if err != nil {
		t.Fatal(err)
	}
	m.Stats.SourceCopy = 0
	if err := writeManifest(dir, m); err != nil {
		t.Fatal(err)
	}
}

// TestSaveSourceCopyPolicy saves the same tree with the copy declined
// and with it wanted: only the second writes one, and saving into a
// checkpoint directory that held a copy without one removes it.
func TestSaveSourceCopyPolicy(t *testing.T) {
	base := t.TempDir()
	top, ckpt := filepath.Join(base, "build1"), filepath.Join(base, "ckpt")
	copySource(t, base, top)
	snap, err := Take(top, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []bool{true, false} {
		m, err := Save(SaveOptions{Dir: ckpt, Name: "pkg-1.0", Top: top, Tree: true, Snapshot: snap,
			SourceCopy: func(int, int64) bool { return want }})
		if err != nil {
			t.Fatal(err)
		}
		_, err = os.Stat(filepath.Join(ckpt, SourceCopyFile))
		if got := err == nil; got != want || (m.Stats.SourceCopy > 0) != want {
			t.Errorf("copy wanted %v: file there %v, manifest says %d bytes", want, got, m.Stats.SourceCopy)
		}
	}
}

// TestSavePreviousDigests saves with Previous: a pristine file the
// previous checkpoint lists with the same size, mode and time takes its
// digest from there (the test gives it a wrong one to see it taken),
// one with another time is read.
func TestSavePreviousDigests(t *testing.T) {
	base := t.TempDir()
	top, prev, ckpt := filepath.Join(base, "build1"), filepath.Join(base, "prev"), filepath.Join(base, "ckpt")
	write(t, top, source, time.Unix(1, 0))
	snap, err := Take(top, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Save(SaveOptions{Dir: prev, Name: "pkg-1.0", Top: top, Tree: true, Snapshot: snap}); err != nil {
		t.Fatal(err)
	}
	entries, err := readPristine(prev, mustManifest(t, prev).PristineSize, len(source)-1)
	if err != nil {
		t.Fatal(err)
	}
	wrong := bytes.Repeat([]byte{7}, 32)
	for i := range entries {
		switch entries[i].name() {
		case "src/untouched":
			entries[i].Digest = wrong
		case "src/main.c":
			entries[i].Digest, entries[i].Mtime = wrong, 5
		}
	}
	m := mustManifest(t, prev)
	if m.PristineSize, err = writePristine(filepath.Join(prev, PristineFile), entries); err != nil {
		t.Fatal(err)
	}
	if err := writeManifest(prev, m); err != nil {
		t.Fatal(err)
	}
	m2, err := Save(SaveOptions{Dir: ckpt, Name: "pkg-1.0", Top: top, Tree: true, Snapshot: snap, Previous: prev})
	if err != nil {
		t.Fatal(err)
	}
	got, err := readPristine(ckpt, m2.PristineSize, m2.Stats.Pristine)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range got {
		taken := bytes.Equal(e.Digest, wrong)
		if want := e.name() == "src/untouched"; taken != want {
			t.Errorf("%s: digest taken from the previous checkpoint: %v, want %v", e.name(), taken, want)
		}
	}
}

func mustManifest(t *testing.T, dir string) *Manifest {
	t.Helper()
	m, err := ReadManifest(dir)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// TestRestoreFromOtherSourceCopy restores a later checkpoint of the same
// build, saved without a copy and after one more source file changed (as
// the entry after installPhase is to the one after buildPhase), from the
// earlier checkpoint's copy (SourceCopyDir): the tree and the output are
// those of a restore over stdenv's unpack. A copy that lacks a file the
// later checkpoint lists, and a directory with no copy, fail with a
// NotReproducedError having written nothing.
func TestRestoreFromOtherSourceCopy(t *testing.T) {
	base := t.TempDir()
	top, early, later := filepath.Join(base, "build1"), filepath.Join(base, "early"), filepath.Join(base, "later")
	out := filepath.Join(base, "store", oldHash+"-pkg-1.0")
	tarball := copySource(t, base, top)
	snap, err := Take(top, nil)
	if err != nil {
		t.Fatal(err)
	}
	build(t, top, out)
	yes := func(int, int64) bool { return true }
	if _, err := Save(SaveOptions{Dir: early, Name: "pkg-1.0", Top: top, Tree: true, Snapshot: snap, Outputs: map[string]string{"out": out}, SourceCopy: yes}); err != nil {
		t.Fatal(err)
	}
	// The later phase edits a file the early checkpoint left to the source.
	if err := os.WriteFile(filepath.Join(top, "src/lib/one.c"), []byte("/* one, installed */\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	m, err := Save(SaveOptions{Dir: later, Name: "pkg-1.0", Top: top, Tree: true, Snapshot: snap, Outputs: map[string]string{"out": out}})
	if err != nil {
		t.Fatal(err)
	}
	if m.Stats.SourceCopy != 0 || m.Stats.Pristine != 8 {
		t.Fatalf("the later checkpoint has a copy of %d bytes and %d pristine files; want none and 8", m.Stats.SourceCopy, m.Stats.Pristine)
	}
	ref := filepath.Join(base, "build0")
	refOut := filepath.Join(base, "store", newHash+"-pkg-1.0")
	stdenvUnpack(t, tarball, ref)
	if _, err := Restore(context.Background(), RestoreOptions{Dir: later, Top: ref, Tree: true, Outputs: map[string]string{"out": refOut}}); err != nil {
		t.Fatal(err)
	}
	wantTree, wantOut := list(t, ref), list(t, refOut)
	if err := os.RemoveAll(refOut); err != nil {
		t.Fatal(err)
	}

	lacking := filepath.Join(base, "lacking")
	if msg, err := exec.Command("cp", "-r", early, lacking).CombinedOutput(); err != nil {
		t.Fatalf("%v: %s", err, msg)
	}
	rewriteCopy(t, lacking, func(tw *tar.Writer, hdr *tar.Header, data []byte) {
		if hdr.Name != "src/lib/run.sh" {
			tw.WriteHeader(hdr)
			tw.Write(data)
		}
	})
	for i, tt := range []struct {
		name, dir, want string // want: in the error; "" for success
	}{
		{"earlier copy", early, ""},
		{"copy lacking a file", lacking, "src/lib/run.sh"},
		{"no copy", later, "has no source copy"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			top := filepath.Join(base, "build"+string(rune('a'+i))) // the length of build1
			if err := os.MkdirAll(top, 0o755); err != nil {
				t.Fatal(err)
			}
			os.RemoveAll(refOut)
			res, err := Restore(context.Background(), RestoreOptions{Dir: later, Top: top, Tree: true, Outputs: map[string]string{"out": refOut},
				SourceCopy: true, SourceCopyDir: tt.dir})
			if tt.want != "" {
				notReproduced(t, err, tt.want, top, refOut)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !res.FromSourceCopy || res.SourceCopyDir != early || res.Unpacked == nil || res.Unpacked.Files != 8 {
				t.Fatalf("FromSourceCopy %v from %q, unpacked %+v: want the 8 pristine files from %s", res.FromSourceCopy, res.SourceCopyDir, res.Unpacked, early)
			}
			want := map[string]entry{}
			for k, e := range wantTree {
				e.content = strings.ReplaceAll(e.content, ref, top)
				want[k] = e
			}
			compare(t, "tree", list(t, top), want)
			compare(t, "output", list(t, refOut), wantOut)
		})
	}
}
