package inplace

import (
	"io/fs"
	"os"
	"path/filepath"
	"testing"
	"time"
)

var old = time.Unix(1_000_000, 0)

// file writes a file with content, mode and the time old, plus a hard link
// to it, and returns the file's path and the link's.
func file(t *testing.T, content string, mode fs.FileMode) (string, string) {
	t.Helper()
	dir := t.TempDir()
	p := filepath.Join(dir, "f")
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(p, mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(p, old, old); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "link")
	if err := os.Link(p, link); err != nil {
		t.Fatal(err)
	}
	return p, link
}

// check fails unless path holds want with mode and the time old.
func check(t *testing.T, path, want string, mode fs.FileMode) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if string(b) != want {
		t.Errorf("%s = %q, want %q", path, b, want)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode() != mode {
		t.Errorf("%s: mode %v, want %v", path, fi.Mode(), mode)
	}
	if !fi.ModTime().Equal(old) {
		t.Errorf("%s: time %v, want %v", path, fi.ModTime(), old)
	}
}

func TestOpen(t *testing.T) {
	for _, mode := range []fs.FileMode{0o644, 0o444, 0o555 | fs.ModeSetuid, 0o755 | fs.ModeSetgid} {
		t.Run(mode.String(), func(t *testing.T) {
			p, link := file(t, "hello world", mode)
			f, err := Open(p)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := f.WriteAt([]byte("WORLD"), 6); err != nil {
				t.Fatal(err)
			}
			if err := f.Close(); err != nil {
				t.Fatal(err)
			}
			check(t, p, "hello WORLD", mode)
			check(t, link, "hello WORLD", mode) // the same file
		})
	}
}

func TestOpenRefuses(t *testing.T) {
	dir := t.TempDir()
	if _, err := Open(dir); err == nil {
		t.Error("Open of a directory succeeded")
	}
	if _, err := Open(filepath.Join(dir, "missing")); err == nil {
		t.Error("Open of a missing file succeeded")
	}
}

func TestReplace(t *testing.T) {
	for _, mode := range []fs.FileMode{0o644, 0o444, 0o700} {
		t.Run(mode.String(), func(t *testing.T) {
			p, link := file(t, "old", mode)
			if err := Replace(p, []byte("new")); err != nil {
				t.Fatal(err)
			}
			check(t, p, "new", mode)
			check(t, link, "old", mode) // the link keeps the old file
		})
	}
	t.Run("symlink", func(t *testing.T) {
		p, _ := file(t, "old", 0o640)
		sym := filepath.Join(filepath.Dir(p), "sym")
		if err := os.Symlink("f", sym); err != nil {
			t.Fatal(err)
		}
		if err := Replace(sym, []byte("new")); err != nil {
			t.Fatal(err)
		}
		if fi, err := os.Lstat(sym); err != nil || fi.Mode()&fs.ModeSymlink == 0 {
			t.Errorf("the symlink was replaced: %v", err)
		}
		check(t, p, "new", 0o640)
	})
	t.Run("new file", func(t *testing.T) {
		p := filepath.Join(t.TempDir(), "n")
		if err := Replace(p, []byte("new")); err != nil {
			t.Fatal(err)
		}
		if fi, err := os.Stat(p); err != nil || fi.Mode() != 0o644 {
			t.Errorf("new file: %v, %v; want mode 0644", fi, err)
		}
	})
}

func TestReplaceIn(t *testing.T) {
	p, link := file(t, "old", 0o600)
	root, err := os.OpenRoot(filepath.Dir(p))
	if err != nil {
		t.Fatal(err)
	}
	defer root.Close()
	fi, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	if err := ReplaceIn(root, "f", []byte("new"), fi); err != nil {
		t.Fatal(err)
	}
	check(t, p, "new", 0o600)
	check(t, link, "old", 0o600)
	if err := ReplaceIn(root, "../escape", []byte("x"), fi); err == nil {
		t.Error("ReplaceIn wrote outside its root")
	}
}
