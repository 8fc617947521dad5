package checkpoint

import (
	"archive/tar"
	"bytes"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/klauspost/compress/zstd"
)

// FuzzRestore restores checkpoints whose archive is the fuzzed tar stream
// (compressed here, with a manifest that records its digest, size and
// counts, so that the input reaches extraction) and whose manifest's
// sparse and order sizes are fuzzed too. Whatever it holds, Restore must
// not panic, hang, or change anything outside the build directory and
// the output (restoreHostile checks), and a failed one must leave the
// build directory as it was or emptied.
func FuzzRestore(f *testing.F) {
	for _, seed := range fuzzSeeds() {
		f.Add(seed, int64(0), int64(0))
	}
	// One encoder for every run: building one is the slowest step of a
	// run under the fuzzer's instrumentation.
	enc, err := zstd.NewWriter(nil, zstd.WithEncoderLevel(zstd.SpeedFastest), zstd.WithEncoderConcurrency(1))
	if err != nil {
		f.Fatal(err)
	}
	// One checkpoint to start from, copied for every run: saving one is
	// slow under the fuzzer's instrumentation.
	template, _ := small(f)
	f.Fuzz(func(t *testing.T, tarData []byte, sparse, order int64) {
		base := t.TempDir()
		if err := copyTree(template, base); err != nil {
			t.Fatal(err)
		}
		ckpt := filepath.Join(base, "ckpt")
		data := enc.EncodeAll(tarData, nil)
		rewriteArchive(t, ckpt, data)
		m, err := ReadManifest(ckpt)
		if err != nil {
			t.Fatal(err)
		}
		m.Stats.Entries, m.Stats.Files, m.Stats.Bytes = countTar(tarData)
		// Small enough that a mutated bound does not make each run read
		// gigabytes of holes back; the table tests try the large claims.
		m.Stats.SparseSize, m.OrderSize = sparse&(1<<22-1), order&(1<<20-1)
		if err := writeManifest(ckpt, m); err != nil {
			t.Fatal(err)
		}
		_ = restoreHostile(t, base, ckpt)
		if _, err := os.Lstat(filepath.Join(base, "pwned")); err == nil {
			t.Fatal("wrote outside")
		}
	})
}

// countTar counts the entries, regular files and their bytes in a tar stream, as
// far as it parses.
func countTar(data []byte) (int, int, int64) {
	tr := tar.NewReader(bytes.NewReader(data))
	entries, files, n := 0, 0, int64(0)
	for {
		hdr, err := tr.Next()
		if err != nil {
			return entries, files, n
		}
		entries++
		if hdr.Typeflag == tar.TypeReg {
			files++
			n += hdr.Size
		}
		io.Copy(io.Discard, tr)
	}
}

// fuzzSeeds are tar streams of the table tests' attacks.
func fuzzSeeds() [][]byte {
	other := "../" + otherHash + "-other"
	sets := [][]forged{
		{dirE("outputs/out", 0o755), sym("outputs/out/l", other), reg("outputs/out/l/pwned", "x")},
		{sym("outputs/out", otherHash+"-other"), reg("outputs/out/pwned", "x")},
		{sym("tree/a", "b"), sym("tree/b", ".."), reg("tree/a/pwned", "x")},
		{dirE("tree/d", 0o755), reg("tree/d/x", "1"), sym("tree/d", ".."), reg("tree/d/pwned", "x")},
		{reg("tree/src/gen.h", "/nix/store/"+oldHash+"-pkg-1.0\n"), sym("tree/src/gen.h", "../../pwned")},
		{forged{hdr: &tar.Header{Name: "tree/f", Typeflag: tar.TypeLink, Linkname: "tree/../../pwned"}}},
		{forged{hdr: &tar.Header{Name: "tree/null", Typeflag: tar.TypeChar, Devmajor: 1, Devminor: 3, Mode: 0o666}}},
		{forged{hdr: &tar.Header{Name: "tree/sparse", Typeflag: tar.TypeReg, Mode: 0o644, Size: 1,
			PAXRecords: map[string]string{SparseSizeKey: "1099511627776", SparseMapKey: "0,1"}}}},
		{dirE("tree/x", 0o4777), forged{hdr: &tar.Header{Name: "tree/x", Typeflag: tar.TypeReg, Mode: 0o600}}},
		{forged{hdr: &tar.Header{Name: "tree/fifo", Typeflag: tar.TypeFifo, Mode: 0o644}}, reg("tree/build.ninja", "include fifo\n"), reg("tree/.ninja_log", "# ninja log v5\n")},
		{reg("tree/src/gen.h", "ok /nix/store/"+oldHash+"-pkg-1.0\n"), reg("outputs/out/share/data", "PK\x03\x04 not a zip")},
	}
	var seeds [][]byte
	for _, set := range sets {
		var buf bytes.Buffer
		tw := tar.NewWriter(&buf)
		for _, e := range set {
			tw.WriteHeader(e.hdr)
			if e.hdr.Typeflag == tar.TypeReg {
				body := e.body
				if body == nil {
					body = bytes.Repeat([]byte("x"), int(e.hdr.Size))
				}
				tw.Write(body)
			}
		}
		tw.Close()
		seeds = append(seeds, buf.Bytes())
	}
	return seeds
}

// copyTree copies the tree at src into dst, which exists: directories,
// regular files, symlinks and FIFOs, with modes and modification times.
func copyTree(src, dst string) error {
	var dirs []string
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		to := filepath.Join(dst, rel)
		fi, err := d.Info()
		if err != nil {
			return err
		}
		switch {
		case d.IsDir():
			if rel != "." {
				if err := os.Mkdir(to, 0o700); err != nil {
					return err
				}
			}
			dirs = append(dirs, rel)
			return nil
		case fi.Mode()&fs.ModeSymlink != 0:
			target, err := os.Readlink(p)
			if err != nil {
				return err
			}
			return os.Symlink(target, to)
		case fi.Mode()&fs.ModeNamedPipe != 0:
			if err := syscall.Mkfifo(to, uint32(fi.Mode().Perm())); err != nil {
				return err
			}
		default:
			data, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			if err := os.WriteFile(to, data, 0o600); err != nil {
				return err
			}
		}
		if err := os.Chmod(to, fi.Mode().Perm()); err != nil {
			return err
		}
		return os.Chtimes(to, fi.ModTime(), fi.ModTime())
	})
	if err != nil {
		return err
	}
	for i := len(dirs) - 1; i >= 0; i-- {
		fi, err := os.Stat(filepath.Join(src, dirs[i]))
		if err != nil {
			return err
		}
		to := filepath.Join(dst, dirs[i])
		if err := os.Chmod(to, fi.Mode().Perm()); err != nil {
			return err
		}
		if err := os.Chtimes(to, fi.ModTime(), fi.ModTime()); err != nil {
			return err
		}
	}
	return nil
}
