package checkpoint

import (
	"bytes"
	"context"
	"debug/elf"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// restoreBuilt saves a checkpoint of what build leaves in a build
// directory and an output named with oldHash, and restores it into a
// build directory of the same length and an output named with newHash.
func restoreBuilt(t *testing.T, build func(t *testing.T, top, out string)) (top2, out2 string, res *Result, err error) {
	t.Helper()
	return restoreBuiltTo(t, newHash, build)
}

// restoreBuiltTo is restoreBuilt to an output named with hash.
func restoreBuiltTo(t *testing.T, hash string, build func(t *testing.T, top, out string)) (top2, out2 string, res *Result, err error) {
	t.Helper()
	return restoreBuiltWith(t, hash, RestoreOptions{}, build)
}

// restoreBuiltWith is restoreBuiltTo with the options of opts other than
// the directories and outputs.
func restoreBuiltWith(t *testing.T, hash string, opts RestoreOptions, build func(t *testing.T, top, out string)) (top2, out2 string, res *Result, err error) {
	t.Helper()
	base := t.TempDir()
	top, ckpt := filepath.Join(base, "build1"), filepath.Join(base, "ckpt")
	out := filepath.Join(base, "store", oldHash+"-pkg-1.0")
	src := tree{"src/README": "source\n"}
	write(t, top, src, time.Unix(1, 0))
	if err := os.MkdirAll(out, 0o755); err != nil {
		t.Fatal(err)
	}
	snap, err := Take(top, nil)
	if err != nil {
		t.Fatal(err)
	}
	build(t, top, out)
	if _, err := Save(SaveOptions{Dir: ckpt, Name: "pkg-1.0", Top: top, Tree: true, Snapshot: snap, Outputs: map[string]string{"out": out}}); err != nil {
		t.Fatal(err)
	}
	top2, out2 = filepath.Join(base, "build2"), filepath.Join(base, "store", hash+"-pkg-1.0")
	write(t, top2, src, time.Unix(1, 0))
	opts.Dir, opts.Top, opts.Tree, opts.Outputs = ckpt, top2, true, map[string]string{"out": out2}
	res, err = Restore(context.Background(), opts)
	return top2, out2, res, err
}

// need skips the test if a program is missing.
func need(t *testing.T, tools ...string) {
	t.Helper()
	for _, tool := range tools {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s is not installed", tool)
		}
	}
}

// sh runs a shell command in dir and returns its output.
func sh(t *testing.T, dir, script string, env ...string) string {
	t.Helper()
	cmd := exec.Command("sh", "-ec", script)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s: %v\n%s", script, err, out)
	}
	return string(out)
}

func mustRestore(t *testing.T, build func(t *testing.T, top, out string)) (string, string, *Result) {
	t.Helper()
	top2, out2, res, err := restoreBuilt(t, build)
	if err != nil {
		t.Fatal(err)
	}
	return top2, out2, res
}

// TestRestoreChecksums writes checksum lists with the real tools over a
// file that names $out, restores, and has the tools check them: a
// SHA256SUMS and an MD5SUMS in the output, a Python RECORD (URL-safe
// base64 without padding) that also covers SHA256SUMS, so the digests of a
// file changed by the first replacement are replaced in turn.
func TestRestoreChecksums(t *testing.T) {
	need(t, "sha256sum", "md5sum", "python3")
	_, out2, res := mustRestore(t, func(t *testing.T, top, out string) {
		os.MkdirAll(filepath.Join(out, "share"), 0o755)
		os.WriteFile(filepath.Join(out, "share/config.h"), []byte("#define PREFIX \""+out+"\"\n"), 0o644)
		os.WriteFile(filepath.Join(out, "share/plain.txt"), []byte("no store path\n"), 0o644)
		sh(t, out, "sha256sum share/config.h share/plain.txt > SHA256SUMS; md5sum share/config.h > MD5SUMS")
		sh(t, out, `python3 - <<'EOF'
import base64, hashlib
with open("RECORD", "w") as r:
    for f in ["share/config.h", "SHA256SUMS", "share/plain.txt"]:
        d = open(f, "rb").read()
        h = base64.urlsafe_b64encode(hashlib.sha256(d).digest()).rstrip(b"=").decode()
        r.write("%s,sha256=%s,%d\n" % (f, h, len(d)))
EOF`)
	})
	sh(t, out2, "sha256sum -c SHA256SUMS && md5sum -c MD5SUMS")
	sh(t, out2, `python3 - <<'EOF'
import base64, hashlib, sys
for line in open("RECORD"):
    f, h, n = line.strip().rsplit(",", 2)
    d = open(f, "rb").read()
    want = "sha256=" + base64.urlsafe_b64encode(hashlib.sha256(d).digest()).rstrip(b"=").decode()
    if h != want or int(n) != len(d):
        sys.exit("RECORD is wrong for " + f)
EOF`)
	if res.Digests != 3 {
		t.Errorf("digests replaced in %d files, want 3 (SHA256SUMS, MD5SUMS, RECORD)", res.Digests)
	}
}

