package checkpoint

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestWalkOrder walks a tree of many directories (more than there are
// goroutines listing them): the entries come in filepath.WalkDir's order
// (lexical, each directory before its entries) with the same modes, each
// directory's names come in the order the filesystem lists them, before
// its entries, and a skipped directory is neither visited nor listed.
func TestWalkOrder(t *testing.T) {
	top := t.TempDir()
	for i := range 40 {
		for j := range 12 {
			name := filepath.Join(top, fmt.Sprintf("d%02d/sub%d/f%02d", i%7, i, j))
			if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(name, []byte(name), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := os.Symlink("d00", filepath.Join(top, "link")); err != nil {
		t.Fatal(err)
	}
	skip := func(rel string) bool { return rel == "d03" || strings.HasPrefix(rel, "d03/") }
	var want []string
	err := filepath.WalkDir(top, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(top, p)
		if rel == "." {
			return nil
		}
		if skip(rel) {
			return filepath.SkipDir
		}
		want = append(want, fmt.Sprintf("%s %v", rel, d.Type()))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for round := range 3 {
		var got []string
		listed := map[string]bool{}
		err := walkOrder(top, skip, func(rel string, fi fs.FileInfo) error {
			if dir := filepath.Dir(rel); dir != "." && !listed[dir] {
				t.Errorf("%s visited before its directory's names were given", rel)
			}
			got = append(got, fmt.Sprintf("%s %v", rel, fi.Mode().Type()))
			return nil
		}, func(dir string, names []string) {
			listed[dir] = true
			f, err := os.Open(filepath.Join(top, dir))
			if err != nil {
				t.Fatal(err)
			}
			fsOrder, err := f.Readdirnames(-1)
			f.Close()
			if err != nil {
				t.Fatal(err)
			}
			fsOrder = slices.DeleteFunc(fsOrder, func(n string) bool { return skip(filepath.Join(dir, n)) })
			if !slices.Equal(names, fsOrder) {
				t.Errorf("round %d: %q listed as %q, the filesystem lists %q", round, dir, names, fsOrder)
			}
		})
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(got, want) {
			t.Fatalf("round %d: walked %d entries, want %d in WalkDir's order:\n%s", round, len(got), len(want), strings.Join(got[:min(len(got), 20)], "\n"))
		}
		if listed["d03"] {
			t.Errorf("round %d: the skipped directory was listed", round)
		}
	}
}

// TestWalkError: fn's error stops the walk where fn returned it; and,
// run as a user other than root, directories with mode 000, one inside
// another, are walked and get their mode back (the inner one first:
// its mode can only be set while the outer one can be searched).
func TestWalkError(t *testing.T) {
	top := t.TempDir()
	for _, d := range []string{"a", "b", "c"} {
		if err := os.MkdirAll(filepath.Join(top, d, "x"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	stop := fmt.Errorf("stop")
	var seen []string
	err := walk(top, nil, func(rel string, fi fs.FileInfo) error {
		seen = append(seen, rel)
		if rel == "b" {
			return stop
		}
		return nil
	})
	if err != stop || strings.Join(seen, ",") != "a,a/x,b" {
		t.Errorf("walk = %v after %q; want fn's error after a, a/x, b", err, seen)
	}
	if os.Geteuid() == 0 {
		t.Log("root needs no permissions granted: not checked")
		return
	}
	for _, d := range []string{"c/x", "c", "b"} {
		if err := os.Chmod(filepath.Join(top, d), 0o000); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() {
		for _, d := range []string{"b", "c", "c/x"} {
			os.Chmod(filepath.Join(top, d), 0o755)
		}
	})
	seen = nil
	if err := walk(top, nil, func(rel string, fi fs.FileInfo) error { seen = append(seen, rel); return nil }); err != nil {
		t.Fatal(err)
	}
	if strings.Join(seen, ",") != "a,a/x,b,b/x,c,c/x" {
		t.Errorf("walked %q", seen)
	}
	for _, d := range []string{"b", "c"} {
		if fi, err := os.Lstat(filepath.Join(top, d)); err != nil || fi.Mode().Perm() != 0 {
			t.Errorf("%s after the walk: %v, %v; want mode 000 again", d, fi, err)
		}
	}
	os.Chmod(filepath.Join(top, "c"), 0o700)
	if fi, err := os.Lstat(filepath.Join(top, "c/x")); err != nil || fi.Mode().Perm() != 0 {
		t.Errorf("c/x after the walk: %v, %v; want mode 000 again", fi, err)
	}
}
