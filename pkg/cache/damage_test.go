package cache

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/nix-vanilla/nix-vanilla/pkg/checkpoint"
)

// editHeader returns a damage that changes the entry's header.
func editHeader(edit func(h map[string]any)) func(dir string) error {
	return func(dir string) error {
		p := filepath.Join(dir, HeaderFile)
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		var h map[string]any
		if err := json.Unmarshal(data, &h); err != nil {
			return err
		}
		edit(h)
		data, err = json.Marshal(h)
		if err != nil {
			return err
		}
		return os.WriteFile(p, data, 0o644)
	}
}

func firstFile(h map[string]any) map[string]any {
	for _, f := range h["files"].([]any) {
		if f := f.(map[string]any); f["name"] == "attrs.json" {
			return f
		}
	}
	panic("no attrs.json")
}

func writeFile(name, data string) func(string) error {
	return func(dir string) error { return os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644) }
}

func flipByte(name string, at int64) func(string) error {
	return func(dir string) error {
		f, err := os.OpenFile(filepath.Join(dir, name), os.O_RDWR, 0)
		if err != nil {
			return err
		}
		defer f.Close()
		b := make([]byte, 1)
		if _, err := f.ReadAt(b, at); err != nil {
			return err
		}
		b[0] ^= 0x20
		_, err = f.WriteAt(b, at)
		return err
	}
}

var damages = []struct {
	name   string
	damage func(dir string) error
	reason string // in the DamagedError
}{
	{"garbage header", writeFile(HeaderFile, "\x00\xffnot json"), "entry.json"},
	{"empty header", writeFile(HeaderFile, ""), "entry.json"},
	{"torn header", func(d string) error {
		data, _ := os.ReadFile(filepath.Join(d, HeaderFile))
		return os.WriteFile(filepath.Join(d, HeaderFile), data[:len(data)/2], 0o644)
	}, "entry.json"},
	{"no header", func(d string) error { return os.Remove(filepath.Join(d, HeaderFile)) }, "entry.json"},
	{"header is a symlink", func(d string) error {
		os.Rename(filepath.Join(d, HeaderFile), filepath.Join(d, "..", "h"))
		return os.Symlink("../h", filepath.Join(d, HeaderFile))
	}, "entry.json"},
	{"header is a FIFO", func(d string) error {
		os.Remove(filepath.Join(d, HeaderFile))
		return mkfifo(filepath.Join(d, HeaderFile))
	}, "not a regular file"},
	{"wrong magic", editHeader(func(h map[string]any) { h["magic"] = "ccache" }), "magic"},
	{"wrong version", editHeader(func(h map[string]any) { h["version"] = 2 }), "version"},
	{"wrong key", editHeader(func(h map[string]any) { h["key"] = key("other") }), "key"},
	{"key is a path", editHeader(func(h map[string]any) { h["key"] = "../../x" }), "key"},
	{"file ../x", editHeader(func(h map[string]any) { firstFile(h)["name"] = "../x" }), "../x"},
	{"absolute file", editHeader(func(h map[string]any) { firstFile(h)["name"] = "/etc/passwd" }), "/etc/passwd"},
	{"file named like the lock", editHeader(func(h map[string]any) { firstFile(h)["name"] = LockFile }), "lock"},
	{"directory ..", editHeader(func(h map[string]any) { h["dirs"] = append(h["dirs"].([]any), "..") }), `".."`},
	{"negative size", editHeader(func(h map[string]any) { firstFile(h)["size"] = -1 }), "size -1"},
	{"wrong size", editHeader(func(h map[string]any) { firstFile(h)["size"] = 99 }), "size"},
	{"total size", editHeader(func(h map[string]any) { h["size"] = 1 }), "add up"},
	{"digest not hex", editHeader(func(h map[string]any) { firstFile(h)["sha256"] = strings.Repeat("g", 64) }), "digest"},
	{"archive with a digest", editHeader(func(h map[string]any) {
		for _, f := range h["files"].([]any) {
			if f := f.(map[string]any); f["name"] == checkpoint.ArchiveFile {
				f["sha256"] = key("x")
			}
		}
	}), "digest"},
	{"truncated file", func(d string) error { return os.Truncate(filepath.Join(d, "attrs.json"), 50) }, "attrs.json"},
	{"truncated archive", func(d string) error { return os.Truncate(filepath.Join(d, checkpoint.ArchiveFile), 10) }, checkpoint.ArchiveFile},
	{"flipped byte", flipByte("state/end/vars", 7), "SHA-256"},
	{"flipped manifest", flipByte(checkpoint.ManifestFile, 3), "SHA-256"},
	{"missing file", func(d string) error { return os.Remove(filepath.Join(d, "state/fresh/vars")) }, "missing"},
	{"extra file", writeFile("state/evil.sh", "rm -rf /"), "unlisted"},
	{"file replaced by a symlink", func(d string) error {
		os.Remove(filepath.Join(d, "attrs.json"))
		return os.Symlink("/etc/passwd", filepath.Join(d, "attrs.json"))
	}, "attrs.json"},
	{"no lock", func(d string) error { return os.Remove(filepath.Join(d, LockFile)) }, "lock"},
	{"entry is a symlink", func(d string) error {
		if err := os.Rename(d, d+".real"); err != nil {
			return err
		}
		return os.Symlink(filepath.Base(d)+".real", d)
	}, "not a directory"},
	{"entry is a file", func(d string) error {
		if err := os.RemoveAll(d); err != nil {
			return err
		}
		return os.WriteFile(d, []byte("x"), 0o644)
	}, "not a directory"},
}