// TestRestoreRareChecksums: b2sum, sha384sum and sha224sum lists of a
// file that names $out are checked by the tools after a restore.
func TestRestoreRareChecksums(t *testing.T) {
	need(t, "b2sum", "sha384sum", "sha224sum")
	_, out2, res := mustRestore(t, func(t *testing.T, top, out string) {
		os.MkdirAll(filepath.Join(out, "share"), 0o755)
		os.WriteFile(filepath.Join(out, "share/config.h"), []byte("#define PREFIX \""+out+"\"\n"), 0o644)
		sh(t, out, "b2sum share/config.h > B2SUMS; b2sum -l 256 share/config.h > B2SUMS-256; sha384sum share/config.h > SHA384SUMS; sha224sum share/config.h > SHA224SUMS")
	})
	sh(t, out2, "b2sum -c B2SUMS && b2sum -c B2SUMS-256 && sha384sum -c SHA384SUMS && sha224sum -c SHA224SUMS")
	if res.Digests != 4 {
		t.Errorf("digests replaced in %d files, want 4", res.Digests)
	}
}

// TestRestorePyc compiles bytecode as py_compile does in a Nix build
// (hash-based) and the timestamp kind, restores, and has Python import
// both with --check-hash-based-pycs always, from a read-only cache: it must
// use the bytecode and print the rewritten path.
func TestRestorePyc(t *testing.T) {
	need(t, "python3")
	modes := []string{"CHECKED_HASH", "UNCHECKED_HASH", "TIMESTAMP"}
	_, out2, res := mustRestore(t, func(t *testing.T, top, out string) {
		for _, m := range modes {
			d := filepath.Join(out, "lib", strings.ToLower(m))
			os.MkdirAll(d, 0o755)
			os.WriteFile(filepath.Join(d, "mod.py"), []byte("print('"+out+"')\n"), 0o644)
			sh(t, d, "python3 -c 'import py_compile as p; p.compile(\"mod.py\", invalidation_mode=p.PycInvalidationMode."+m+")'")
		}
	})
	if res.Pycs != 2 {
		t.Errorf("fixed %d .pyc files, want 2", res.Pycs)
	}
	for _, m := range modes {
		d := filepath.Join(out2, "lib", strings.ToLower(m))
		os.Chmod(filepath.Join(d, "__pycache__"), 0o555)
		t.Cleanup(func() { os.Chmod(filepath.Join(d, "__pycache__"), 0o755) })
		cmd := exec.Command("python3", "-v", "--check-hash-based-pycs", "always", "-c", "import mod")
		cmd.Dir = d
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		stdout, err := cmd.Output()
		if err != nil || strings.TrimSpace(string(stdout)) != out2 {
			t.Errorf("%s: printed %q, %v", m, stdout, err)
		}
		if !strings.Contains(stderr.String(), "# code object from '"+filepath.Join(d, "__pycache__")) {
			t.Errorf("%s: python did not use the bytecode", m)
		}
	}
}

