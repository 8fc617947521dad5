package codesign

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

const (
	oldPath = "/nix/store/0123456789abcdfghijklmnpqrsvwxyz-pkg"
	newPath = "/nix/store/zyxwvsrqpnmlkjihgfdcba9876543210-pkg"
)

// linkerPaths are where Debian puts lld's Mach-O linker when ld64.lld is
// not on PATH (package lld-14 installs /usr/bin/ld64.lld-14 only).
var linkerPaths = []string{"/usr/bin/ld64.lld-*", "/usr/lib/llvm-*/bin/ld64.lld"}

// machOTools returns clang and ld64.lld. When either is missing it skips
// the test, or fails it when $CI is set: CI installs both (scripts/env.sh).
func machOTools(t testing.TB) (clang, ld string) {
	t.Helper()
	clang, err := exec.LookPath("clang")
	if err == nil {
		ld, err = exec.LookPath("ld64.lld")
		for _, g := range linkerPaths {
			if m, _ := filepath.Glob(g); err != nil && len(m) > 0 {
				ld, err = m[len(m)-1], nil
			}
		}
	}
	if err != nil {
		msg := "clang and ld64.lld are needed to link Mach-O files (apt-get install clang lld): " + err.Error()
		if os.Getenv("CI") != "" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return clang, ld
}

// program is C source with a store path at the start of its data, another
// three pages further on, and pages of constant data between them that
// the rewrite does not touch.
const program = `
const char prefix[] = "@P@";
const char pad[3 * 4096 + 100] = { 1, 2, 3 };
const char bindir[] = "@P@/bin";
int main(void) { return prefix[1] + bindir[2] + pad[5]; }
`

const library = `
const char datadir[] = "@P@/share";
const char pad[2 * 4096] = { 7 };
const char *libdir(void) { return "@P@/lib"; }
`

// link compiles src (with @P@ replaced by prefix) for arch and links it
// with lld, signed ad hoc, into a file named name (lld's identifier).
func link(t *testing.T, arch, src, prefix, name string, dylib bool) []byte {
	t.Helper()
	clang, ld := machOTools(t)
	dir := t.TempDir()
	c := filepath.Join(dir, "a.c")
	if err := os.WriteFile(c, []byte(strings.ReplaceAll(src, "@P@", prefix)), 0o644); err != nil {
		t.Fatal(err)
	}
	run := func(args ...string) {
		t.Helper()
		if out, err := exec.Command(args[0], args[1:]...).CombinedOutput(); err != nil {
			t.Fatalf("%s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	run(clang, "--target="+arch+"-apple-macos11", "-O1", "-c", c, "-o", filepath.Join(dir, "a.o"))
	args := []string{ld, "-arch", arch, "-platform_version", "macos", "11.0", "11.0", "-adhoc_codesign"}
	if dylib {
		args = append(args, "-dylib", "-install_name", prefix+"/lib/"+name)
	} else {
		args = append(args, "-e", "_main")
	}
	out := filepath.Join(dir, name)
	run(append(args, filepath.Join(dir, "a.o"), "-o", out)...)
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// withoutUUID returns a copy of a Mach-O file with every LC_UUID, and the
// hashes of the pages holding it, zeroed, and how many hashes that hid.
func withoutUUID(t *testing.T, data []byte) ([]byte, int) {
	t.Helper()
	f, err := Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	out := bytes.Clone(data)
	n := 0
	for _, s := range f.Slices {
		if s.UUID < 0 {
			continue
		}
		clear(out[s.UUID : s.UUID+16])
		if s.Signature == nil {
			continue
		}
		for _, d := range s.Signature.Directories {
			first, last := d.PageOf(s.UUID-s.Offset), d.PageOf(s.UUID+15-s.Offset)
			for p := max(first, 0); first >= 0 && p <= last; p++ {
				clear(out[d.SlotOffset(p) : d.SlotOffset(p)+d.HashSize])
				n++
			}
		}
	}
	return out, n
}

// fixAndCompare rewrites oldPath in orig, checks that the signature is
// then stale, fixes it, verifies it, and compares it with want (the file
// linked for newPath) but for the UUID. It returns how many hashes Fix
// changed.
func fixAndCompare(t *testing.T, orig, want []byte) int {
	t.Helper()
	if err := Verify(orig); err != nil {
		t.Fatalf("lld's own signature: %v", err)
	}
	cur := bytes.ReplaceAll(orig, []byte(oldPath), []byte(newPath))
	var ve *VerifyError
	if err := Verify(cur); !errors.As(err, &ve) {
		t.Fatalf("a rewritten file verifies (%v): the test proves nothing", err)
	}
	n, err := Fix(cur, orig)
	if err != nil {
		t.Fatal(err)
	}
	if err := Verify(cur); err != nil {
		t.Fatalf("after Fix: %v", err)
	}
	a, _ := withoutUUID(t, cur)
	b, _ := withoutUUID(t, want)
	// Some hash the comparison sees must be one Fix changed.
	if o, _ := withoutUUID(t, orig); comparedChanged(t, o, a) == 0 {
		t.Error("every hash Fix changed covers the UUID: the comparison proves nothing")
	}
	if !bytes.Equal(a, b) {
		i := 0
		for i < len(a) && i < len(b) && a[i] == b[i] {
			i++
		}
		t.Errorf("fixed file differs from lld's link of the new path (first at offset %d of %d and %d bytes)", i, len(a), len(b))
	}
	return n
}

func TestFixMatchesLLD(t *testing.T) {
	for _, tc := range []struct {
		name, arch, src string
		dylib           bool
		hashes          int // pages holding a store path, the UUID's not counted
	}{
		{"arm64 executable", "arm64", program, false, 2},
		{"x86_64 executable", "x86_64", program, false, 2},
		{"arm64 dylib", "arm64", library, true, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			orig := link(t, tc.arch, tc.src, oldPath, "prog", tc.dylib)
			want := link(t, tc.arch, tc.src, newPath, "prog", tc.dylib)
			f, err := Parse(orig)
			if err != nil || f.Slices[0].Signature == nil || f.Slices[0].UUID < 0 {
				t.Fatalf("lld wrote no signature or no UUID: %+v, %v", f, err)
			}
			n := fixAndCompare(t, orig, want)
			// The store path in the load commands (the dylib's install
			// name) shares page 0 with the UUID.
			if n < tc.hashes {
				t.Errorf("Fix changed %d hashes, want at least %d", n, tc.hashes)
			}
			_, hidden := withoutUUID(t, orig)
			t.Logf("%d hashes recomputed, %d left out of the comparison (pages holding the UUID)", n, hidden)
		})
	}
}

// A universal file of both: its slices are fixed one by one, with
// offsets from the slice, under a 32- and a 64-bit fat header, and in
// llvm-lipo's layout when llvm-lipo is installed.
func TestFixUniversal(t *testing.T) {
	arm := link(t, "arm64", program, oldPath, "prog", false)
	x86 := link(t, "x86_64", program, oldPath, "prog", false)
	armNew := link(t, "arm64", program, newPath, "prog", false)
	x86New := link(t, "x86_64", program, newPath, "prog", false)
	for _, wide := range []bool{false, true} {
		orig := Lipo(wide, 14, arm, x86)
		if f, err := Parse(orig); err != nil || len(f.Slices) != 2 || !f.Fat {
			t.Fatalf("Parse: %+v, %v", f, err)
		}
		if n := fixAndCompare(t, orig, Lipo(wide, 14, armNew, x86New)); n < 4 {
			t.Errorf("64-bit offsets %v: Fix changed %d hashes, want at least 4", wide, n)
		}
	}
	lipo, err := exec.LookPath("llvm-lipo")
	if err != nil {
		if m, _ := filepath.Glob("/usr/lib/llvm-*/bin/llvm-lipo"); len(m) > 0 {
			lipo, err = m[len(m)-1], nil
		}
	}
	if err != nil {
		t.Log("no llvm-lipo: its layout is not checked")
		return
	}
	dir := t.TempDir()
	files := map[string][]byte{"arm": arm, "x86": x86, "armNew": armNew, "x86New": x86New}
	for n, b := range files {
		os.WriteFile(filepath.Join(dir, n), b, 0o755)
	}
	fat := func(a, b string) []byte {
		out := filepath.Join(dir, a+b+".fat")
		if msg, err := exec.Command(lipo, "-create", filepath.Join(dir, a), filepath.Join(dir, b), "-output", out).CombinedOutput(); err != nil {
			t.Fatalf("llvm-lipo: %v\n%s", err, msg)
		}
		data, _ := os.ReadFile(out)
		return data
	}
	fixAndCompare(t, fat("arm", "x86"), fat("armNew", "x86New"))
}

// A signature that is not ad hoc is refused once the slice changed, and
// the file is left as it was; unchanged, it passes.
func TestFixRefusesCertificate(t *testing.T) {
	orig := link(t, "arm64", program, oldPath, "prog", false)
	d := mustParse(t, orig).Slices[0].Signature.Directories[0]
	orig[d.Offset+15] &^= flagAdhoc // CS_ADHOC, in the big-endian flags
	cur := bytes.ReplaceAll(orig, []byte(oldPath), []byte(newPath))
	before := bytes.Clone(cur)
	_, err := Fix(cur, orig)
	var se *SignedError
	if !errors.As(err, &se) || !errors.Is(err, ErrSigned) || se.Arch != "arm64" {
		t.Fatalf("Fix of a certificate-signed file = %v, want a *SignedError for arm64", err)
	}
	if !bytes.Equal(cur, before) {
		t.Error("Fix changed a file it refused")
	}
	if n, err := Fix(bytes.Clone(orig), orig); n != 0 || err != nil {
		t.Errorf("Fix of an unchanged certificate-signed file = %d, %v", n, err)
	}
}

// comparedChanged counts the code slot hashes that differ between a and
// b, two versions of one file.
func comparedChanged(t *testing.T, a, b []byte) int {
	n := 0
	for _, s := range mustParse(t, a).Slices {
		if s.Signature == nil {
			continue
		}
		for _, d := range s.Signature.Directories {
			for i := range d.CodeSlots {
				at := d.SlotOffset(i)
				if !bytes.Equal(a[at:at+d.HashSize], b[at:at+d.HashSize]) {
					n++
				}
			}
		}
	}
	return n
}

func mustParse(t *testing.T, data []byte) *File {
	t.Helper()
	f, err := Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	return f
}
