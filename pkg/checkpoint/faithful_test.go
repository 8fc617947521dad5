package checkpoint

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"
)

// node is what TestFaithfulTree compares of one entry.
type node struct {
	mode    fs.FileMode
	mtime   int64 // not for symlinks
	nlink   uint64
	content string // digest of a regular file, target of a symlink
	extents string // data extents of a sparse file
	order   string // a directory's entries as listed
}

// inspect describes every entry below dir, and the names that share an
// inode with another (as sorted groups, paths relative to roots[i] given
// as "i:path").
func inspect(t *testing.T, roots ...string) (map[string]node, []string) {
	t.Helper()
	got := map[string]node{}
	inodes := map[uint64][]string{}
	for i, root := range roots {
		prefix := fmt.Sprintf("%d:", i)
		names, err := readNames(root)
		if err != nil {
			t.Fatal(err)
		}
		got[prefix] = node{order: strings.Join(names, "/")}
		err = walkOrder(root, nil, func(rel string, fi fs.FileInfo) error {
			p := filepath.Join(root, rel)
			st := fi.Sys().(*syscall.Stat_t)
			n := node{mode: fi.Mode(), mtime: fi.ModTime().UnixNano(), nlink: uint64(st.Nlink)}
			switch {
			case fi.Mode()&fs.ModeSymlink != 0:
				target, _ := os.Readlink(p)
				n.content, n.mtime = target, 0
			case fi.Mode().IsDir():
				names, err := readNames(p)
				if os.IsPermission(err) {
					os.Chmod(p, 0o700)
					names, err = readNames(p)
					os.Chmod(p, fi.Mode().Perm())
				}
				if err != nil {
					return err
				}
				n.order, n.nlink = strings.Join(names, "/"), 0
			case fi.Mode().IsRegular():
				f, err := openRead(p, fi.Mode())
				if err != nil {
					return err
				}
				h := sha256.New()
				io.Copy(h, strings.NewReader(""))
				data, _ := io.ReadAll(f)
				h.Write([]byte(strings.ReplaceAll(string(data), newHash, oldHash)))
				n.content = hex.EncodeToString(h.Sum(nil))[:16]
				ext, err := dataExtents(f, fi.Size())
				f.Close()
				if err != nil {
					return err
				}
				if ext != nil {
					n.extents = fmt.Sprint(ext)
				}
			}
			if n.nlink > 1 {
				inodes[st.Ino] = append(inodes[st.Ino], prefix+rel)
			}
			got[prefix+rel] = n
			return nil
		}, nil)
		if err != nil {
			t.Fatal(err)
		}
	}
	var groups []string
	for _, g := range inodes {
		slices.Sort(g)
		groups = append(groups, strings.Join(g, " = "))
	}
	slices.Sort(groups)
	return got, groups
}

// buildFaithful leaves in top and out what builds leave that tar-like
// copies lose: unreadable files and directories, a FIFO, a socket, hard
// links among generated files, to a source file and into the output, a
// sparse file, and directories whose entries were created in no
// particular order.
func buildFaithful(t *testing.T, top, out string) {
	t.Helper()
	gen := time.Unix(1700000000, 5)
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.MkdirAll(filepath.Join(top, "src/gen/many"), 0o755))
	must(os.MkdirAll(filepath.Join(out, "bin"), 0o755))
	put := func(rel, content string, mode fs.FileMode) {
		p := filepath.Join(top, rel)
		must(os.WriteFile(p, []byte(content), 0o600))
		must(os.Chtimes(p, gen, gen))
		must(os.Chmod(p, mode))
	}
	rng := rand.New(rand.NewChaCha8([32]byte{7}))
	for _, i := range rng.Perm(40) {
		put(fmt.Sprintf("src/gen/many/f%02d", i), fmt.Sprint(i), 0o644)
	}
	put("src/gen/secret", "left unreadable by the build\n", 0)
	put("src/gen/a", "a generated pair\n", 0o644)
	must(os.Link(filepath.Join(top, "src/gen/a"), filepath.Join(top, "src/gen/b")))
	must(os.Link(filepath.Join(top, "src/untouched"), filepath.Join(top, "src/gen/source-link")))
	put("src/gen/tool", "#!/bin/sh\n", 0o755)
	must(os.Link(filepath.Join(top, "src/gen/tool"), filepath.Join(out, "bin/tool")))
	must(syscall.Mkfifo(filepath.Join(top, "src/gen/pipe"), 0o640))
	must(os.Chmod(filepath.Join(top, "src/gen/pipe"), 0o640))
	l, err := net.Listen("unix", filepath.Join(top, "src/gen/sock"))
	must(err)
	t.Cleanup(func() { l.Close() })

	f, err := os.Create(filepath.Join(top, "src/gen/disk.img"))
	must(err)
	for _, e := range []struct {
		off  int64
		data string
	}{{1 << 20, "data after a hole"}, {3 << 20, "names /nix/store/" + oldHash + "-pkg-1.0 here"}} {
		_, err := f.WriteAt([]byte(e.data), e.off)
		must(err)
	}
	must(f.Truncate(5 << 20))
	must(f.Close())
	must(os.Chtimes(filepath.Join(top, "src/gen/disk.img"), gen, gen))

	must(os.MkdirAll(filepath.Join(top, "src/gen/locked"), 0o755))
	put("src/gen/locked/inside", "in a directory left mode 000\n", 0o644)
	must(os.Chmod(filepath.Join(top, "src/gen/locked"), 0))
	for _, d := range []string{"src/gen/many", "src/gen/locked", "src/gen", "src"} {
		must(os.Chtimes(filepath.Join(top, d), gen, gen))
	}
	must(os.Chtimes(filepath.Join(out, "bin"), gen, gen))
}

