package stage

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nix-vanilla/nix-vanilla/pkg/checkpoint"
)

func write(t *testing.T, name, data string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(name, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestRebuilt(t *testing.T) {
	for _, tt := range []struct {
		name, marker string
		wantErr      bool
		wantLog      string
	}{
		{"make", "", false, "the build tool saw them as out of date"},
		{"SCons", ".sconsign.dblite", false, "SCons keeps digests"},
		{"dune", "_build/.db", true, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			top := t.TempDir()
			write(t, filepath.Join(top, "src/a.o"), "object")
			write(t, filepath.Join(top, "src/b.o"), "object")
			write(t, filepath.Join(top, "src/_build/c.cmx"), "object")
			if tt.marker != "" {
				write(t, filepath.Join(top, "src", tt.marker), "")
			}
			old := time.Unix(1700000000, 0)
			for _, f := range []string{"src/a.o", "src/b.o", "src/_build/c.cmx"} {
				if err := os.Chtimes(filepath.Join(top, f), old, old); err != nil {
					t.Fatal(err)
				}
			}
			file := filepath.Join(t.TempDir(), "restored")
			if err := WriteRestored(file, []string{"src/a.o", "src/b.o", "src/_build/c.cmx"}); err != nil {
				t.Fatal(err)
			}
			afterTick(t, file)
			// The phases rebuild one file; the other keeps its time.
			write(t, filepath.Join(top, "src/_build/c.cmx"), "object, again")
			var log bytes.Buffer
			err := reportRebuilt(SaveOptions{Top: top, Restored: file, Log: &log})
			var re *RebuiltError
			if tt.wantErr != errors.As(err, &re) {
				t.Fatalf("error = %v", err)
			}
			if tt.wantErr {
				if re.Tool != "dune" || strings.Join(re.Files, ",") != "src/_build/c.cmx" {
					t.Errorf("error = %+v", re)
				}
				return
			}
			if !strings.Contains(log.String(), "rebuilt 1 files of the checkpoint (src/_build/c.cmx)") || !strings.Contains(log.String(), tt.wantLog) {
				t.Errorf("log = %q", log.String())
			}
		})
	}
}

// afterTick waits until the file system's clock, which sets change
// times in steps of a timer tick, has moved past the change time of p.
func afterTick(t *testing.T, p string) {
	t.Helper()
	fi, err := os.Lstat(p)
	if err != nil {
		t.Fatal(err)
	}
	mark := checkpoint.IdentityOf(fi).Ctime
	probe := p + ".tick"
	for range 1000 {
		if err := os.WriteFile(probe, nil, 0o644); err != nil {
			t.Fatal(err)
		}
		fi, err := os.Lstat(probe)
		if err != nil {
			t.Fatal(err)
		}
		if checkpoint.IdentityOf(fi).Ctime > mark {
			os.Remove(probe)
			return
		}
		time.Sleep(time.Millisecond)
	}
	t.Fatal("the change times did not move in a second")
}

// TestRebuiltChanges: after the list is written, a file rewritten in
// place, one replaced by another inode with the same size and time, one
// given its time back after a write, and a chmodded one count as
// rebuilt; a file or a whole directory the phases removed, a file left
// alone, a new file and a directory do not.
func TestRebuiltChanges(t *testing.T) {
	top := t.TempDir()
	old := time.Unix(1700000000, 0)
	restored := []string{"a/same", "a/inplace", "a/replaced", "a/retimed", "a/chmodded", "a/removed", "gone/x", "gone/y"}
	for _, f := range restored {
		write(t, filepath.Join(top, f), "object")
		if err := os.Chtimes(filepath.Join(top, f), old, old); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Mkdir(filepath.Join(top, "a/dir"), 0o755); err != nil {
		t.Fatal(err)
	}
	list := filepath.Join(t.TempDir(), "restored")
	if err := WriteRestored(list, append(restored, "a/dir")); err != nil {
		t.Fatal(err)
	}
	afterTick(t, list)
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.WriteFile(filepath.Join(top, "a/inplace"), []byte("again!"), 0o644))
	tmp := filepath.Join(top, "a/replaced.tmp")
	write(t, tmp, "object")
	must(os.Chtimes(tmp, old, old))
	must(os.Rename(tmp, filepath.Join(top, "a/replaced")))
	must(os.WriteFile(filepath.Join(top, "a/retimed"), []byte("OBJECT"), 0o644))
	must(os.Chtimes(filepath.Join(top, "a/retimed"), old, old))
	must(os.Chmod(filepath.Join(top, "a/chmodded"), 0o755))
	must(os.Remove(filepath.Join(top, "a/removed")))
	must(os.RemoveAll(filepath.Join(top, "gone")))
	write(t, filepath.Join(top, "a/new"), "new")
	must(os.Chtimes(filepath.Join(top, "a/dir"), old, old))

	names, mark, err := readRestored(list)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(names, append(restored, "a/dir")) {
		t.Fatalf("readRestored = %q", names)
	}
	got, err := Rebuilt(top, names, mark)
	if err != nil {
		t.Fatal(err)
	}
	if want := "a/chmodded,a/inplace,a/replaced,a/retimed"; strings.Join(got, ",") != want {
		t.Errorf("Rebuilt = %q, want %s", got, want)
	}
}

// TestReadRestoredRefuses a list not ended by a NUL byte, and reads an
// empty one as no files.
func TestReadRestoredRefuses(t *testing.T) {
	p := filepath.Join(t.TempDir(), "restored")
	if err := os.WriteFile(p, []byte("a\x00b"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, _, err := readRestored(p); err == nil || !strings.Contains(err.Error(), "not ended by a NUL byte") {
		t.Errorf("readRestored of a list cut short: %v", err)
	}
	if err := WriteRestored(p, nil); err != nil {
		t.Fatal(err)
	}
	if names, _, err := readRestored(p); err != nil || names != nil {
		t.Errorf("readRestored of an empty list = %q, %v", names, err)
	}
}
