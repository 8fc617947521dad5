package checkpoint

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/klauspost/compress/zstd"

	"github.com/nix-vanilla/nix-vanilla/pkg/storepath"
)

// small saves a checkpoint of a small build: src/untouched pristine, one
// generated file naming the output, and an output.
func small(t testing.TB) (base, ckpt string) {
	t.Helper()
	base = t.TempDir()
	top, ckpt := filepath.Join(base, "build1"), filepath.Join(base, "ckpt")
	write(t, top, source, time.Unix(1, 0))
	snap, err := Take(top, nil)
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(base, "store", oldHash+"-pkg-1.0")
	write(t, top, tree{"src/gen.h": "/nix/store/" + oldHash + "-pkg-1.0\n"}, time.Unix(2, 0))
	write(t, out, tree{"share/data": "in /nix/store/" + oldHash + "-pkg-1.0\n"}, time.Unix(2, 0))
	if _, err := Save(SaveOptions{Dir: ckpt, Name: "pkg-1.0", Top: top, Tree: true, Snapshot: snap,
		Outputs: map[string]string{"out": out}}); err != nil {
		t.Fatal(err)
	}
	// What lies outside the roots of a restore into build2 and the new
	// output: another store path, and files next to the build directory.
	write(t, base, tree{
		"store/" + otherHash + "-other/file": "another store path\n",
		"outside/file":                       "outside\n",
		"outside/dir/":                       "",
	}, time.Unix(3, 0))
	os.Chmod(filepath.Join(base, "outside/file"), 0o444)
	if err := syscall.Mkfifo(filepath.Join(base, "outside/fifo"), 0o644); err != nil {
		t.Fatal(err)
	}
	write(t, filepath.Join(base, "build2"), source, time.Unix(1, 0))
	return base, ckpt
}

const otherHash = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"