// filesystems are where TestFaithfulTree builds: the test's temporary
// directory (on these machines the ext4 disk, which lists entries by a
// hash of their names) and /dev/shm (tmpfs, newest first).
func filesystems(t *testing.T) map[string]string {
	dirs := map[string]string{"tempdir": t.TempDir()}
	if fi, err := os.Stat("/dev/shm"); err == nil && fi.IsDir() {
		d, err := os.MkdirTemp("/dev/shm", "checkpoint-test")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { os.Chmod(filepath.Join(d, "build1/src/gen/locked"), 0o700); os.RemoveAll(d) })
		dirs["shm"] = d
	}
	return dirs
}

func TestFaithfulTree(t *testing.T) {
	if os.Geteuid() == 0 && os.Getenv("CHECKPOINT_TEST_UNPRIVILEGED") == "" {
		t.Run("unprivileged", runUnprivileged)
	}
	for fsName, base := range filesystems(t) {
		t.Run(fsName, func(t *testing.T) {
			defer os.Chmod(filepath.Join(base, "build1/src/gen/locked"), 0o700)
			defer os.Chmod(filepath.Join(base, "build2/src/gen/locked"), 0o700)
			top, ckpt := filepath.Join(base, "build1"), filepath.Join(base, "ckpt")
			out := filepath.Join(base, "store", oldHash+"-pkg-1.0")
			write(t, top, source, time.Unix(1, 0))
			snap, err := Take(top, nil)
			if err != nil {
				t.Fatal(err)
			}
			buildFaithful(t, top, out)
			var warnings []string
			m, err := Save(SaveOptions{Dir: ckpt, Name: "pkg-1.0", Top: top, Tree: true, Snapshot: snap,
				Outputs: map[string]string{"out": out}, Warn: func(s string) { warnings = append(warnings, s) }})
			if err != nil {
				t.Fatal(err)
			}
			if len(warnings) != 1 || !strings.Contains(warnings[0], "src/gen/sock: a socket cannot be carried over") {
				t.Errorf("save warnings: %q", warnings)
			}
			if m.Stats.Sparse != 1 || m.Stats.SparseSize != 5<<20 {
				t.Errorf("sparse files: %d of %d bytes, want 1 of %d", m.Stats.Sparse, m.Stats.SparseSize, 5<<20)
			}

			top2, out2 := filepath.Join(base, "build2"), filepath.Join(base, "store", newHash+"-pkg-1.0")
			write(t, top2, source, time.Unix(1, 0))
			res, err := Restore(context.Background(), RestoreOptions{Dir: ckpt, Top: top2, Tree: true, Outputs: map[string]string{"out": out2}})
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("restore warnings: %q", res.Warnings)
			checkTreeFiles(t, top2, res)
			want, wantLinks := inspect(t, top, out)
			// The socket is not carried over, and the rest is as it was.
			delete(want, "0:src/gen/sock")
			d := want["0:src/gen"]
			d.order = strings.Join(slices.DeleteFunc(strings.Split(d.order, "/"), func(n string) bool { return n == "sock" }), "/")
			want["0:src/gen"] = d
			got, gotLinks := inspect(t, top2, out2)
			for k, w := range want {
				if g := got[k]; g != w {
					t.Errorf("%s: got %+v, want %+v", k, g, w)
				}
			}
			for k := range got {
				if _, ok := want[k]; !ok {
					t.Errorf("unexpected %s", k)
				}
			}
			if !slices.Equal(gotLinks, wantLinks) {
				t.Errorf("hard links:\n got %q\nwant %q", gotLinks, wantLinks)
			}
			if want["0:src/gen/disk.img"].extents == "" {
				t.Errorf("the test's sparse file has no holes on this filesystem")
			}
			var st syscall.Stat_t
			if err := syscall.Stat(filepath.Join(top2, "src/gen/disk.img"), &st); err != nil || st.Blocks*512 >= 1<<20 {
				t.Errorf("restored sparse file takes %d blocks", st.Blocks)
			}
		})
	}
}

// runUnprivileged runs TestFaithfulTree again as nobody, who owns the
// files and is refused the unreadable ones, as a build user is.
func runUnprivileged(t *testing.T) {
	dir, err := os.MkdirTemp("", "checkpoint-unprivileged")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	os.Chmod(dir, 0o755)
	exe := filepath.Join(dir, "checkpoint.test")
	data, err := os.ReadFile(os.Args[0])
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(exe, data, 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe, "-test.run=^TestFaithfulTree$", "-test.v")
	cmd.Env = append(os.Environ(), "CHECKPOINT_TEST_UNPRIVILEGED=1", "TMPDIR="+dir)
	cmd.Dir = dir
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	os.Chmod(dir, 0o777)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("as nobody: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "--- PASS: TestFaithfulTree") {
		t.Fatalf("as nobody:\n%s", out)
	}
}
