package checkpoint

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"maps"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// prepareSource writes a source of several copy groups into top: files of
// incompressible data (a group holds about frameSize of them), names that
// sort differently by component than by byte ("a/b" before "a.c"), a
// hard-linked pair whose names lie in the first and the last group, and
// an unreadable file.
const locked = "src/d07/locked"

func prepareSource(t *testing.T, top string) {
	t.Helper()
	rng := rand.New(rand.NewPCG(1, 2))
	files := tree{}
	for i := range 64 {
		data := make([]byte, 700<<10+i)
		for j := range data {
			data[j] = byte(rng.Uint32())
		}
		files[fmt.Sprintf("src/d%02d/f.bin", i)] = string(data)
		files[fmt.Sprintf("src/d%02d.c", i)] = fmt.Sprintf("/* %d */\n", i)
	}
	files["src/"+strings.Repeat("long-name/", 12)+"deep.c"] = "deep\n"
	write(t, top, files, time.Unix(5, 0))
	for _, link := range []string{"src/a-first", "src/zz-last"} {
		if link == "src/a-first" {
			if err := os.WriteFile(filepath.Join(top, link), []byte("one inode\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if err := os.Link(filepath.Join(top, "src/a-first"), filepath.Join(top, link)); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(top, locked), []byte("mode 000\n"), 0o000); err != nil {
		t.Fatal(err)
	}
}

// checkpointFiles reads every file of a checkpoint directory.
func checkpointFiles(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	files := map[string][]byte{}
	names, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range names {
		if n.IsDir() {
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, n.Name()))
		if err != nil {
			t.Fatal(err)
		}
		files[n.Name()] = b
	}
	return files
}

func sameCheckpoint(t *testing.T, what string, got, want map[string][]byte) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%s: files %v, want %v", what, slices.Sorted(maps.Keys(got)), slices.Sorted(maps.Keys(want)))
	}
	for name, w := range want {
		if !bytes.Equal(got[name], w) {
			t.Errorf("%s: %s differs from the save without Prepare (%d bytes, want %d)", what, name, len(got[name]), len(w))
		}
	}
}

