package checkpoint

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nix-vanilla/nix-vanilla/pkg/codesign"
)

// sumHash has another byte sum than oldHash (newHash is a permutation of
// it, which leaves a tar header checksum unchanged).
const sumHash = "11111111111111111111111111111111"

// pngScript writes a PNG with a tEXt chunk naming its first argument.
const pngScript = `python3 - "$1" "$2" <<'EOF'
import struct, sys, zlib
def chunk(t, d):
    return struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d))
png = (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 0, 0, 0, 0)) +
    chunk(b"tEXt", b"Comment\x00" + sys.argv[1].encode()) +
    chunk(b"IDAT", zlib.compress(b"\x00\x80")) + chunk(b"IEND", b""))
open(sys.argv[2], "wb").write(png)
EOF`

// TestRestoreFormatChecksums makes, during the build, files whose formats
// keep checksums over bytes that name $out: a PNG with a text chunk, an
// uncompressed tar whose member names and data name it (one member a PNG),
// a zip with stored members (one a PNG), and a SHA256SUMS over the tar
// and the zip. After the restore the real tools accept every one of them.
func TestRestoreFormatChecksums(t *testing.T) {
	need(t, "python3", "pngcheck", "tar", "zip", "unzip", "sha256sum")
	_, out2, res, err := restoreBuiltTo(t, sumHash, func(t *testing.T, top, out string) {
		os.MkdirAll(filepath.Join(out, "share"), 0o755)
		os.WriteFile(filepath.Join(out, "share/prefix"), []byte(out+"\n"), 0o644)
		sh(t, out, "set -- "+out+" share/icon.png\n"+pngScript)
		sh(t, out, "tar --format=gnu -cf share/a.tar "+out+"/share/prefix share/icon.png 2>/dev/null")
		sh(t, out, "zip -q0 -X share/a.zip share/prefix share/icon.png")
		sh(t, out, "sha256sum share/a.tar share/a.zip > SHA256SUMS")
	})
	if err != nil {
		t.Fatal(err)
	}
	if res.FormatSums != 3 {
		t.Errorf("checksums recomputed in %d files, want 3 (icon.png, a.tar, a.zip)", res.FormatSums)
	}
	sh(t, out2, "pngcheck -q share/icon.png")
	list := sh(t, out2, "tar -tvf share/a.tar")
	if !strings.Contains(list, sumHash) || strings.Contains(list, oldHash) {
		t.Errorf("tar lists:\n%s", list)
	}
	dir := t.TempDir()
	sh(t, dir, "tar -xf "+out2+"/share/a.tar share/icon.png && pngcheck -q share/icon.png && unzip -q "+out2+"/share/a.zip -d z && pngcheck -q z/share/icon.png")
	sh(t, out2, `unzip -tq share/a.zip && sha256sum -c SHA256SUMS && python3 -c '
import sys, tarfile, zipfile
[m.name for m in tarfile.open("share/a.tar", errorlevel=2)]
sys.exit(zipfile.ZipFile("share/a.zip").testzip())'`)
}

// TestRestoreDeflatedZip: a deflated zip member that names $out cannot be
// recompressed exactly, and fails the restore naming the file.
func TestRestoreDeflatedZip(t *testing.T) {
	need(t, "zip")
	_, _, _, err := restoreBuilt(t, func(t *testing.T, top, out string) {
		os.WriteFile(filepath.Join(out, "prefix"), []byte(strings.Repeat(out+"\n", 20)), 0o644)
		sh(t, out, "zip -q9 -X a.jar prefix")
	})
	if err == nil || !strings.Contains(err.Error(), "a.jar") || !strings.Contains(err.Error(), "inside compressed data") {
		t.Errorf("restore of a deflated member naming $out: %v", err)
	}
}

// Formats with checksums no fix-up recomputes are refused once rewritten,
// naming the file and the format; unchanged they pass.
func TestRestoreUnhandledSums(t *testing.T) {
	for _, tt := range []struct{ name, head, what string }{
		{"font.ttf", "\x00\x01\x00\x00\x00\x04\x00\x80\x00\x02\x00\x00", "OpenType font"},
		{"messages.mo", "\xde\x12\x04\x95\x00\x00\x00\x00", "gettext message catalogue"},
		{"display.icc", strings.Repeat("\x00", 36) + "acsp", "ICC colour profile"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, _, _, err := restoreBuilt(t, func(t *testing.T, top, out string) {
				if err := os.WriteFile(filepath.Join(out, tt.name), []byte(tt.head+" "+out+"\n"), 0o644); err != nil {
					t.Fatal(err)
				}
			})
			var ce *ChecksumError
			if !errors.As(err, &ce) || !strings.Contains(err.Error(), tt.name) || !strings.Contains(err.Error(), tt.what) {
				t.Errorf("restore = %v, want a ChecksumError naming %s and %q", err, tt.name, tt.what)
			}
			if _, _, _, err := restoreBuilt(t, func(t *testing.T, top, out string) {
				os.WriteFile(filepath.Join(out, tt.name), []byte(tt.head+" no path\n"), 0o644)
			}); err != nil {
				t.Errorf("restore of an unchanged %s: %v", tt.name, err)
			}
		})
	}
}