// fingerprint summarises everything under dir but the paths skip names:
// names, types, modes, sizes, contents, link targets.
func fingerprint(t testing.TB, dir string, skip ...string) string {
	t.Helper()
	h := sha256.New()
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		for _, s := range skip {
			if rel == s {
				return filepath.SkipDir
			}
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		// Directories' times change when a restore creates its output in
		// the store directory: not counted.
		mtime := fi.ModTime().UnixNano()
		if fi.IsDir() {
			mtime = 0
		}
		h.Write([]byte(rel + "\x00" + fi.Mode().String() + "\x00" + strconv.FormatInt(mtime, 10) + "\x00"))
		switch {
		case fi.Mode()&fs.ModeSymlink != 0:
			l, _ := os.Readlink(p)
			h.Write([]byte(l))
		case fi.Mode().IsRegular():
			data, _ := os.ReadFile(p)
			h.Write(data)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// restoreHostile restores ckpt into build2 and the new output, and checks
// that nothing outside them changed and that a failed restore left the
// build directory either as it was or emptied (Nix's files aside) and no
// output.
func restoreHostile(t testing.TB, base, ckpt string) error {
	t.Helper()
	top := filepath.Join(base, "build2")
	out := filepath.Join(base, "store", newHash+"-pkg-1.0")
	outside := fingerprint(t, base, "build2", "store/"+newHash+"-pkg-1.0")
	before := fingerprint(t, top)
	done := make(chan error, 1)
	go func() {
		_, err := Restore(context.Background(), RestoreOptions{Dir: ckpt, Top: top, Tree: true,
			Outputs: map[string]string{"out": out}, Keep: func(n string) bool { return n == ".hook" }})
		done <- err
	}()
	var err error
	select {
	case err = <-done:
	case <-time.After(hangAfter):
		t.Fatal("Restore hangs")
	}
	if got := fingerprint(t, base, "build2", "store/"+newHash+"-pkg-1.0"); got != outside {
		t.Fatalf("Restore (%v) changed files outside its roots", err)
	}
	if err != nil {
		names, _ := readNames(top)
		emptied := true
		for _, n := range names {
			emptied = emptied && (NixFile(n) || n == ".hook")
		}
		if got := fingerprint(t, top); got != before && !emptied {
			t.Fatalf("failed Restore (%v) left the build directory changed and not empty: %v", err, names)
		}
		if _, serr := os.Lstat(out); serr == nil {
			t.Fatalf("failed Restore (%v) left the output", err)
		}
	}
	return err
}

func isNotRegular(err error) bool { var nr *NotRegularError; return errors.As(err, &nr) }

// refused says err is a refusal to follow or reuse a replaced name.
func refused(err error) bool {
	return isNotRegular(err) || err != nil && (strings.Contains(err.Error(), "was replaced after") || strings.Contains(err.Error(), "path escapes"))
}

// forgePristine replaces the checkpoint's pristine list by lines.
func forgePristine(t testing.TB, ckpt string, count int, lines ...string) {
	t.Helper()
	var raw bytes.Buffer
	for _, l := range lines {
		raw.WriteString(l + "\n")
	}
	enc, _ := zstd.NewWriter(nil)
	if err := os.WriteFile(filepath.Join(ckpt, PristineFile), enc.EncodeAll(raw.Bytes(), nil), 0o644); err != nil {
		t.Fatal(err)
	}
	m, err := ReadManifest(ckpt)
	if err != nil {
		t.Fatal(err)
	}
	m.PristineSize, m.Stats.Pristine = int64(raw.Len()), count
	if err := writeManifest(ckpt, m); err != nil {
		t.Fatal(err)
	}
}

func reg(name, body string) forged {
	return forged{hdr: &tar.Header{Name: name, Typeflag: tar.TypeReg, Mode: 0o644, Size: int64(len(body))}, body: []byte(body)}
}

func sym(name, target string) forged {
	return forged{hdr: &tar.Header{Name: name, Typeflag: tar.TypeSymlink, Linkname: target, Mode: 0o777}}
}

func dirE(name string, mode int64) forged {
	return forged{hdr: &tar.Header{Name: name, Typeflag: tar.TypeDir, Mode: mode}}
}

// TestRestoreHostile restores forged checkpoints: each is refused, and
// nothing outside the build directory and the output changes.
func TestRestoreHostile(t *testing.T) {
	other := "../" + otherHash + "-other"
	tests := []struct {
		name    string
		prepare func(t *testing.T, base, ckpt string)
		check   func(error) bool
	}{
		{"output symlink to a sibling store path", func(t *testing.T, base, ckpt string) {
			forgeWith(t, ckpt, dirE("outputs/out", 0o755), sym("outputs/out/l", other), reg("outputs/out/l/file", "pwned"))
		}, isNotRegular},
		{"output itself a symlink", func(t *testing.T, base, ckpt string) {
			forgeWith(t, ckpt, sym("outputs/out", otherHash+"-other"), reg("outputs/out/file", "pwned"))
		}, isNotRegular},
		{"tree symlink chain", func(t *testing.T, base, ckpt string) {
			forgeWith(t, ckpt, sym("tree/a", "b"), sym("tree/b", filepath.Join(base, "outside")), reg("tree/a/file", "pwned"))
		}, isNotRegular},
		{"directory swapped for a symlink", func(t *testing.T, base, ckpt string) {
			forgeWith(t, ckpt, dirE("tree/d", 0o755), reg("tree/d/x", "1"), sym("tree/d", filepath.Join(base, "outside/dir")), reg("tree/d/y", "pwned"))
		}, isNotRegular},
		{"file swapped for a symlink before the passes", func(t *testing.T, base, ckpt string) {
			forgeWith(t, ckpt, reg("tree/src/gen.h", "/nix/store/"+oldHash+"-pkg-1.0\n"), sym("tree/src/gen.h", filepath.Join(base, "outside/file")))
		}, refused},
		{"file swapped for a symlink inside the tree", func(t *testing.T, base, ckpt string) {
			forgeWith(t, ckpt, reg("tree/src/gen.h", "/nix/store/"+oldHash+"-pkg-1.0\n"), sym("tree/src/gen.h", "untouched"))
		}, refused},
		{"hard link to a FIFO outside", func(t *testing.T, base, ckpt string) {
			forgeWith(t, ckpt, forged{hdr: &tar.Header{Name: "tree/f", Typeflag: tar.TypeLink, Linkname: "tree/../../outside/fifo"}})
		}, IsCorrupt},
		{"device node", func(t *testing.T, base, ckpt string) {
			forgeWith(t, ckpt, forged{hdr: &tar.Header{Name: "tree/null", Typeflag: tar.TypeChar, Devmajor: 1, Devminor: 3, Mode: 0o666}})
		}, IsCorrupt},
		{"pristine path outside", func(t *testing.T, base, ckpt string) {
			forgePristine(t, ckpt, 1, `{"p":"../outside/file","s":8,"m":420,"t":0,"d":""}`)
		}, IsCorrupt},
		{"empty pristine list", func(t *testing.T, base, ckpt string) {
			forgePristine(t, ckpt, 1)
		}, IsCorrupt},
		{"huge JSON string in the pristine list", func(t *testing.T, base, ckpt string) {
			forgePristine(t, ckpt, 1, `{"p":"`+strings.Repeat("a", 8<<20)+`"}`)
		}, IsCorrupt},
		{"sparse entry declaring 1 TiB", func(t *testing.T, base, ckpt string) {
			forgeWith(t, ckpt, forged{hdr: &tar.Header{Name: "tree/sparse", Typeflag: tar.TypeReg, Mode: 0o644, Size: 1,
				PAXRecords: map[string]string{SparseSizeKey: strconv.FormatInt(1<<40, 10), SparseMapKey: "0,1"}}})
		}, IsCorrupt},
		{"entry larger than the manifest declares", func(t *testing.T, base, ckpt string) {
			forgeWith(t, ckpt, reg("tree/big", strings.Repeat("z", 1<<16)))
			m, _ := ReadManifest(ckpt)
			m.Stats.Bytes = 10
			writeManifest(ckpt, m)
		}, IsCorrupt},
		{"compression bomb in an output", func(t *testing.T, base, ckpt string) {
			// A jar that names the old output (so it is rewritten and
			// its compressed members looked into) and holds a member
			// that inflates to far more than the checkpoint holds.
			var b bytes.Buffer
			zw := zip.NewWriter(&b)
			w, _ := zw.Create("/nix/store/" + oldHash + "-pkg-1.0/bomb")
			zero := make([]byte, 1<<20)
			for range 400 {
				w.Write(zero)
			}
			zw.Close()
			forgeWith(t, ckpt, dirE("outputs/out", 0o755), reg("outputs/out/a.jar", b.String()))
		}, func(err error) bool { var be *storepath.BudgetError; return errors.As(err, &be) }},
		{"more entries than the manifest declares", func(t *testing.T, base, ckpt string) {
			forgeWith(t, ckpt, dirE("tree/a", 0o755), dirE("tree/b", 0o755))
			m, _ := ReadManifest(ckpt)
			m.Stats.Entries = 1
			writeManifest(ckpt, m)
		}, IsCorrupt},
		{"an entry under a kept name", func(t *testing.T, base, ckpt string) {
			forgeWith(t, ckpt, dirE("tree/.hook", 0o755), reg("tree/.hook/cmdline", "pwned"))
		}, IsCorrupt},
		{"zeros after the archive's end", func(t *testing.T, base, ckpt string) {
			zerosAfter(t, ckpt, 256<<20)
		}, IsCorrupt},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			base, ckpt := small(t)
			tt.prepare(t, base, ckpt)
			if err := restoreHostile(t, base, ckpt); !tt.check(err) {
				t.Fatalf("Restore: %v", err)
			}
		})
	}
}

// zerosAfter appends n zero bytes to the tar stream inside the archive, in
// a valid zstd frame, and updates the manifest.
func zerosAfter(t testing.TB, ckpt string, n int) {
	t.Helper()
	p := filepath.Join(ckpt, ArchiveFile)
	enc, _ := zstd.NewWriter(nil, zstd.WithEncoderLevel(zstd.SpeedFastest))
	frame := enc.EncodeAll(make([]byte, n), nil)
	data, _ := os.ReadFile(p)
	data = append(data, frame...)
	rewriteArchive(t, ckpt, data)
}

// rewriteArchive replaces the archive by data, with a manifest that
// records its digest and size, so that only what is inside can tell.
func rewriteArchive(t testing.TB, ckpt string, data []byte) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(ckpt, ArchiveFile), data, 0o644); err != nil {
		t.Fatal(err)
	}
	m, err := ReadManifest(ckpt)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(data)
	m.Archive, m.Stats.Compressed = hex.EncodeToString(sum[:]), int64(len(data))
	m.OutputsPart = nil // data is one tar stream
	if err := writeManifest(ckpt, m); err != nil {
		t.Fatal(err)
	}
}