// TestPrepareSameCheckpoint checks that a save that takes what Prepare
// did gives the checkpoint a save without it gives, byte for byte, and
// takes from it only what still holds: a file the build changed after
// Prepare read it is read again, a group Prepare did not finish (killed,
// or a file it could not open) is compressed by the save.
func TestPrepareSameCheckpoint(t *testing.T) {
	base := t.TempDir()
	top := filepath.Join(base, "build")
	prepareSource(t, top)
	snap, err := Take(top, nil)
	if err != nil {
		t.Fatal(err)
	}
	// Changed before Prepare runs (as patchPhase would): Prepare leaves
	// it out as the save does.
	if err := os.WriteFile(filepath.Join(top, "src/d03.c"), []byte("patched\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	prep := filepath.Join(base, "prepared")
	for _, copy := range []bool{true, false} {
		if _, err := Prepare(context.Background(), PrepareOptions{Top: top, Snapshot: snap, Dir: prep + fmt.Sprint(copy), Copy: copy}); err != nil {
			t.Fatal(err)
		}
	}
	always := func(int, int64) bool { return true }
	save := func(name, prepared string, sourceCopy func(int, int64) bool) (map[string][]byte, *Manifest) {
		t.Helper()
		dir := filepath.Join(base, name)
		m, err := Save(SaveOptions{Dir: dir, Name: "pkg", Top: top, Tree: true, Snapshot: snap, SourceCopy: sourceCopy, Prepared: prepared})
		if err != nil {
			t.Fatal(err)
		}
		// Save made the unreadable file readable for a moment, which
		// gave it a new change time: the next save must see it as the
		// build left it, as the only save of a build does.
		fi, err := os.Lstat(filepath.Join(top, locked))
		if err != nil {
			t.Fatal(err)
		}
		snap.Entries[locked] = identify(fi)
		return checkpointFiles(t, dir), m
	}

	want, m := save("plain", "", always)
	if _, ok := want[SourceCopyFile]; !ok || m.Stats.CopyGroups < 5 {
		t.Fatalf("the source copy has %d groups (want 5 or more), files %v", m.Stats.CopyGroups, slices.Sorted(maps.Keys(want)))
	}
	got, m2 := save("prepared", prep+"true", always)
	sameCheckpoint(t, "nothing changed", got, want)
	// All but the group of the unreadable file (which root reads).
	if wantGroups := m.Stats.CopyGroups - 1 + min(1, max(0, 1-os.Geteuid())); m2.Stats.PreparedGroups != wantGroups {
		t.Errorf("took %d of %d groups from Prepare, want all but one", m2.Stats.PreparedGroups, m.Stats.CopyGroups)
	}
	wantDigests, _ := save("plain-digests", "", nil)
	gotDigests, _ := save("prepared-digests", prep+"false", nil)
	sameCheckpoint(t, "digests only", gotDigests, wantDigests)
	gotDigests, _ = save("prepared-for-copy-digests", prep+"true", nil)
	sameCheckpoint(t, "digests of a Prepare that compressed", gotDigests, wantDigests)
	got, m2 = save("digests-for-copy", prep+"false", always)
	sameCheckpoint(t, "a copy from a Prepare that took digests only", got, want)
	if m2.Stats.PreparedGroups != 0 {
		t.Errorf("took %d groups from a Prepare that compressed none", m2.Stats.PreparedGroups)
	}

	// Killed while writing: the last record cut short, frames missing.
	killed := filepath.Join(base, "killed-prepared")
	if err := os.CopyFS(killed, os.DirFS(prep+"true")); err != nil {
		t.Fatal(err)
	}
	index, _ := os.ReadFile(filepath.Join(killed, PreparedIndex))
	lines := bytes.SplitAfter(index, []byte("\n"))
	cut := bytes.Join(lines[:3], nil)
	cut = append(cut, lines[3][:len(lines[3])/2]...)
	if err := os.WriteFile(filepath.Join(killed, PreparedIndex), cut, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(filepath.Join(killed, PreparedFrames), 1<<20); err != nil {
		t.Fatal(err)
	}
	got, m2 = save("killed", killed, always)
	sameCheckpoint(t, "Prepare killed", got, want)
	if m2.Stats.PreparedGroups > 1 {
		t.Errorf("took %d groups from frames cut at 1 MiB", m2.Stats.PreparedGroups)
	}

	// The build changes files after Prepare read them: one rewritten
	// (same size), one removed, one given another mode, and the first
	// name of the hard-linked pair replaced, so that the copy's link moves.
	if err := os.WriteFile(filepath.Join(top, "src/d12.c"), []byte("/* X */\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, err := range []error{
		os.Remove(filepath.Join(top, "src/d20/f.bin")),
		os.Chmod(filepath.Join(top, "src/d30.c"), 0o755),
		os.Remove(filepath.Join(top, "src/a-first")),
		os.WriteFile(filepath.Join(top, "src/a-first"), []byte("one inode\n"), 0o644),
	} {
		if err != nil {
			t.Fatal(err)
		}
	}
	want, m = save("changed-plain", "", always)
	got, m2 = save("changed-prepared", prep+"true", always)
	sameCheckpoint(t, "files changed after Prepare", got, want)
	if m2.Stats.PreparedGroups == 0 || m2.Stats.PreparedGroups > m.Stats.CopyGroups-4 {
		t.Errorf("took %d of %d groups from Prepare after the build changed 4 of them and one was unreadable", m2.Stats.PreparedGroups, m.Stats.CopyGroups)
	}
	wantDigests, _ = save("changed-plain-digests", "", nil)
	gotDigests, _ = save("changed-prepared-digests", prep+"false", nil)
	sameCheckpoint(t, "digests after files changed", gotDigests, wantDigests)

	// A directory the build moves away while Prepare runs, and back (its
	// files keep their identity), and a file of the same group changed
	// later: a group of as many files, other ones.
	away := filepath.Join(top, "src/d40.away")
	if err := os.Rename(filepath.Join(top, "src/d40"), away); err != nil {
		t.Fatal(err)
	}
	if _, err := Prepare(context.Background(), PrepareOptions{Top: top, Snapshot: snap, Dir: prep + "moved", Copy: true}); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(away, filepath.Join(top, "src/d40")); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(top, "src/d41.c"), []byte("/* 41 */\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	want, _ = save("moved-plain", "", always)
	got, _ = save("moved-prepared", prep+"moved", always)
	sameCheckpoint(t, "a directory moved away during Prepare", got, want)
}

// TestPrepareWaitsForTheClock checks that Prepare reads nothing until
// ClockMargin has passed since the newest change time in the snapshot:
// stopped before, it has recorded no group.
func TestPrepareWaitsForTheClock(t *testing.T) {
	top := filepath.Join(t.TempDir(), "build")
	write(t, top, tree{"src/a.c": "a\n"}, time.Unix(5, 0))
	snap, err := Take(top, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), ClockMargin/4)
	defer cancel()
	dir := filepath.Join(t.TempDir(), "prepared")
	st, err := Prepare(ctx, PrepareOptions{Top: top, Snapshot: snap, Dir: dir, Copy: true})
	if err != nil || st.Groups != 0 {
		t.Fatalf("Prepare stopped during the margin: %+v, %v; want no group", st, err)
	}
	st, err = Prepare(context.Background(), PrepareOptions{Top: top, Snapshot: snap, Dir: dir, Copy: true})
	if err != nil || st.Groups != 1 || st.Files != 1 {
		t.Fatalf("Prepare: %+v, %v; want the one group and file", st, err)
	}
}

func TestWalkCompare(t *testing.T) {
	names := []string{"a.c", "a/b", "a", "a/b/c", "a-b", "ab", "a/a"}
	slices.SortFunc(names, walkCompare)
	want := []string{"a", "a/a", "a/b", "a/b/c", "a-b", "a.c", "ab"}
	if !slices.Equal(names, want) {
		t.Fatalf("sorted %v, want %v (walk's order)", names, want)
	}
}

// TestPrepareGroupGivenUp: a file found changed after Prepare read it
// (here: said to be) gives its group up after some of the group's frames
// were written; the next group's frames are recorded where they are, and
// the save gives the checkpoint of a save without Prepare.
func TestPrepareGroupGivenUp(t *testing.T) {
	base := t.TempDir()
	top := filepath.Join(base, "build")
	rng := rand.New(rand.NewPCG(5, 6))
	big := make([]byte, frameSize+frameSize/2) // a group of its own, two frames
	for i := range big {
		big[i] = byte(rng.Uint32())
	}
	write(t, top, tree{"src/a/big.bin": string(big), "src/b.c": "int b;\n", "src/c.c": "int c;\n"}, time.Unix(5, 0))
	snap, err := Take(top, nil)
	if err != nil {
		t.Fatal(err)
	}
	if l := newCopyLayout(snap); l.groups() != 2 || l.files[l.starts[0]].name != "src/a/big.bin" {
		t.Fatalf("layout %+v: want big.bin alone in the first of two groups", l.starts)
	}
	read := prepareRead
	t.Cleanup(func() { prepareRead = read })
	prepareRead = func(p *preparer, w io.Writer, f copyFile, buf []byte) ([]byte, bool) {
		sum, ok := read(p, w, f, buf)
		return sum, ok && f.name != "src/a/big.bin"
	}
	prep := filepath.Join(base, "prepared")
	st, err := Prepare(context.Background(), PrepareOptions{Top: top, Snapshot: snap, Dir: prep, Copy: true})
	if err != nil || st.Groups != 1 {
		t.Fatalf("Prepare: %+v, %v; want the second group only", st, err)
	}
	if fi, err := os.Stat(filepath.Join(prep, PreparedFrames)); err != nil || fi.Size() < frameSize {
		t.Fatalf("the given-up group's frames were not written (%v, %v): the test tests nothing", fi, err)
	}
	always := func(int, int64) bool { return true }
	var files []map[string][]byte
	for _, prepared := range []string{"", prep} {
		dir := filepath.Join(base, "ckpt"+filepath.Base(prepared))
		m, err := Save(SaveOptions{Dir: dir, Name: "pkg", Top: top, Tree: true, Snapshot: snap, SourceCopy: always, Prepared: prepared})
		if err != nil {
			t.Fatal(err)
		}
		if prepared != "" && m.Stats.PreparedGroups != 1 {
			t.Errorf("took %d groups from Prepare, want 1", m.Stats.PreparedGroups)
		}
		files = append(files, checkpointFiles(t, dir))
	}
	sameCheckpoint(t, "a group given up", files[1], files[0])
}