// TestDamage damages an entry in every way a torn write, a disk or a
// hostile writer could and checks that Get reports it and removes it.
func TestDamage(t *testing.T) {
	for _, tc := range damages {
		t.Run(tc.name, func(t *testing.T) {
			c := newCache(t)
			k := key("a")
			put(t, c, k, 3000)
			if err := tc.damage(c.entryDir(k)); err != nil {
				t.Fatal(err)
			}
			_, err := c.Get(k)
			var d *DamagedError
			if !errors.As(err, &d) || d.Key != k || !strings.Contains(d.Reason, tc.reason) {
				t.Fatalf("Get: %v, want a DamagedError mentioning %q", err, tc.reason)
			}
			if _, err := os.Lstat(c.entryDir(k)); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("the damaged entry is still there (%v)", err)
			}
			if _, err := c.Get(k); !errors.Is(err, ErrNotFound) {
				t.Errorf("second Get: %v, want ErrNotFound", err)
			}
			if got := dirNames(t, c, TmpDir); len(got) != 0 {
				t.Errorf("tmp holds %q", got)
			}
		})
	}
}

// TestVerifyArchive: a damaged archive passes Get (its digest is left to
// checkpoint.Restore) and fails Verify.
func TestVerifyArchive(t *testing.T) {
	c := newCache(t)
	k := key("a")
	put(t, c, k, 3000)
	if err := flipByte(checkpoint.ArchiveFile, 2000)(c.entryDir(k)); err != nil {
		t.Fatal(err)
	}
	e, err := c.Get(k)
	if err != nil {
		t.Fatalf("Get: %v (the archive's digest is deferred)", err)
	}
	e.Close()
	var d *DamagedError
	if err := c.Verify(k); !errors.As(err, &d) || !strings.Contains(d.Reason, "the manifest says") {
		t.Fatalf("Verify: %v, want the archive's digest mismatch", err)
	}
	if _, err := os.Stat(c.entryDir(k)); err != nil {
		t.Errorf("Verify removed the entry: %v", err)
	}
	if err := c.Verify(key("b")); !errors.Is(err, ErrNotFound) {
		t.Errorf("Verify of an absent key: %v", err)
	}
}

// TestListDamaged: List reports damaged headers and junk names without
// failing, and GC removes damaged entries.
func TestListDamaged(t *testing.T) {
	c := newCache(t)
	put(t, c, key("good"), 100)
	put(t, c, key("bad"), 100)
	writeFile(HeaderFile, "{")(c.entryDir(key("bad")))
	os.Mkdir(c.path(EntriesDir, "junk"), 0o755)
	infos, damaged, err := c.List()
	if err != nil {
		t.Fatal(err)
	}
	if len(infos) != 1 || infos[0].Key != key("good") {
		t.Errorf("List = %v, want the good entry", infos)
	}
	if len(damaged) != 2 {
		t.Errorf("damaged = %v, want the bad entry and junk", damaged)
	}
	removed, err := c.GC(0)
	if err != nil || len(removed) != 1 || removed[0].Key != key("bad") {
		t.Errorf("GC = %v, %v; want the bad entry", removed, err)
	}
}

func mkfifo(p string) error { return syscall.Mkfifo(p, 0o644) }