// TestRestoreModes: setuid and setgid bits are dropped, world-write kept,
// and a directory's mode does not go to a later file of its name.
func TestRestoreModes(t *testing.T) {
	base, ckpt := small(t)
	forgeWith(t, ckpt,
		forged{hdr: &tar.Header{Name: "tree/suid", Typeflag: tar.TypeReg, Mode: 0o4755}},
		forged{hdr: &tar.Header{Name: "tree/ww", Typeflag: tar.TypeReg, Mode: 0o666}},
		dirE("tree/sgid-dir", 0o2777),
		dirE("tree/x", 0o777),
		forged{hdr: &tar.Header{Name: "tree/x", Typeflag: tar.TypeReg, Mode: 0o600}},
		reg("tree/target", "t"),
		dirE("tree/y", 0o777),
		sym("tree/y", "target"),
	)
	if err := restoreHostile(t, base, ckpt); err != nil {
		t.Fatal(err)
	}
	top := filepath.Join(base, "build2")
	for name, want := range map[string]fs.FileMode{"suid": 0o755, "ww": 0o666, "sgid-dir": fs.ModeDir | 0o777, "x": 0o600, "target": 0o644} {
		fi, err := os.Lstat(filepath.Join(top, name))
		if err != nil || fi.Mode() != want {
			t.Errorf("%s: mode %v (%v), want %v", name, fi.Mode(), err, want)
		}
	}
}

