package checkpoint

import (
	"archive/tar"
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/klauspost/compress/zstd"
)

// TestOutputsPart: a checkpoint with a tree starts its outputs' entries in
// a zstd frame of their own, where the manifest says; decoded from there,
// the archive is a tar stream of exactly the outputs' entries, and a
// restore of the outputs alone gives them back rewritten.
func TestOutputsPart(t *testing.T) {
	base, ckpt := small(t)
	m, err := ReadManifest(ckpt)
	if err != nil {
		t.Fatal(err)
	}
	p := m.OutputsPart
	if p == nil || p.Offset == 0 {
		t.Fatalf("manifest declares outputs part %+v", p)
	}
	data, err := os.ReadFile(filepath.Join(ckpt, ArchiveFile))
	if err != nil {
		t.Fatal(err)
	}
	whole, part := tarNames(t, data), tarNames(t, data[p.Offset:])
	var outputs []string
	for _, n := range whole {
		if strings.HasPrefix(n, "outputs") {
			outputs = append(outputs, n)
		}
	}
	if len(outputs) == 0 || !slices.Equal(part, outputs) || len(part) != p.Entries {
		t.Fatalf("outputs part holds %q (manifest: %d entries); the archive's outputs are %q", part, p.Entries, outputs)
	}
	out := filepath.Join(base, "store", newHash+"-pkg-1.0")
	if _, err := Restore(context.Background(), RestoreOptions{Dir: ckpt, Top: filepath.Join(base, "build2"), Outputs: map[string]string{"out": out}}); err != nil {
		t.Fatal(err)
	}
	if got, want := readFile(t, filepath.Join(out, "share/data")), "in /nix/store/"+newHash+"-pkg-1.0\n"; got != want {
		t.Fatalf("share/data = %q, want %q", got, want)
	}
}

// tarNames lists the entries of the tar stream compressed in data.
func tarNames(t *testing.T, data []byte) []string {
	t.Helper()
	zr, err := zstd.NewReader(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	tr := tar.NewReader(zr)
	var names []string
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			return names
		}
		if err != nil {
			t.Fatalf("decoding the archive: %v", err)
		}
		names = append(names, hdr.Name)
	}
}

func readFile(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestOutputsPartAlone: a restore of the outputs alone reads their part
// of the archive, not the tree's: a tree part that a tree restore refuses
// does not stop it, and the restore of the tree still refuses it.
func TestOutputsPartAlone(t *testing.T) {
	base, ckpt := small(t)
	forgeParts(t, ckpt,
		[]forged{{hdr: &tar.Header{Name: "tree/null", Typeflag: tar.TypeChar, Devmajor: 1, Devminor: 3, Mode: 0o666}}},
		[]forged{dirE("outputs/out", 0o755), reg("outputs/out/data", "in /nix/store/"+oldHash+"-pkg-1.0\n")}, true)
	out := filepath.Join(base, "store", newHash+"-pkg-1.0")
	if err := restoreOutputsHostile(t, base, ckpt); err != nil {
		t.Fatal(err)
	}
	if got, want := readFile(t, filepath.Join(out, "data")), "in /nix/store/"+newHash+"-pkg-1.0\n"; got != want {
		t.Fatalf("data = %q, want %q", got, want)
	}
	if err := os.RemoveAll(out); err != nil {
		t.Fatal(err)
	}
	if err := restoreHostile(t, base, ckpt); !IsCorrupt(err) {
		t.Fatalf("tree restore: %v", err)
	}
}

// TestOutputsPartHostile: what a forged outputs part may hold or declare
// is refused, as a CorruptError, before anything is written.
func TestOutputsPartHostile(t *testing.T) {
	outputs := []forged{dirE("outputs/out", 0o755), reg("outputs/out/data", "data\n")}
	tree := []forged{dirE("tree/src", 0o755), reg("tree/src/gen.h", "gen\n")}
	edit := func(f func(p *Part)) func(t *testing.T, ckpt string) {
		return func(t *testing.T, ckpt string) {
			forgeParts(t, ckpt, tree, outputs, true)
			m, err := ReadManifest(ckpt)
			if err != nil {
				t.Fatal(err)
			}
			f(m.OutputsPart)
			if err := writeManifest(ckpt, m); err != nil {
				t.Fatal(err)
			}
		}
	}
	for _, tt := range []struct {
		name    string
		prepare func(t *testing.T, ckpt string)
	}{
		{"a tree entry in the outputs part", func(t *testing.T, ckpt string) {
			forgeParts(t, ckpt, tree, append(slices.Clone(outputs), reg("tree/src/evil", "pwned")), true)
		}},
		{"a symlink out of the output in the outputs part", func(t *testing.T, ckpt string) {
			forgeParts(t, ckpt, tree, append(slices.Clone(outputs), sym("outputs/out/up", "../../outside"), reg("outputs/out/up/pwned", "pwned")), true)
		}},
		{"offset at the tree part", edit(func(p *Part) { p.Offset = 0 })},
		{"offset inside a frame", edit(func(p *Part) { p.Offset++ })},
		{"more entries than declared", edit(func(p *Part) { p.Entries-- })},
		{"fewer bytes than declared", edit(func(p *Part) { p.Bytes++ })},
		{"offset past the archive", edit(func(p *Part) { p.Offset = 1 << 40 })},
	} {
		t.Run(tt.name, func(t *testing.T) {
			base, ckpt := small(t)
			tt.prepare(t, ckpt)
			err := restoreOutputsHostile(t, base, ckpt)
			if !IsCorrupt(err) && !refused(err) {
				t.Fatalf("Restore: %v", err)
			}
			if _, err := os.Lstat(filepath.Join(base, "pwned")); err == nil {
				t.Fatal("wrote outside")
			}
		})
	}
}

// restoreOutputsHostile restores the outputs alone of the checkpoint
// small made (maybe forged since) and checks that nothing outside the
// new output changed, and that a failed restore left no output.
func restoreOutputsHostile(t *testing.T, base, ckpt string) error {
	t.Helper()
	out := filepath.Join(base, "store", newHash+"-pkg-1.0")
	outside := fingerprint(t, base, "store/"+newHash+"-pkg-1.0")
	_, err := Restore(context.Background(), RestoreOptions{Dir: ckpt, Top: filepath.Join(base, "build2"), Outputs: map[string]string{"out": out}})
	if got := fingerprint(t, base, "store/"+newHash+"-pkg-1.0"); got != outside {
		t.Fatalf("Restore (%v) changed files outside the output", err)
	}
	if _, serr := os.Lstat(out); err != nil && serr == nil {
		t.Fatalf("failed Restore (%v) left the output", err)
	}
	return err
}
