package checkpoint

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nix-vanilla/nix-vanilla/pkg/unpack"
)

// tarredSource writes the test source as a tarball and unpacks it into
// top as stdenv does, returning the tarball.
func tarredSource(t *testing.T, base, top string) string {
	t.Helper()
	staging := filepath.Join(base, "staging")
	write(t, staging, source, time.Unix(1, 0))
	for _, f := range []string{"src/lib/one.c", "src/lib/two.c", "src/lib/deep/three.c"} {
		write(t, staging, tree{f: "/* " + f + " */\n"}, time.Unix(3, 0))
	}
	tarball := filepath.Join(base, "src.tar.gz")
	for _, args := range [][]string{{"tar", "czf", tarball, "-C", staging, "src"}} {
		if out, err := exec.Command(args[0], args[1:]...).CombinedOutput(); err != nil {
			t.Fatalf("%v: %v\n%s", args, err, out)
		}
	}
	stdenvUnpack(t, tarball, top)
	return tarball
}

func stdenvUnpack(t *testing.T, tarball, top string) {
	t.Helper()
	if err := os.MkdirAll(top, 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("tar", "xf", tarball, "--mode=+w", "--warning=no-timestamp")
	cmd.Dir = top
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("tar: %v\n%s", err, out)
	}
}

// TestRestoreFromSources restores into an empty build directory from
// the tarball itself: the tree is the one a restore over stdenv's unpack
// gives, no file the build changed or deleted is written, and a restore
// that fails (a damaged checkpoint, a source that differs) leaves the
// directory empty.
func TestRestoreFromSources(t *testing.T) {
	base := t.TempDir()
	top, ckpt := filepath.Join(base, "build1"), filepath.Join(base, "ckpt")
	out := filepath.Join(base, "store", oldHash+"-pkg-1.0")
	tarball := tarredSource(t, base, top)
	snap, err := Take(top, nil)
	if err != nil {
		t.Fatal(err)
	}
	build(t, top, out)
	m, err := Save(SaveOptions{Dir: ckpt, Name: "pkg-1.0", Top: top, Tree: true, Snapshot: snap, Outputs: map[string]string{"out": out}})
	if err != nil {
		t.Fatal(err)
	}
	if m.Stats.Pristine != 4 {
		t.Fatalf("pristine files = %d, want 4", m.Stats.Pristine)
	}

	ref, refOut := filepath.Join(base, "build2"), filepath.Join(base, "store", newHash+"-pkg-1.0")
	stdenvUnpack(t, tarball, ref)
	if _, err := Restore(context.Background(), RestoreOptions{Dir: ckpt, Top: ref, Tree: true, Outputs: map[string]string{"out": refOut}}); err != nil {
		t.Fatal(err)
	}
	wantTree, wantOut := list(t, ref), list(t, refOut)
	os.RemoveAll(refOut)

	top3 := filepath.Join(base, "build3")
	os.Mkdir(top3, 0o755)
	res, err := Restore(context.Background(), RestoreOptions{Dir: ckpt, Top: top3, Tree: true, Outputs: map[string]string{"out": refOut},
		Sources: []string{tarball}})
	if err != nil {
		t.Fatal(err)
	}
	for k, e := range wantTree {
		e.content = strings.ReplaceAll(e.content, ref, top3)
		wantTree[k] = e
	}
	compare(t, "tree", list(t, top3), wantTree)
	compare(t, "output", list(t, refOut), wantOut)
	if res.Unpacked == nil || res.Unpacked.Files != 4 {
		t.Fatalf("unpacked: %+v, want the 4 pristine files", res.Unpacked)
	}
	if res.Retimed != 0 || len(res.Warnings) != 0 {
		t.Errorf("retimed %d, warnings %q: the unpack should give recorded times and modes", res.Retimed, res.Warnings)
	}

	t.Run("damaged checkpoint", func(t *testing.T) {
		bad := filepath.Join(base, "bad")
		if out, err := exec.Command("cp", "-r", ckpt, bad).CombinedOutput(); err != nil {
			t.Fatalf("%v: %s", err, out)
		}
		data, _ := os.ReadFile(filepath.Join(bad, ArchiveFile))
		data[len(data)/2] ^= 1
		os.WriteFile(filepath.Join(bad, ArchiveFile), data, 0o644)
		top4 := filepath.Join(base, "build4")
		os.Mkdir(top4, 0o755)
		out4 := filepath.Join(base, "store", newHash+"-pkg-1.0")
		os.RemoveAll(out4)
		_, err := Restore(context.Background(), RestoreOptions{Dir: bad, Top: top4, Tree: true, Outputs: map[string]string{"out": out4}, Sources: []string{tarball}})
		var ce *CorruptError
		if !errors.As(err, &ce) {
			t.Fatalf("Restore: %v, want a CorruptError", err)
		}
		if names, _ := os.ReadDir(top4); len(names) != 0 {
			t.Errorf("the build directory holds %v after a failed restore", names)
		}
		if _, err := os.Lstat(out4); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("output created by a failed restore: %v", err)
		}
	})
	t.Run("other source", func(t *testing.T) {
		other := filepath.Join(base, "other")
		write(t, other, tree{"src/untouched": "SAME AS THE SOURCE\n"}, time.Unix(1, 0))
		for _, f := range []string{"src/lib/one.c", "src/lib/two.c", "src/lib/deep/three.c"} {
			write(t, other, tree{f: "/* " + f + " */\n"}, time.Unix(3, 0))
		}
		otherTar := filepath.Join(base, "other.tar")
		if out, err := exec.Command("tar", "cf", otherTar, "-C", other, "src").CombinedOutput(); err != nil {
			t.Fatalf("%v: %s", err, out)
		}
		top5 := filepath.Join(base, "build5")
		os.Mkdir(top5, 0o755)
		out5 := filepath.Join(base, "store", newHash+"-pkg-1.0")
		os.RemoveAll(out5)
		_, err := Restore(context.Background(), RestoreOptions{Dir: ckpt, Top: top5, Tree: true, Outputs: map[string]string{"out": out5}, Sources: []string{otherTar}})
		var nr *unpack.NotReproducedError
		if !errors.As(err, &nr) || !strings.Contains(err.Error(), "content differs") {
			t.Fatalf("Restore: %v, want a NotReproducedError", err)
		}
		if names, _ := os.ReadDir(top5); len(names) != 0 {
			t.Errorf("the build directory holds %v after a failed restore", names)
		}
		if _, err := os.Lstat(out5); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("output created by a failed restore: %v", err)
		}
	})
}
