package tarsum

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
	newPath = "/nix/store/00000000000000000000000000000000-pkg" // another byte sum
)

func need(t *testing.T, tools ...string) {
	t.Helper()
	for _, tool := range tools {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s is not installed", tool)
		}
	}
}

func sh(t *testing.T, dir, script string) {
	t.Helper()
	cmd := exec.Command("bash", "-ec", script)
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s: %v\n%s", script, err, out)
	}
}

// check has GNU tar and Python's tarfile read every header; it returns
// tar's listing.
func check(t *testing.T, data []byte) (string, error) {
	t.Helper()
	f := filepath.Join(t.TempDir(), "a.tar")
	os.WriteFile(f, data, 0o644)
	out, err := exec.Command("tar", "-tvf", f).CombinedOutput()
	if err != nil {
		return "", errors.New("tar: " + string(out))
	}
	if py, err := exec.Command("python3", "-c", "import sys, tarfile; [m.name for m in tarfile.open(sys.argv[1], errorlevel=2)]", f).CombinedOutput(); err != nil {
		return "", errors.New("tarfile: " + string(py))
	}
	return string(out), nil
}

func TestFix(t *testing.T) {
	need(t, "tar", "python3")
	// A directory named like the store path, with a file and a symlink
	// to it, so that names, link names and data name it.
	setup := "mkdir -p ." + oldPath + "/share; echo " + oldPath + " > ." + oldPath + "/share/prefix; ln -s " + oldPath + "/share/prefix link; "
	for _, tc := range []struct {
		name   string
		make   string
		fixes  int
		inside string // a member whose data must be fixed through inner
	}{
		{"gnu", setup + "tar --format=gnu -cf a.tar ." + oldPath + " link", 4, ""},
		{"ustar", setup + "tar --format=ustar -cf a.tar ." + oldPath + " link", 4, ""},
		{"pax, long names", setup + "mkdir -p ." + oldPath + "/" + strings.Repeat("d", 120) + "; tar --format=pax -cf a.tar ." + oldPath + " link", 4, ""},
		{"python tarfile", setup + "python3 -c 'import tarfile; t = tarfile.open(\"a.tar\", \"w\", format=tarfile.GNU_FORMAT); t.add(\"." + oldPath + "\"); t.add(\"link\"); t.close()'", 4, ""},
		{"member fixed by inner", "echo " + oldPath + " > p; tar --format=gnu -cf a.tar p", 1, "p"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			sh(t, dir, tc.make)
			orig, err := os.ReadFile(filepath.Join(dir, "a.tar"))
			if err != nil {
				t.Fatal(err)
			}
			if !IsTar(orig) {
				t.Fatal("IsTar = false")
			}
			if _, err := check(t, orig); err != nil {
				t.Fatalf("the original: %v", err)
			}
			cur := bytes.ReplaceAll(orig, []byte(oldPath), []byte(newPath))
			if _, err := check(t, cur); tc.inside == "" && err == nil {
				t.Fatal("the checkers accept stale checksums: the test proves nothing")
			}
			var inner []string
			n, err := Fix(cur, orig, func(name string, c, o []byte) (int, error) {
				inner = append(inner, name)
				if !bytes.Equal(c, bytes.ReplaceAll(o, []byte(oldPath), []byte(newPath))) {
					t.Errorf("inner called with the wrong data for %s", name)
				}
				return 0, nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if tc.inside != "" {
				if len(inner) != 1 || inner[0] != tc.inside {
					t.Errorf("inner called for %v, want %s", inner, tc.inside)
				}
				return
			}
			// The directories, the file and the symlink name the path in
			// their headers (PAX and long-name records need no checksum).
			if n < tc.fixes {
				t.Errorf("Fix = %d, want at least %d", n, tc.fixes)
			}
			list, err := check(t, cur)
			if err != nil {
				t.Fatalf("after Fix: %v", err)
			}
			if !strings.Contains(list, newPath+"/share/prefix") || strings.Contains(list, oldPath) {
				t.Errorf("listing:\n%s", list)
			}
		})
	}
}

func TestFixBroken(t *testing.T) {
	need(t, "tar")
	dir := t.TempDir()
	sh(t, dir, "echo "+oldPath+" > "+strings.Repeat("x", 40)+"; tar --format=gnu -cf a.tar *")
	orig, _ := os.ReadFile(filepath.Join(dir, "a.tar"))
	if _, err := Fix(orig[:10], orig, nil); !errors.Is(err, ErrLength) {
		t.Errorf("length: %v", err)
	}
	trunc := orig[:520]
	var fe *FormatError
	if _, err := Fix(bytes.Clone(trunc), trunc, nil); !errors.As(err, &fe) {
		t.Errorf("truncated member: %v", err)
	}
	if IsTar([]byte("not a tar")) || IsTar(make([]byte, 1024)) {
		t.Error("IsTar accepts what is not a tar")
	}
}