// TestRestoreDebugLink splits a program's debug information as
// separateDebugInfo does, during the build, and lists the stripped program
// in a SHA256SUMS: after the restore gdb loads the symbols through the
// link (it checks the CRC), and sha256sum -c accepts the list, which
// covers a file changed by the CRC fix.
func TestRestoreDebugLink(t *testing.T) {
	need(t, "gcc", "objcopy", "gdb", "sha256sum")
	_, out2, res := mustRestore(t, func(t *testing.T, top, out string) {
		os.MkdirAll(filepath.Join(out, "bin"), 0o755)
		os.WriteFile(filepath.Join(top, "p.c"), []byte("#define PREFIX \""+out+"\"\nconst char *p = PREFIX;\nint main(void) { return p[0] == 0; }\n"), 0o644)
		sh(t, top, "gcc -g3 -o "+out+"/bin/p p.c")
		sh(t, out, "objcopy --only-keep-debug bin/p bin/p.debug && objcopy --strip-debug --add-gnu-debuglink=bin/p.debug bin/p && sha256sum bin/p > SHA256SUMS")
	})
	gdb := exec.Command("gdb", "-batch", "-nx", "-ex", "info macro PREFIX", "-ex", "list main", "bin/p")
	gdb.Dir = out2
	got, _ := gdb.CombinedOutput()
	if bytes.Contains(got, []byte("CRC mismatch")) || !bytes.Contains(got, []byte(out2)) {
		t.Errorf("gdb did not load the rewritten debug file:\n%s", got)
	}
	sh(t, out2, "sha256sum -c SHA256SUMS")
	if res.DebugLinks != 1 {
		t.Errorf("%d debuglinks fixed, want 1", res.DebugLinks)
	}
}

// TestRestoreCompressed: a gzipped intermediate in the build tree (as
// gfortran's .mod files) that names $out does not fail the restore; it is
// recorded, left as the checkpoint held it, and Scan fails an output that
// contains it. The same file among the outputs fails the restore.
func TestRestoreCompressed(t *testing.T) {
	need(t, "gzip", "lz4")
	top2, out2, res := mustRestore(t, func(t *testing.T, top, out string) {
		sh(t, top, "echo 'module parameter: "+out+"' | gzip -n > m.mod; echo "+out+" | lz4 -q > early.lz4")
	})
	if len(res.Unrewritable) != 2 {
		t.Fatalf("unrewritable = %v, want m.mod and early.lz4", res.Unrewritable)
	}
	// early.lz4 holds its hash as a literal; put back as it was, it is
	// still valid (the rewrite in place broke its checksum).
	sh(t, top2, "lz4 -t early.lz4 && gzip -t m.mod")
	old, err := EarlierHashes(filepath.Join(filepath.Dir(filepath.Dir(out2)), "ckpt"))
	if err != nil || len(old) != 1 || old[0] != oldHash {
		t.Fatalf("EarlierHashes = %v, %v", old, err)
	}
	if err := Scan(context.Background(), []string{out2}, old); err != nil {
		t.Fatalf("Scan of outputs without the intermediate: %v", err)
	}
	sh(t, top2, "cp m.mod early.lz4 "+out2)
	err = Scan(context.Background(), []string{out2}, old)
	if err == nil || !strings.Contains(err.Error(), "m.mod") || !strings.Contains(err.Error(), "early.lz4") {
		t.Errorf("Scan = %v, want both files named", err)
	}

	_, _, _, err = restoreBuilt(t, func(t *testing.T, top, out string) {
		sh(t, out, "echo "+out+" | gzip -n > name.gz")
	})
	if err == nil || !strings.Contains(err.Error(), "name.gz") || !strings.Contains(err.Error(), "inside compressed data") {
		t.Errorf("restore of an output with a hash inside gzip data: %v", err)
	}
}

// TestRestoreSeed compiles with nixpkgs' -frandom-seed (the first ten
// characters of $out's hash): after the restore the object is byte for
// byte the one compiled with the new seed, producer string included.
func TestRestoreSeed(t *testing.T) {
	need(t, "gcc", "readelf")
	top2, _, _ := mustRestore(t, func(t *testing.T, top, out string) {
		os.WriteFile(filepath.Join(top, "p.c"), []byte("int f(void) { return 1; }\n"), 0o644)
		sh(t, top, "gcc -g -O2 -frandom-seed="+oldHash[:10]+" -c p.c -o p.o")
	})
	sh(t, top2, "gcc -g -O2 -frandom-seed="+newHash[:10]+" -c p.c -o direct.o")
	got, _ := os.ReadFile(filepath.Join(top2, "p.o"))
	want, _ := os.ReadFile(filepath.Join(top2, "direct.o"))
	if !bytes.Equal(got, want) {
		t.Error("the restored object differs from one compiled with the new seed")
	}
	if info := sh(t, top2, "readelf --debug-dump=info p.o"); !strings.Contains(info, "-frandom-seed="+newHash[:10]) {
		t.Errorf("producer string without the new seed:\n%s", info)
	}
}