// machoLinker returns the commands that compile C for macOS and link it
// with lld (Debian installs ld64.lld as ld64.lld-14, or in
// /usr/lib/llvm-*/bin). It skips the test when they are missing, or fails
// it when $CI is set: CI installs them (scripts/env.sh).
func machoLinker(t *testing.T) (clang, ld string) {
	t.Helper()
	clang, err := exec.LookPath("clang")
	if err == nil {
		if ld, err = exec.LookPath("ld64.lld"); err != nil {
			for _, g := range []string{"/usr/bin/ld64.lld-*", "/usr/lib/llvm-*/bin/ld64.lld"} {
				if m, _ := filepath.Glob(g); len(m) > 0 {
					ld, err = m[len(m)-1], nil
				}
			}
		}
	}
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("clang and ld64.lld are needed (apt-get install clang lld): %v", err)
		}
		t.Skipf("clang and ld64.lld are needed (apt-get install clang lld): %v", err)
	}
	return clang, ld
}

// linkMachO compiles a C file naming out for arch and links it with lld
// into out/name, signed ad hoc unless unsigned; lib makes a dylib.
func linkMachO(t *testing.T, top, out, arch, name string, lib, unsigned bool) {
	t.Helper()
	clang, ld := machoLinker(t)
	base := filepath.Base(name)
	c := filepath.Join(top, base+".c")
	src := "const char prefix[] = \"" + out + "\";\nint main(void) { return prefix[3]; }\n"
	if err := os.WriteFile(c, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	sh(t, top, clang+" --target="+arch+"-apple-macos11 -c "+c+" -o "+base+".o")
	flags := "-e _main"
	if lib {
		flags = "-dylib -install_name " + out + "/" + name
	}
	if unsigned {
		flags += " -no_adhoc_codesign"
	} else {
		flags += " -adhoc_codesign"
	}
	os.MkdirAll(filepath.Dir(filepath.Join(out, name)), 0o755)
	sh(t, top, ld+" -arch "+arch+" -platform_version macos 11.0 11.0 "+flags+" "+base+".o -o "+filepath.Join(out, name))
}

// TestRestoreMachO: Mach-O files linked by lld that name $out, signed ad
// hoc (arm64 and x86_64 executables, an arm64 dylib whose install name is
// in $out) or not, and the objects they were linked from in the build
// tree, are restored with their page hashes recomputed: every signature
// verifies, with the new path in place.
func TestRestoreMachO(t *testing.T) {
	top2, out2, res, err := restoreBuilt(t, func(t *testing.T, top, out string) {
		linkMachO(t, top, out, "arm64", "bin/hello", false, false)
		linkMachO(t, top, out, "x86_64", "bin/hello-x86_64", false, false)
		linkMachO(t, top, out, "arm64", "lib/libhello.dylib", true, false)
		linkMachO(t, top, out, "x86_64", "bin/unsigned", false, true)
	})
	if err != nil {
		t.Fatal(err)
	}
	if res.FormatSums != 3 {
		t.Errorf("checksums recomputed in %d files, want 3 (the signed ones)", res.FormatSums)
	}
	for _, f := range []string{"bin/hello", "bin/hello-x86_64", "lib/libhello.dylib", "bin/unsigned"} {
		data, err := os.ReadFile(filepath.Join(out2, f))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Contains(data, []byte(newHash)) || bytes.Contains(data, []byte(oldHash)) {
			t.Errorf("%s was not rewritten", f)
		}
		if err := codesign.Verify(data); err != nil {
			t.Errorf("%s: %v", f, err)
		}
	}
	obj, err := os.ReadFile(filepath.Join(top2, "hello.o"))
	if err != nil || !codesign.IsMachO(obj) || !bytes.Contains(obj, []byte(newHash)) {
		t.Errorf("the object file in the build tree: %v", err)
	}
}

// A Mach-O file signed with a certificate (here: lld's signature without
// its CS_ADHOC flag) whose bytes name $out fails the restore, naming it.
func TestRestoreMachOCertificate(t *testing.T) {
	_, _, _, err := restoreBuilt(t, func(t *testing.T, top, out string) {
		linkMachO(t, top, out, "arm64", "bin/signed", false, false)
		p := filepath.Join(out, "bin/signed")
		data, _ := os.ReadFile(p)
		f, err := codesign.Parse(data)
		if err != nil {
			t.Fatal(err)
		}
		data[f.Slices[0].Signature.Directories[0].Offset+15] &^= 2 // CS_ADHOC
		os.WriteFile(p, data, 0o755)
	})
	var ce *ChecksumError
	if !errors.As(err, &ce) || !errors.Is(err, codesign.ErrSigned) || !strings.Contains(err.Error(), "bin/signed") {
		t.Errorf("restore = %v, want a ChecksumError naming bin/signed, signed with a certificate", err)
	}
}
