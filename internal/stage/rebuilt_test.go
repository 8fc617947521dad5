package stage

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
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
			snap, err := checkpoint.Take(top, Skip)
			if err != nil {
				t.Fatal(err)
			}
			file := filepath.Join(t.TempDir(), "restored")
			if err := snap.WriteFile(file); err != nil {
				t.Fatal(err)
			}
			// The phases rebuild one file; the other keeps its time.
			write(t, filepath.Join(top, "src/_build/c.cmx"), "object, again")
			var log bytes.Buffer
			err = reportRebuilt(SaveOptions{Top: top, Restored: file, Log: &log})
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

// TestRebuiltIdentity: a file replaced by another inode with the same
// size and time was written again; a file or a whole directory the
// phases removed, and a file left alone, were not.
func TestRebuiltIdentity(t *testing.T) {
	top := t.TempDir()
	old := time.Unix(1700000000, 0)
	for _, f := range []string{"a/same", "a/replaced", "a/removed", "gone/x", "gone/y"} {
		write(t, filepath.Join(top, f), "object")
		if err := os.Chtimes(filepath.Join(top, f), old, old); err != nil {
			t.Fatal(err)
		}
	}
	snap, err := checkpoint.Take(top, Skip)
	if err != nil {
		t.Fatal(err)
	}
	tmp := filepath.Join(top, "a/replaced.tmp")
	write(t, tmp, "object")
	if err := os.Chtimes(tmp, old, old); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, filepath.Join(top, "a/replaced")); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(top, "a/removed")); err != nil {
		t.Fatal(err)
	}
	if err := os.RemoveAll(filepath.Join(top, "gone")); err != nil {
		t.Fatal(err)
	}
	got, err := Rebuilt(top, snap)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(got, ",") != "a/replaced" {
		t.Errorf("Rebuilt = %q, want [a/replaced]", got)
	}
}