// TestRestoreSeedLTO shows the Limit: under -flto GCC names the LTO
// sections after a number it derives from the seed, which no rewrite of
// the seed's text maps.
func TestRestoreSeedLTO(t *testing.T) {
	need(t, "gcc", "readelf")
	top2, _, _ := mustRestore(t, func(t *testing.T, top, out string) {
		os.WriteFile(filepath.Join(top, "p.c"), []byte("int f(void) { return 1; }\n"), 0o644)
		sh(t, top, "gcc -O2 -flto -frandom-seed="+oldHash[:10]+" -c p.c -o p.o")
	})
	sh(t, top2, "gcc -O2 -flto -frandom-seed="+newHash[:10]+" -c p.c -o direct.o")
	names := func(f string) string {
		var out []string
		for _, l := range strings.Fields(sh(t, top2, "readelf -SW "+f)) {
			if strings.HasPrefix(l, ".gnu.lto_.decls.") {
				out = append(out, l)
			}
		}
		return strings.Join(out, " ")
	}
	if a, b := names("p.o"), names("direct.o"); a == "" || a == b {
		t.Errorf("LTO section names %q and %q: expected them to differ (docs/design.md's Limits says they do)", a, b)
	}
}

// TestRestoreGoBinary: a Go program linked with -X main.prefix=$out runs
// after the restore and prints the new path; its Go build ID (and the GNU
// build-id the Go linker derives from it) stays, with a warning.
func TestRestoreGoBinary(t *testing.T) {
	need(t, "go")
	_, out2, res := mustRestore(t, func(t *testing.T, top, out string) {
		os.WriteFile(filepath.Join(top, "main.go"), []byte("package main\n\nvar prefix string\n\nfunc main() { println(prefix) }\n"), 0o644)
		os.WriteFile(filepath.Join(top, "go.mod"), []byte("module p\n\ngo 1.22\n"), 0o644)
		sh(t, top, "go build -ldflags '-X main.prefix="+out+" -B gobuildid' -o "+out+"/bin/p .", "GOFLAGS=-mod=mod", "CGO_ENABLED=0", "GOCACHE="+filepath.Join(top, ".cache"))
	})
	if got := strings.TrimSpace(sh(t, out2, "bin/p")); got != out2 {
		t.Errorf("the program printed %q, want %q", got, out2)
	}
	warned := false
	for _, w := range res.Warnings {
		warned = warned || strings.Contains(w, "bin/p") && strings.Contains(w, "build-id")
	}
	if !warned {
		t.Errorf("no warning about the Go binary's build ID: %v", res.Warnings)
	}
}

// TestRestoreCompressedInContainers puts a store hash inside compressed
// data that an uncompressed container holds: a .gz member of a plain tar,
// and a zTXt chunk of a PNG image. Both are refused in an output, naming
// the file; the tar's plain member is rewritten as usual.
func TestRestoreCompressedInContainers(t *testing.T) {
	need(t, "gzip", "tar", "python3")
	_, _, _, err := restoreBuilt(t, func(t *testing.T, top, out string) {
		sh(t, top, "mkdir d; echo "+out+" | gzip -n > d/inner.gz; echo "+out+" > d/plain.txt; tar -cf "+out+"/bundle.tar d")
	})
	if err == nil || !strings.Contains(err.Error(), "bundle.tar") || !strings.Contains(err.Error(), "d/inner.gz") {
		t.Errorf("restore of a tar with a gzipped member naming $out: %v", err)
	}
	_, out2, _ := mustRestore(t, func(t *testing.T, top, out string) {
		sh(t, top, "echo "+out+" > d.txt; tar -cf "+out+"/plain.tar d.txt")
	})
	if got := sh(t, out2, "tar -xOf plain.tar d.txt"); !strings.Contains(got, newHash) {
		t.Errorf("the plain tar member reads %q", got)
	}
	_, _, _, err = restoreBuilt(t, func(t *testing.T, top, out string) {
		sh(t, out, `python3 - <<'EOF'
import struct, zlib
def chunk(t, d):
    return struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d))
ihdr = struct.pack(">IIBBBBB", 1, 1, 8, 0, 0, 0, 0)
ztxt = b"Comment\0\0" + zlib.compress(b"installed in `+out+`")
png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"zTXt", ztxt) + chunk(b"IDAT", zlib.compress(b"\0\0")) + chunk(b"IEND", b"")
open("image.png", "wb").write(png)
EOF`)
	})
	if err == nil || !strings.Contains(err.Error(), "image.png") || !strings.Contains(err.Error(), "zTXt") {
		t.Errorf("restore of a PNG with a compressed text chunk naming $out: %v", err)
	}
}

