package ninjalog

import (
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// The cases of ninja 1.11.1's src/util_test.cc (CanonicalizePath,
// PathSamples and UpDir) on POSIX.
func TestCanonicalizePath(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", ""},
		{"foo.h", "foo.h"},
		{"./foo.h", "foo.h"},
		{"./foo/./bar.h", "foo/bar.h"},
		{"./x/foo/../bar.h", "x/bar.h"},
		{"./x/foo/../../bar.h", "bar.h"},
		{"foo//bar", "foo/bar"},
		{"foo//.//..///bar", "bar"},
		{"./x/../foo/../../bar.h", "../bar.h"},
		{"foo/./.", "foo"},
		{"foo/bar/..", "foo"},
		{"foo/.hidden_bar", "foo/.hidden_bar"},
		{"/foo", "/foo"},
		{"//foo", "/foo"},
		{"/", ""},
		{"/foo/..", ""},
		{".", "."},
		{"./.", "."},
		{"foo/..", "."},
		{"../../foo/bar.h", "../../foo/bar.h"},
		{"test/../../foo/bar.h", "../foo/bar.h"},
		{"../../foo/../bar.h", "../../bar.h"},
		{"a/..b/c", "a/..b/c"},
		{"..", ".."},
		{"../", ".."},
	}
	for _, tt := range tests {
		if got := canonicalizePath(tt.in); got != tt.want {
			t.Errorf("canonicalizePath(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestShellEscape(t *testing.T) {
	tests := []struct{ in, want string }{
		{"a/b_c+d-e.f", "a/b_c+d-e.f"},
		{"a b", "'a b'"},
		{"it's", `'it'\''s'`},
		{"$x", "'$x'"},
		{"\u00e9", "'\u00e9'"},
	}
	for _, tt := range tests {
		if got := shellEscape(tt.in); got != tt.want {
			t.Errorf("shellEscape(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// TestManifestErrors checks that manifests ninja rejects are rejected,
// and, when ninja is available, that ninja rejects them too.
func TestManifestErrors(t *testing.T) {
	tests := []struct{ name, manifest string }{
		{"bad escape", "x = $%\n"},
		{"tab", "rule r\n\tcommand = r\n"},
		{"unknown rule", "build a: nosuch\n"},
		{"rule without command", "rule r\n  description = d\n"},
		{"rspfile alone", "rule r\n  command = r\n  rspfile = f\n"},
		{"unexpected rule variable", "rule r\n  command = r\n  flags = 1\n"},
		{"duplicate rule", "rule r\n  command = r\nrule r\n  command = r\n"},
		{"phony redefined", "rule phony\n  command = r\n"},
		{"missing include", "include nosuch.ninja\n"},
		{"no newline at end", "rule r\n  command = r\nbuild a: r b"},
		{"empty path", "e =\nrule r\n  command = r\nbuild $e: r\n"},
		{"no outputs", "rule r\n  command = r\nbuild : r\n"},
		{"unterminated brace", "x = ${y\n"},
		{"lone cr", "x = a\rb\n"},
		{"keyword as variable", "build = 1\n"},
		{"duplicate output", "rule r\n  command = r\nbuild a: r\nbuild b ./a: r\n"},
		{"rule cycle", ""}, // see below
	}
	tests[len(tests)-1].manifest = "rule r\n  command = $description\n  description = $command\nbuild a: r b\n"
	_, ninjaErr := exec.LookPath("ninja")
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			if err := os.WriteFile(filepath.Join(dir, ManifestName), []byte(tt.manifest), 0o644); err != nil {
				t.Fatal(err)
			}
			m, err := loadManifest(dir, ManifestName)
			if err == nil {
				for _, e := range m.edges {
					if _, _, err = e.command(); err != nil {
						break
					}
				}
			}
			if err == nil {
				t.Errorf("accepted %q", tt.manifest)
			} else {
				t.Logf("error: %v", err)
			}
			if ninjaErr == nil {
				cmd := exec.Command("ninja", "-t", "compdb")
				cmd.Dir = dir
				if out, err := cmd.CombinedOutput(); err == nil {
					t.Errorf("ninja accepts %q:\n%s", tt.manifest, out)
				}
			}
		})
	}
}

// TestBuilddir checks that Fix finds the log under $builddir.
func TestBuilddir(t *testing.T) {
	requireNinja(t)
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		ManifestName: "builddir = out\nx = 1\nrule r\n  command = echo $x > $out\nbuild out/a: r\n",
	})
	ninja(t, dir)
	rewriteKeepMtime(t, filepath.Join(dir, ManifestName), "x = 1", "x = 2")
	st, err := Fix(t.Context(), dir)
	if err != nil {
		t.Fatal(err)
	}
	if st.Changed != 1 {
		t.Errorf("Fix stats = %+v, want 1 changed", st)
	}
	if _, err := os.Stat(filepath.Join(dir, LogName)); err == nil {
		t.Errorf("log created outside $builddir")
	}
}

func FuzzManifest(f *testing.F) {
	f.Add([]byte(fixManifest))
	f.Add([]byte("rule r\n  command = r $in $out\n  rspfile = $out.rsp\n  rspfile_content = $in_newline\nbuild a b | c: r d e | f || g |@ h\n  x = ${y}$\n    z$ $:$$\ndefault a\npool p\n  depth = 1\n"))
	f.Add([]byte("include build.ninja\n"))
	f.Add([]byte("a = 1\nsubninja sub.ninja\na = $a$a\na = $a$a\n"))
	f.Add([]byte("x = 1\r\n# c\r\nrule r\r\n  command = $x\r\nbuild ./a/../b: r\r\n"))
	maxEvalLen = 1 << 20
	f.Fuzz(func(t *testing.T, data []byte) {
		// The manifest includes itself or sub.ninja, which is empty.
		m, err := parseManifest(ManifestName, func(name string) ([]byte, error) {
			switch name {
			case ManifestName:
				return data, nil
			case "sub.ninja":
				return nil, nil
			}
			return nil, fs.ErrNotExist
		})
		if err != nil {
			return
		}
		for _, e := range m.edges {
			plain, logged, err := e.command()
			if err != nil {
				continue
			}
			if !strings.HasPrefix(logged, plain) {
				t.Fatalf("logged command %q does not start with %q", logged, plain)
			}
		}
	})
}
