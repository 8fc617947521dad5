package zipcrc

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

const (
	oldPath = "/nix/store/0123456789abcdfghijklmnpqrsvwxyz-pkg"
	newPath = "/nix/store/zyxwvsrqpnmlkjihgfdcba9876543210-pkg"
)

func need(t *testing.T, tools ...string) {
	t.Helper()
	for _, tool := range tools {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s is not installed", tool)
		}
	}
}

func sh(t *testing.T, dir, script string) string {
	t.Helper()
	cmd := exec.Command("sh", "-ec", script)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s: %v\n%s", script, err, out)
	}
	return string(out)
}

// check has unzip -t and Python's testzip check every member's CRC.
func check(t *testing.T, data []byte) error {
	t.Helper()
	f := filepath.Join(t.TempDir(), "x.zip")
	os.WriteFile(f, data, 0o644)
	for _, argv := range [][]string{
		{"unzip", "-tq", f},
		{"python3", "-c", "import sys, zipfile; z = zipfile.ZipFile(sys.argv[1]); b = z.testzip(); sys.exit(b and 'bad member ' + b)", f},
	} {
		if out, err := exec.Command(argv[0], argv[1:]...).CombinedOutput(); err != nil {
			return errors.New(argv[0] + ": " + string(out))
		}
	}
	return nil
}

// nested fixes a stored member that is itself a zip archive.
func nested(name string, cur, orig []byte) (int, error) {
	if !IsZip(orig) {
		return 0, nil
	}
	return Fix(cur, orig, nested)
}

func TestFix(t *testing.T) {
	need(t, "zip", "unzip", "python3")
	for _, tc := range []struct {
		name  string
		make  string // a shell script that writes a.zip in an empty directory
		fixes int
	}{
		{"zip -0", "mkdir d; echo " + oldPath + " > d/prefix; echo plain > d/other; zip -q0 -X a.zip d/prefix d/other", 1},
		{"stored and deflated", "echo " + oldPath + " > s; seq 1000 > big; zip -q0 -X a.zip s; zip -q9 -X a.zip big", 1},
		{"data descriptors (streamed)", `python3 -c '
import sys, zipfile
z = zipfile.ZipFile(sys.stdout.buffer, "w", zipfile.ZIP_STORED)
z.writestr("one", b"` + oldPath + `\n"); z.writestr("two", b"` + oldPath + `/bin " * 3); z.close()' | cat > a.zip`, 2},
		{"jar in a zip", "echo " + oldPath + " > p; zip -q0 -X inner.jar p; zip -q0 -X a.zip inner.jar", 2},
		{"self-extracting prefix", "echo " + oldPath + " > p; zip -q0 -X z.zip p; (echo '#!/bin/sh'; cat z.zip) > a.zip; zip -qA a.zip", 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			sh(t, dir, tc.make)
			orig, err := os.ReadFile(filepath.Join(dir, "a.zip"))
			if err != nil {
				t.Fatal(err)
			}
			if err := check(t, orig); err != nil {
				t.Fatalf("the original: %v", err)
			}
			cur := bytes.ReplaceAll(orig, []byte(oldPath), []byte(newPath))
			if check(t, cur) == nil {
				t.Fatal("the checkers accept stale CRCs: the test proves nothing")
			}
			n, err := Fix(cur, orig, nested)
			if err != nil || n != tc.fixes {
				t.Fatalf("Fix = %d, %v; want %d", n, err, tc.fixes)
			}
			if err := check(t, cur); err != nil {
				t.Errorf("after Fix: %v", err)
			}
			if !bytes.Contains(cur, []byte(newPath)) || bytes.Contains(cur, []byte(oldPath)) {
				t.Error("Fix changed the rewritten bytes")
			}
		})
	}
}

func TestFixErrors(t *testing.T) {
	need(t, "zip")
	dir := t.TempDir()
	sh(t, dir, "echo "+oldPath+" > p; zip -q0 -X a.zip p")
	orig, _ := os.ReadFile(filepath.Join(dir, "a.zip"))
	zip64 := bytes.Clone(orig)
	e := bytes.LastIndex(zip64, []byte(endSig))
	zip64[e+10], zip64[e+11] = 0xff, 0xff
	var fe *FormatError
	for _, tc := range []struct {
		name      string
		cur, orig []byte
		is        error
		as        any
	}{
		{"length", orig[:10], orig, ErrLength, nil},
		{"zip64", bytes.ReplaceAll(zip64, []byte(oldPath), []byte(newPath)), zip64, ErrZip64, nil},
		{"no end record", []byte("PK\x03\x04 hallo"), []byte("PK\x03\x04 hello"), nil, &fe},
		{"truncated", bytes.ReplaceAll(orig[:len(orig)-30], []byte(oldPath), []byte(newPath)), orig[:len(orig)-30], nil, &fe},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Fix(bytes.Clone(tc.cur), tc.orig, nil)
			if tc.is != nil && !errors.Is(err, tc.is) || tc.as != nil && !errors.As(err, tc.as) {
				t.Errorf("err = %v", err)
			}
		})
	}
	// A signed jar whose stored member changed is refused.
	sh(t, dir, "mkdir META-INF; echo 'Signature-Version: 1.0' > META-INF/PKG.SF; zip -q0 -X s.jar p META-INF/PKG.SF")
	jar, _ := os.ReadFile(filepath.Join(dir, "s.jar"))
	if _, err := Fix(bytes.ReplaceAll(jar, []byte(oldPath), []byte(newPath)), jar, nil); !errors.Is(err, ErrSigned) {
		t.Errorf("signed jar: %v", err)
	}
	// An unchanged zip64 archive is no error.
	if n, err := Fix(bytes.Clone(zip64), zip64, nil); n != 0 || err != nil {
		t.Errorf("unchanged zip64: %d, %v", n, err)
	}
}
