package checkpoint

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// saveCpUnpacked saves a checkpoint of a build whose source was unpacked
// with recorded times and a passAsFile attribute, and returns the
// directories.
func saveCpUnpacked(t *testing.T) (base, ckpt string) {
	t.Helper()
	base = t.TempDir()
	top, ckpt := filepath.Join(base, "build1"), filepath.Join(base, "ckpt")
	write(t, top, source, time.Unix(1, 0))
	write(t, top, tree{".attr-0abc": "postInstall of the first stage\n", "env-vars": "declare -x A=1\n"}, time.Unix(2, 0))
	snap, err := Take(top, nil)
	if err != nil {
		t.Fatal(err)
	}
	build(t, top, filepath.Join(base, "store", oldHash+"-pkg-1.0"))
	m, err := Save(SaveOptions{Dir: ckpt, Name: "pkg-1.0", Top: top, Tree: true, Snapshot: snap,
		Outputs: map[string]string{"out": filepath.Join(base, "store", oldHash+"-pkg-1.0")}})
	if err != nil {
		t.Fatal(err)
	}
	if m.Stats.Pristine != 1 {
		t.Fatalf("pristine files = %d, want 1", m.Stats.Pristine)
	}
	return base, ckpt
}

// TestRestoreCpUnpack unpacks the source again the way `cp -r` does (new
// modification times, another mode) next to a passAsFile file of other
// content: the source is the same, so the restore succeeds and gives the
// files the times and modes the first build saw.
func TestRestoreCpUnpack(t *testing.T) {
	base, ckpt := saveCpUnpacked(t)
	top := filepath.Join(base, "build2")
	now := time.Now().Truncate(time.Second)
	write(t, top, source, now)
	write(t, top, tree{".attr-0abc": "postInstall of the second stage, longer\n", "env-vars": "declare -x A=2\n"}, now)
	if err := os.Chmod(filepath.Join(top, "src/untouched"), 0o600); err != nil {
		t.Fatal(err)
	}
	res, err := Restore(context.Background(), RestoreOptions{Dir: ckpt, Top: top, Tree: true,
		Outputs: map[string]string{"out": filepath.Join(base, "store", newHash+"-pkg-1.0")}})
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(filepath.Join(top, "src/untouched"))
	if err != nil {
		t.Fatal(err)
	}
	if !fi.ModTime().Equal(time.Unix(1, 0)) || fi.Mode() != 0o644 {
		t.Errorf("src/untouched: mtime %v, mode %v; want the recorded %v, -rw-r--r--", fi.ModTime(), fi.Mode(), time.Unix(1, 0))
	}
	if res.Retimed != 1 {
		t.Errorf("Retimed = %d, want 1", res.Retimed)
	}
	if w := strings.Join(res.Warnings, "\n"); !strings.Contains(w, "1 source files had other modification times") || !strings.Contains(w, "other modes after unpacking again (\"src/untouched\" first)") {
		t.Errorf("warnings: %s", w)
	}
	for name, want := range map[string]string{".attr-0abc": "postInstall of the second stage, longer\n", "env-vars": "declare -x A=2\n"} {
		if data, err := os.ReadFile(filepath.Join(top, name)); err != nil || string(data) != want {
			t.Errorf("%s = %q, %v; want the stage's own %q", name, data, err, want)
		}
	}
}

// TestRestoreSourceDiffers changes the unpacked source's bytes, with and
// without keeping size and time: the restore fails naming the file and
// what differs.
func TestRestoreSourceDiffers(t *testing.T) {
	tests := []struct {
		name, content string
		mtime         time.Time
		reason        string
	}{
		{"same size and time", "SAME as the source\n", time.Unix(1, 0), "content differs (SHA-256 "},
		{"same size, new time", "same as the sourcE\n", time.Now(), "content differs (SHA-256 "},
		{"other size", "another source\n", time.Unix(1, 0), "size 15, was 19"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			base, ckpt := saveCpUnpacked(t)
			top := filepath.Join(base, "build2")
			write(t, top, source, time.Unix(1, 0))
			write(t, top, tree{"src/untouched": tt.content}, tt.mtime)
			_, err := Restore(context.Background(), RestoreOptions{Dir: ckpt, Top: top, Tree: true,
				Outputs: map[string]string{"out": filepath.Join(base, "store", newHash+"-pkg-1.0")}})
			var sc *SourceChangedError
			if !errors.As(err, &sc) || sc.Path != "src/untouched" || !strings.HasPrefix(sc.Reason, tt.reason) {
				t.Fatalf("Restore: %v; want the source to differ in src/untouched: %s…", err, tt.reason)
			}
			if _, err := os.Stat(filepath.Join(top, "src/main.o")); err == nil {
				t.Errorf("the tree was restored over a source that differs")
			}
		})
	}
}