// gnuBuildID returns the GNU build-id of the ELF file at path.
func gnuBuildID(t *testing.T, path string) []byte {
	t.Helper()
	f, err := elf.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	s := f.Section(".note.gnu.build-id")
	if s == nil {
		t.Fatalf("%s has no .note.gnu.build-id", path)
	}
	note, err := s.Data()
	if err != nil {
		t.Fatal(err)
	}
	// namesz, descsz, type, then "GNU\0" and the id.
	if len(note) < 16 || string(note[12:16]) != "GNU\x00" {
		t.Fatalf("%s: unexpected build-id note %x", path, note)
	}
	n := f.ByteOrder.Uint32(note[4:8])
	return note[16 : 16+n]
}

// TestRestoreSkipBuildIDs links a program that names $out with a build-id
// and restores it twice: by default its build-id is the one ld gives the
// program linked with the new path; with Skip: BuildIDs it keeps the one
// the checkpoint held, the path rewritten all the same.
func TestRestoreSkipBuildIDs(t *testing.T) {
	need(t, "gcc")
	src := func(out string) string {
		return "#define PREFIX \"" + out + "\"\nconst char *p = PREFIX;\nint main(void) { return p[0] == 0; }\n"
	}
	var saved []byte
	build := func(t *testing.T, top, out string) {
		os.MkdirAll(filepath.Join(out, "bin"), 0o755)
		os.WriteFile(filepath.Join(top, "p.c"), []byte(src(out)), 0o644)
		sh(t, top, "gcc -O2 -Wl,--build-id=sha1 -o "+out+"/bin/p p.c")
		saved = gnuBuildID(t, filepath.Join(out, "bin/p"))
	}
	for _, tc := range []struct {
		name      string
		skip      Fixups
		recompute bool
	}{
		{"default", 0, true},
		{"skip", BuildIDs, false},
		{"skip others", AllFixups &^ BuildIDs, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			top2, out2, res, err := restoreBuiltWith(t, newHash, RestoreOptions{Skip: tc.skip}, build)
			if err != nil {
				t.Fatal(err)
			}
			bin := filepath.Join(out2, "bin/p")
			data, err := os.ReadFile(bin)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Contains(data, []byte(out2)) {
				t.Fatal("the store path was not rewritten")
			}
			got := gnuBuildID(t, bin)
			if !tc.recompute {
				if !bytes.Equal(got, saved) || res.BuildIDs != 0 {
					t.Errorf("build-id %x (%d recomputed), want the checkpoint's %x", got, res.BuildIDs, saved)
				}
				return
			}
			// The id ld gives the same program linked with the new path
			// (from a p.c too: the symbol table names the source).
			direct := filepath.Join(top2, "direct")
			os.Mkdir(direct, 0o755)
			os.WriteFile(filepath.Join(direct, "p.c"), []byte(src(out2)), 0o644)
			sh(t, direct, "gcc -O2 -Wl,--build-id=sha1 -o p p.c")
			want := gnuBuildID(t, filepath.Join(direct, "p"))
			if bytes.Equal(got, saved) || !bytes.Equal(got, want) || res.BuildIDs != 1 {
				t.Errorf("build-id %x (%d recomputed), want %x (the checkpoint held %x)", got, res.BuildIDs, want, saved)
			}
		})
	}
}

func TestRestoreSkipUnknown(t *testing.T) {
	_, _, _, err := restoreBuiltWith(t, newHash, RestoreOptions{Skip: AllFixups + 1}, func(*testing.T, string, string) {})
	if err == nil || !strings.Contains(err.Error(), "unknown fix-ups") {
		t.Errorf("Skip with an unknown bit: %v", err)
	}
}

func TestFixupsString(t *testing.T) {
	for f, want := range map[Fixups]string{
		0:                    "none",
		BuildIDs:             "BuildIDs",
		BuildIDs | NinjaLogs: "BuildIDs|NinjaLogs",
		AllFixups:            "BuildIDs|Checksums|Pycs|DebugLinks|Digests|NinjaLogs",
		Digests | 1<<10:      "Digests|0x400",
	} {
		if got := f.String(); got != want {
			t.Errorf("Fixups(%#x).String() = %q, want %q", uint(f), got, want)
		}
	}
}