// TestRestoreDamage damages the archive at its frame boundaries and
// elsewhere, and truncates it there, with a manifest that matches the
// damaged file: each is reported as a corrupt checkpoint before anything
// is written.
func TestRestoreDamage(t *testing.T) {
	base, ckpt := small(t)
	good, err := os.ReadFile(filepath.Join(ckpt, ArchiveFile))
	if err != nil {
		t.Fatal(err)
	}
	manifest, _ := os.ReadFile(filepath.Join(ckpt, ManifestFile))
	offsets := []int{0, 3, 4, 5, 8, len(good) / 3, len(good) / 2, len(good) - 5, len(good) - 4, len(good) - 1}
	for _, off := range offsets {
		for _, kind := range []string{"flip", "truncate", "flip, digest unchanged"} {
			t.Run(kind+" at "+strconv.Itoa(off), func(t *testing.T) {
				data := bytes.Clone(good)
				switch kind {
				case "truncate":
					data = data[:off]
				default:
					data[off] ^= 0x55
				}
				os.WriteFile(filepath.Join(ckpt, ManifestFile), manifest, 0o644)
				if kind == "flip, digest unchanged" {
					os.WriteFile(filepath.Join(ckpt, ArchiveFile), data, 0o644)
				} else {
					rewriteArchive(t, ckpt, data)
				}
				err := restoreHostile(t, base, ckpt)
				if !IsCorrupt(err) {
					t.Fatalf("Restore: %v, want a corrupt checkpoint", err)
				}
				if !strings.Contains(err.Error(), ckpt) {
					t.Errorf("the error does not name the checkpoint: %v", err)
				}
			})
		}
	}
}

// TestRestoreDeepNesting: restoring nested directories costs time linear
// in their number.
func TestRestoreDeepNesting(t *testing.T) {
	elapsed := func(n int) time.Duration {
		base, ckpt := small(t)
		var entries []forged
		name := "tree/n"
		for range n {
			entries = append(entries, dirE(name, 0o755))
			name += "/n"
		}
		entries = append(entries, reg(name, "deep"))
		forgeWith(t, ckpt, entries...)
		start := time.Now()
		if err := restoreHostile(t, base, ckpt); err != nil {
			t.Fatal(err)
		}
		return time.Since(start)
	}
	small, large := elapsed(600), elapsed(2400)
	if large > 8*small+time.Second {
		t.Errorf("2,400 nested directories took %v, 600 took %v: not linear", large, small)
	}
}

// TestRestoreFailedUndoes: a restore that fails after it started writing
// removes the output it created and empties the build directory but for
// Nix's files.
func TestRestoreFailedUndoes(t *testing.T) {
	base, ckpt := small(t)
	top := filepath.Join(base, "build2")
	os.WriteFile(filepath.Join(top, "env-vars"), []byte("declare -x A=1\n"), 0o644)
	// The hook's work directory (RestoreOptions.Keep) survives too.
	os.Mkdir(filepath.Join(top, ".hook"), 0o755)
	os.WriteFile(filepath.Join(top, ".hook/cmdline"), []byte("bash\x00"), 0o644)
	forgeWith(t, ckpt, dirE("outputs/out", 0o755), reg("outputs/out/f", "x"),
		reg("tree/src/gen.h", "/nix/store/"+oldHash+"-pkg-1.0\n"), sym("tree/src/gen.h", "untouched"))
	if err := restoreHostile(t, base, ckpt); !refused(err) {
		t.Fatalf("Restore: %v", err)
	}
	names, _ := readNames(top)
	if strings.Join(names, ",") != ".hook,env-vars" {
		t.Errorf("build directory holds %v, want .hook and env-vars alone", names)
	}
}

var _ = json.Marshal

// hangAfter is how long restoreHostile waits before it calls a restore
// hung.
var hangAfter = 20 * time.Second
