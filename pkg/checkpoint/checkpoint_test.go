package checkpoint

import (
	"archive/tar"
	"context"
	"errors"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

const (
	oldHash = "0123456789abcdfghijklmnpqrsvwxyz"
	newHash = "zyxwvsrqpnmlkjihgfdcba9876543210"
)

// tree describes files to create: path → content; a content starting with
// "->" makes a symlink, a path ending in "/" a directory.
type tree map[string]string

func write(t testing.TB, dir string, files tree, mtime time.Time) {
	t.Helper()
	for name, content := range files {
		p := filepath.Join(dir, name)
		if strings.HasSuffix(name, "/") {
			if err := os.MkdirAll(p, 0o755); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if target, ok := strings.CutPrefix(content, "->"); ok {
			if err := os.Symlink(target, p); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(p, mtime, mtime); err != nil {
			t.Fatal(err)
		}
	}
}

// entry is what a test compares of one file.
type entry struct {
	mode    fs.FileMode
	mtime   int64
	content string
}

func list(t *testing.T, dir string) map[string]entry {
	t.Helper()
	got := map[string]entry{}
	err := walk(dir, nil, func(rel string, fi fs.FileInfo) error {
		e := entry{mode: fi.Mode()}
		switch {
		case fi.Mode()&fs.ModeSymlink != 0:
			target, err := os.Readlink(filepath.Join(dir, rel))
			if err != nil {
				return err
			}
			e.content, e.mtime = "->"+target, fi.ModTime().UnixNano()
		case fi.Mode().IsRegular():
			data, err := os.ReadFile(filepath.Join(dir, rel))
			if err != nil {
				return err
			}
			e.content, e.mtime = string(data), fi.ModTime().UnixNano()
		default:
			e.mtime = fi.ModTime().UnixNano()
		}
		got[rel] = e
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return got
}

var source = tree{
	"src/main.c":     "int main(void) { return 0; }\n",
	"src/configure":  "#!/bin/sh\n",
	"src/untouched":  "same as the source\n",
	"src/doomed.txt": "the build deletes this\n",
	"src/sub/":       "",
}

// build simulates a build that generates, changes and deletes files.
func build(t *testing.T, top, out string) {
	t.Helper()
	gen := time.Unix(1700000000, 123456789)
	write(t, top, tree{
		"src/main.o":           "object naming /nix/store/" + oldHash + "-pkg-1.0/share\x00\x01",
		"src/Makefile":         "prefix = /nix/store/" + oldHash + "-pkg-1.0\nbuilddir = " + top + "\n",
		"src/sub/gen.h":        "#define X 1\n",
		"src/link-to-main":     "->main.c",
		"src/abs-link":         "->/nix/store/" + oldHash + "-pkg-1.0/bin",
		"src/build/deep/x.o":   "deep",
		"src/build/debug.o":    "compiled in " + top + "\x00",
		"src/build/empty-dir/": "",
		// Named after the output's hash, as some build steps name stamps.
		"src/stamp-" + oldHash + "-pkg": "done\n",
	}, gen)
	if err := os.WriteFile(filepath.Join(top, "src/main.c"), []byte("patched\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(top, "src/doomed.txt")); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(filepath.Join(top, "src/configure"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Link(filepath.Join(top, "src/sub/gen.h"), filepath.Join(top, "src/sub/gen-link.h")); err != nil {
		t.Fatal(err)
	}
	// Modes that creating a file under the usual umask does not give.
	for name, mode := range map[string]fs.FileMode{
		"src/build/group-writable": 0o664,
		"src/build/read-only":      0o444,
		"src/build/setgid-tool":    0o755 | fs.ModeSetgid,
	} {
		p := filepath.Join(top, name)
		if err := os.WriteFile(p, []byte(name), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(p, gen, gen); err != nil {
			t.Fatal(err)
		}
	}
	// A large file that compresses badly: several zstd frames, and store
	// paths where the restore's buffers end.
	big := make([]byte, frameSize+frameSize/2)
	rand.NewChaCha8([32]byte{1}).Read(big)
	for _, at := range []int{0, 64<<10 - 20, smallFile - 5, frameSize - 30, len(big) - 60} {
		copy(big[at:], "/nix/store/"+oldHash+"-pkg-1.0")
	}
	if err := os.WriteFile(filepath.Join(top, "src/build/big.a"), big, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(filepath.Join(top, "src/build/big.a"), gen, gen); err != nil {
		t.Fatal(err)
	}
	write(t, out, tree{
		"share/data":  "written during the build into /nix/store/" + oldHash + "-pkg-1.0\n",
		"share/alias": "->data",
	}, gen)
	for _, d := range []string{"src/sub", "src/build", "src"} {
		if err := os.Chtimes(filepath.Join(top, d), gen, gen); err != nil {
			t.Fatal(err)
		}
	}
}

func TestSaveRestore(t *testing.T) {
	base := t.TempDir()
	unpacked := time.Unix(1, 0)
	top, ckpt := filepath.Join(base, "build1"), filepath.Join(base, "ckpt")
	out := filepath.Join(base, "store", oldHash+"-pkg-1.0")
	write(t, top, source, unpacked)
	snap, err := Take(top, nil)
	if err != nil {
		t.Fatal(err)
	}
	build(t, top, out)
	m, err := Save(SaveOptions{Dir: ckpt, Name: "pkg-1.0", Top: top, Tree: true, Snapshot: snap, Outputs: map[string]string{"out": out}})
	if err != nil {
		t.Fatal(err)
	}
	if m.Stats.Pristine != 1 {
		t.Errorf("pristine files = %d, want 1 (src/untouched)", m.Stats.Pristine)
	}
	if strings.Join(m.Deleted, ",") != "src/doomed.txt" {
		t.Errorf("deleted = %v", m.Deleted)
	}

	// Restore into a build directory of the same length, as a sandboxed
	// build of another derivation would see it, with another output path.
	top2 := filepath.Join(base, "build2")
	out2 := filepath.Join(base, "store", newHash+"-pkg-1.0")
	write(t, top2, source, unpacked)
	res, err := Restore(context.Background(), RestoreOptions{Dir: ckpt, Top: top2, Tree: true, Outputs: map[string]string{"out": out2}})
	if err != nil {
		t.Fatal(err)
	}
	if res.Rewritten != 4 {
		t.Errorf("rewritten files = %d, want 4", res.Rewritten)
	}
	checkTreeFiles(t, top2, res)

	mapping := strings.NewReplacer(oldHash, newHash, top, top2)
	want := map[string]entry{}
	for k, e := range list(t, top) {
		e.content = mapping.Replace(e.content)
		e.mode &^= fs.ModeSetuid | fs.ModeSetgid // dropped on restore
		want[mapping.Replace(k)] = e
	}
	if _, ok := want["src/stamp-"+newHash+"-pkg"]; !ok {
		t.Fatal("the build made no file named after its output's hash")
	}
	compare(t, "tree", list(t, top2), want)
	wantOut := list(t, out)
	for k, e := range wantOut {
		e.content = mapping.Replace(e.content)
		wantOut[k] = e
	}
	compare(t, "output", list(t, out2), wantOut)

	fi1, _ := os.Stat(filepath.Join(top2, "src/sub/gen.h"))
	fi2, _ := os.Stat(filepath.Join(top2, "src/sub/gen-link.h"))
	if !os.SameFile(fi1, fi2) {
		t.Errorf("hard link not restored")
	}
}

func compare(t *testing.T, what string, got, want map[string]entry) {
	t.Helper()
	for k, w := range want {
		g, ok := got[k]
		if !ok {
			t.Errorf("%s: %s missing", what, k)
			continue
		}
		if g != w {
			t.Errorf("%s: %s = %+v, want %+v", what, k, g, w)
		}
	}
	for k := range got {
		if _, ok := want[k]; !ok {
			t.Errorf("%s: unexpected %s", what, k)
		}
	}
}

func saved(t *testing.T) (base, ckpt string) {
	t.Helper()
	base = t.TempDir()
	top, ckpt := filepath.Join(base, "build1"), filepath.Join(base, "ckpt")
	write(t, top, source, time.Unix(1, 0))
	snap, err := Take(top, nil)
	if err != nil {
		t.Fatal(err)
	}
	build(t, top, filepath.Join(base, "store", oldHash+"-pkg-1.0"))
	if _, err := Save(SaveOptions{Dir: ckpt, Name: "pkg-1.0", Top: top, Tree: true, Snapshot: snap,
		Outputs: map[string]string{"out": filepath.Join(base, "store", oldHash+"-pkg-1.0")}}); err != nil {
		t.Fatal(err)
	}
	return base, ckpt
}

func TestRestoreRefuses(t *testing.T) {
	tests := []struct {
		name    string
		prepare func(t *testing.T, base, ckpt, top string)
		check   func(err error) bool
	}{
		{"truncated archive", func(t *testing.T, base, ckpt, top string) {
			p := filepath.Join(ckpt, ArchiveFile)
			data, _ := os.ReadFile(p)
			os.WriteFile(p, data[:len(data)/2], 0o644)
		}, IsCorrupt},
		{"altered archive", func(t *testing.T, base, ckpt, top string) {
			p := filepath.Join(ckpt, ArchiveFile)
			data, _ := os.ReadFile(p)
			data[len(data)-3] ^= 0xff
			os.WriteFile(p, data, 0o644)
		}, IsCorrupt},
		{"no manifest", func(t *testing.T, base, ckpt, top string) {
			os.Remove(filepath.Join(ckpt, ManifestFile))
		}, IsCorrupt},
		{"source changed", func(t *testing.T, base, ckpt, top string) {
			os.WriteFile(filepath.Join(top, "src/untouched"), []byte("other source\n"), 0o644)
		}, func(err error) bool { var s *SourceChangedError; return errors.As(err, &s) }},
		{"path outside the tree", func(t *testing.T, base, ckpt, top string) {
			forge(t, ckpt, &tar.Header{Name: "tree/../escaped", Typeflag: tar.TypeReg, Mode: 0o644})
		}, func(err error) bool { return err != nil && strings.Contains(err.Error(), "not a clean relative path") }},
		{"absolute path", func(t *testing.T, base, ckpt, top string) {
			forge(t, ckpt, &tar.Header{Name: "/etc/passwd", Typeflag: tar.TypeReg, Mode: 0o644})
		}, func(err error) bool { return err != nil && strings.Contains(err.Error(), "not a clean relative path") }},
		{"through a symlink", func(t *testing.T, base, ckpt, top string) {
			forge(t, ckpt,
				&tar.Header{Name: "tree/escape", Typeflag: tar.TypeSymlink, Linkname: base, Mode: 0o777},
				&tar.Header{Name: "tree/escape/pwned", Typeflag: tar.TypeReg, Mode: 0o644})
		}, func(err error) bool { var nr *NotRegularError; return errors.As(err, &nr) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			base, ckpt := saved(t)
			top := filepath.Join(base, "build2")
			write(t, top, source, time.Unix(1, 0))
			tt.prepare(t, base, ckpt, top)
			_, err := Restore(context.Background(), RestoreOptions{Dir: ckpt, Top: top, Tree: true,
				Outputs: map[string]string{"out": filepath.Join(base, "store", newHash+"-pkg-1.0")}})
			if !tt.check(err) {
				t.Fatalf("Restore: %v", err)
			}
			if _, err := os.Stat(filepath.Join(base, "pwned")); err == nil {
				t.Fatalf("a file was written outside the build directory")
			}
		})
	}
}

// forge replaces the checkpoint's archive by one made of headers (a
// regular entry's content is hdr.Size bytes of 'x') and updates the
// manifest's digest, size and counts to match.
func forge(t testing.TB, ckpt string, hdrs ...*tar.Header) {
	t.Helper()
	var entries []forged
	for _, h := range hdrs {
		entries = append(entries, forged{hdr: h})
	}
	forgeWith(t, ckpt, entries...)
}

// forged is an archive entry with its content (nil: hdr.Size bytes 'x').
type forged struct {
	hdr  *tar.Header
	body []byte
}

// forgeWith writes an archive of entries, with no outputs part: a
// restore reads it whole.
func forgeWith(t testing.TB, ckpt string, entries ...forged) {
	t.Helper()
	forgeParts(t, ckpt, entries, nil, false)
}

// forgeParts writes an archive of the entries of tree, then those of
// outputs, with the outputs part the manifest declares if cut says so
// (what Save writes), as one tar stream otherwise.
func forgeParts(t testing.TB, ckpt string, tree, outputs []forged, cut bool) {
	t.Helper()
	a, err := createArchive(filepath.Join(ckpt, ArchiveFile))
	if err != nil {
		t.Fatal(err)
	}
	files, size := 0, int64(0)
	add := func(entries []forged) {
		for _, e := range entries {
			if err := a.tw.WriteHeader(e.hdr); err != nil {
				t.Fatal(err)
			}
			if e.hdr.Typeflag != tar.TypeReg {
				continue
			}
			files++
			size += e.hdr.Size
			body := e.body
			if body == nil {
				body = []byte(strings.Repeat("x", int(e.hdr.Size)))
			}
			if _, err := a.tw.Write(body); err != nil {
				t.Fatal(err)
			}
		}
	}
	add(tree)
	frame, treeFiles, treeSize := -1, files, size
	if cut {
		if frame, err = a.cut(); err != nil {
			t.Fatal(err)
		}
	}
	add(outputs)
	sum, _, err := a.close()
	if err != nil {
		t.Fatal(err)
	}
	m, err := ReadManifest(ckpt)
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(filepath.Join(ckpt, ArchiveFile))
	if err != nil {
		t.Fatal(err)
	}
	m.Archive, m.Stats.Compressed, m.Stats.Entries, m.Stats.Files, m.Stats.Bytes = sum, fi.Size(), len(tree)+len(outputs), files, size
	m.OutputsPart = nil
	if cut {
		m.OutputsPart = &Part{Offset: a.zw.offset(frame), Entries: len(outputs), Files: files - treeFiles, Bytes: size - treeSize}
	}
	if err := writeManifest(ckpt, m); err != nil {
		t.Fatal(err)
	}
}

// TestRestoreMovedTree restores into a build directory whose path has
// another length, as with the sandbox off: text files are rewritten, and
// binaries that name the old directory are reported.
func TestRestoreMovedTree(t *testing.T) {
	base, ckpt := saved(t)
	top := filepath.Join(base, "build-elsewhere")
	write(t, top, source, time.Unix(1, 0))
	res, err := Restore(context.Background(), RestoreOptions{Dir: ckpt, Top: top, Tree: true,
		Outputs: map[string]string{"out": filepath.Join(base, "store", newHash+"-pkg-1.0")}})
	if err != nil {
		t.Fatal(err)
	}
	mk, err := os.ReadFile(filepath.Join(top, "src/Makefile"))
	if err != nil {
		t.Fatal(err)
	}
	if want := "builddir = " + top + "\n"; !strings.Contains(string(mk), want) {
		t.Errorf("Makefile:\n%s\nwant a line %q", mk, want)
	}
	if got := res.Rewrite(filepath.Join(base, "build1", "src")); got != filepath.Join(top, "src") {
		t.Errorf("Rewrite maps the old working directory to %s", got)
	}
	if len(res.Warnings) != 1 || !strings.Contains(res.Warnings[0], "1 binary files still name the old build directory") {
		t.Errorf("warnings: %q", res.Warnings)
	}
}

func TestHashMapNeedsSameNames(t *testing.T) {
	_, err := hashMap(map[string]string{"out": "/nix/store/" + oldHash + "-pkg-1.0"},
		map[string]string{"out": "/nix/store/" + newHash + "-pkg-1.1"})
	if err == nil || !strings.Contains(err.Error(), "names are the same") {
		t.Fatalf("hashMap: %v", err)
	}
}

// Two outputs given one store hash: the restore could not map it back to
// the checkpoint's two (a file's old bytes would be guessed).
func TestHashMapNeedsOwnHashes(t *testing.T) {
	other := strings.Repeat("1", 32)
	_, err := hashMap(map[string]string{"out": "/nix/store/" + oldHash + "-pkg-1.0", "dev": "/nix/store/" + other + "-pkg-1.0-dev"},
		map[string]string{"out": "/nix/store/" + newHash + "-pkg-1.0", "dev": "/nix/store/" + newHash + "-pkg-1.0-dev"})
	if err == nil || !strings.Contains(err.Error(), "outputs dev and out are given the same store hash") {
		t.Fatalf("hashMap: %v", err)
	}
}

// TestSaveIsAtomic saves over a good checkpoint and fails midway: what is
// left must not look like a checkpoint, and no temporary files remain.
func TestSaveIsAtomic(t *testing.T) {
	base, ckpt := saved(t)
	if _, err := ReadManifest(ckpt); err != nil {
		t.Fatal(err)
	}
	// The outputs are archived first; then the build directory is not
	// there.
	_, err := Save(SaveOptions{Dir: ckpt, Name: "pkg-1.0", Top: filepath.Join(base, "gone"), Tree: true,
		Outputs: map[string]string{"out": filepath.Join(base, "store", oldHash+"-pkg-1.0")}})
	if err == nil {
		t.Fatal("saving a missing build directory succeeded")
	}
	if _, err := ReadManifest(ckpt); !IsCorrupt(err) {
		t.Errorf("after a failed save, ReadManifest = %v, want the corrupt-checkpoint error", err)
	}
	entries, err := os.ReadDir(ckpt)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".saving-") {
			t.Errorf("temporary %s left behind", e.Name())
		}
	}
}

// checkTreeFiles checks that a restore's TreeFiles are the regular files
// of the build tree top, each once (a directory without permissions is
// given them while it is listed).
func checkTreeFiles(t *testing.T, top string, res *Result) {
	t.Helper()
	var want []string
	var visit func(rel string)
	visit = func(rel string) {
		dir := filepath.Join(top, rel)
		entries, err := os.ReadDir(dir)
		if errors.Is(err, fs.ErrPermission) {
			fi, _ := os.Lstat(dir)
			os.Chmod(dir, 0o700)
			entries, err = os.ReadDir(dir)
			defer os.Chmod(dir, fi.Mode().Perm())
		}
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range entries {
			r := filepath.Join(rel, e.Name())
			switch {
			case e.Type().IsRegular():
				want = append(want, r)
			case e.IsDir():
				visit(r)
			}
		}
	}
	visit("")
	slices.Sort(want)
	got := slices.Clone(res.TreeFiles)
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Errorf("TreeFiles = %q,\nwant the tree's regular files %q", got, want)
	}
}
