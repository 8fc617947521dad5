package checkpoint

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
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
		{"tool", "\xcf\xfa\xed\xfe\x07\x00\x00\x01", "Mach-O binary"},
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
