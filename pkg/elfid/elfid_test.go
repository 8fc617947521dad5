package elfid_test

import (
	"bytes"
	"debug/elf"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nix-vanilla/nix-vanilla/pkg/elfid"
)

// The hashes that the tests rewrite: same length, different bytes.
const (
	oldHash = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	newHash = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
)

const cProgram = `#include <stdio.h>
const char path[] = "/nix/store/@HASH@-x";
int main(void) { puts(path); return 0; }
`

const cxxProgram = `#include <iostream>
#include <string>
static const std::string path = "/nix/store/@HASH@-x";
int main() { std::cout << path << std::endl; return 0; }
`

const cLibrary = `const char *path(void) { return "/nix/store/@HASH@-x"; }
`

// noLibc needs neither libc nor libgcc, so it links for any -m flag gcc
// has a code generator for.
const noLibc = `const char path[] = "/nix/store/@HASH@-x";
const char *volatile p;
void _start(void) { p = path; for (;;); }
`

// A program is a source file and the gcc command line that links it.
type program struct {
	name     string
	source   string
	ext      string   // of the source file
	args     []string // for gcc, besides the source and -o
	optional bool     // needs what many machines lack: skip if it fails
}

var sha1Programs = []program{
	{"c", cProgram, "c", []string{"-O2"}, false},
	{"c++ -g", cxxProgram, "cc", []string{"-g", "-lstdc++"}, false},
	{"shared", cLibrary, "c", []string{"-shared", "-fPIC"}, false},
	{"static", cProgram, "c", []string{"-static"}, true},
	{"no-pie", cProgram, "c", []string{"-no-pie", "-fno-pie"}, false},
	{"-s", cProgram, "c", []string{"-s"}, false},
	{"emit-relocs", cProgram, "c", []string{"-Wl,--emit-relocs"}, false},
	{"compressed debug", cProgram, "c", []string{"-g", "-Wl,--compress-debug-sections=zlib"}, true},
	{"package metadata", cProgram, "c", []string{`-Wl,--package-metadata={"type":"deb"}`}, true},
	{"elf32 i386", noLibc, "c", []string{"-m32", "-nostdlib", "-static"}, true},
	{"elf32 x32", noLibc, "c", []string{"-mx32", "-nostdlib", "-static"}, true},
}

// build links p with the given store hash and build-id style into dir and
// returns the file name. The source file has the same name in every build,
// so that debug information does not tell builds apart. build skips the
// test if gcc is missing or cannot link an optional p.
func build(t *testing.T, dir string, p program, hash, style string) string {
	t.Helper()
	if _, err := exec.LookPath("gcc"); err != nil {
		t.Skip("gcc not found")
	}
	name, err := link(dir, p, hash, style)
	if err != nil && p.optional {
		t.Skip(err)
	} else if err != nil {
		t.Fatal(err)
	}
	return name
}

func link(dir string, p program, hash, style string) (string, error) {
	src := "prog." + p.ext
	out := filepath.Join(dir, strings.ReplaceAll(p.name, " ", "-")+"-"+hash+"-"+style)
	code := strings.ReplaceAll(p.source, "@HASH@", hash)
	if err := os.WriteFile(filepath.Join(dir, src), []byte(code), 0o644); err != nil {
		return "", err
	}
	args := append([]string{"-o", out, src, "-Wl,--build-id=" + style}, p.args...)
	cmd := exec.Command("gcc", args...)
	cmd.Dir = dir
	if msg, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("gcc %s: %v\n%s", strings.Join(args, " "), err, msg)
	}
	return out, nil
}

func readFile(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// rewrite replaces oldHash with newHash in b, as a store path rewriter
// would.
func rewrite(t *testing.T, b []byte) []byte {
	t.Helper()
	if !bytes.Contains(b, []byte(oldHash)) {
		t.Fatalf("%s not found in binary", oldHash)
	}
	return bytes.ReplaceAll(b, []byte(oldHash), []byte(newHash))
}

func TestRecompute(t *testing.T) {
	for _, p := range sha1Programs {
		t.Run(p.name, func(t *testing.T) {
			dir := t.TempDir()
			before := readFile(t, build(t, dir, p, oldHash, "sha1"))
			want := readFile(t, build(t, dir, p, newHash, "sha1"))

			for _, b := range [][]byte{before, want} {
				if changed, err := elfid.Recompute(bytes.Clone(b)); changed || err != nil {
					t.Fatalf("Recompute of ld's output = %v, %v; want false, nil", changed, err)
				}
			}

			got := rewrite(t, before)
			if bytes.Equal(got, want) {
				t.Fatal("rewritten file already equals the direct build; the build-id does not cover the string")
			}
			changed, err := elfid.Recompute(got)
			if !changed || err != nil {
				t.Fatalf("Recompute = %v, %v; want true, nil", changed, err)
			}
			if !bytes.Equal(got, want) {
				t.Error("recomputed file differs from the direct build")
			}
		})
	}
}

// TestReproducible checks that Reproducible says yes to ld's output and
// no to an edited file, and changes neither.
func TestReproducible(t *testing.T) {
	dir := t.TempDir()
	orig := readFile(t, build(t, dir, sha1Programs[0], oldHash, "sha1"))
	edited := rewrite(t, orig)
	for _, tc := range []struct {
		name string
		data []byte
		want bool
	}{
		{"as ld wrote it", orig, true},
		{"edited", edited, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := bytes.Clone(tc.data)
			got, err := elfid.Reproducible(tc.data)
			if got != tc.want || err != nil {
				t.Errorf("Reproducible = %v, %v; want %v, nil", got, err, tc.want)
			}
			if !bytes.Equal(tc.data, before) {
				t.Error("Reproducible changed the data")
			}
		})
	}
	if got, err := elfid.Reproducible([]byte("#!/bin/sh\n")); got || !errors.Is(err, elfid.ErrNotELF) {
		t.Errorf("Reproducible of a script = %v, %v; want false, ErrNotELF", got, err)
	}
}

// TestOtherMachines checks files that GNU ld linked for i386, x86-64,
// PowerPC and PowerPC64, the only big-endian ones at hand. The Go
// distribution keeps them as test data.
func TestOtherMachines(t *testing.T) {
	names := goTestdata()
	if names == nil {
		t.Skip("test data not found in GOROOT")
	}
	for _, name := range names {
		t.Run(filepath.Base(name), func(t *testing.T) {
			want := readFile(t, name)
			if changed, err := elfid.Recompute(bytes.Clone(want)); changed || err != nil {
				t.Fatalf("Recompute of ld's output = %v, %v; want false, nil", changed, err)
			}
			f, err := elf.NewFile(bytes.NewReader(want))
			if err != nil {
				t.Fatal(err)
			}
			s := f.Section(".note.gnu.build-id")
			if s == nil {
				t.Fatal("no .note.gnu.build-id")
			}
			got := bytes.Clone(want)
			got[s.Offset+s.Size-1] ^= 0xff
			if changed, err := elfid.Recompute(got); !changed || err != nil {
				t.Fatalf("Recompute = %v, %v; want true, nil", changed, err)
			}
			if !bytes.Equal(got, want) {
				t.Error("Recompute did not restore the id")
			}
		})
	}
}

// goTestdata returns the names of the files of TestOtherMachines, or nil
// if they cannot be found.
func goTestdata() []string {
	out, err := exec.Command("go", "env", "GOROOT").Output()
	if err != nil {
		return nil
	}
	dir := filepath.Join(strings.TrimSpace(string(out)), "src", "runtime", "pprof", "testdata")
	var names []string
	for _, name := range []string{"test32", "test32be", "test64", "test64be"} {
		name = filepath.Join(dir, name)
		if _, err := os.Stat(name); err != nil {
			return nil
		}
		names = append(names, name)
	}
	return names
}

func TestFile(t *testing.T) {
	dir := t.TempDir()
	p := sha1Programs[0]
	want := readFile(t, build(t, dir, p, newHash, "sha1"))
	name := build(t, dir, p, oldHash, "sha1")
	if err := os.WriteFile(name, rewrite(t, readFile(t, name)), 0); err != nil {
		t.Fatal(err)
	}
	mtime := time.Date(2001, 2, 3, 4, 5, 6, 0, time.UTC)
	if err := os.Chtimes(name, mtime, mtime); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(name, 0o555); err != nil {
		t.Fatal(err)
	}

	for i, wantChanged := range []bool{true, false} {
		changed, err := elfid.File(name)
		if changed != wantChanged || err != nil {
			t.Fatalf("File, call %d = %v, %v; want %v, nil", i+1, changed, err, wantChanged)
		}
	}
	if got := readFile(t, name); !bytes.Equal(got, want) {
		t.Error("recomputed file differs from the direct build")
	}
	fi, err := os.Stat(name)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode() != 0o555 {
		t.Errorf("mode = %v, want %v", fi.Mode(), os.FileMode(0o555))
	}
	if !fi.ModTime().Equal(mtime) {
		t.Errorf("mtime = %v, want %v", fi.ModTime(), mtime)
	}
}

func TestErrors(t *testing.T) {
	dir := t.TempDir()
	c := sha1Programs[0]
	files := map[string]string{
		"md5":  build(t, dir, c, oldHash, "md5"),
		"uuid": build(t, dir, c, oldHash, "uuid"),
		"none": build(t, dir, c, oldHash, "none"),
	}
	if name, err := link(dir, program{"gold", cProgram, "c", []string{"-fuse-ld=gold"}, true}, oldHash, "sha1"); err == nil {
		files["gold"] = name
	} else {
		t.Log(err)
	}
	lld := program{"lld", cProgram + `__asm__(".section .comment\n.string \"Linker: LLD 14.0.6\"\n.previous");` + "\n", "c", nil, false}
	files["lld"] = build(t, dir, lld, newHash, "sha1")

	// Without section headers, as left by some strip tools; the PT_NOTE
	// segment still holds the id.
	noShdrs := readFile(t, build(t, dir, c, oldHash, "sha1"))
	clear(noShdrs[40:48]) // e_shoff
	clear(noShdrs[60:64]) // e_shnum, e_shstrndx
	// The test binary itself, made by the Go linker, has a GNU build-id of
	// its own making.
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	for name, data := range map[string][]byte{
		"noshdrs": noShdrs,
		"go":      readFile(t, exe),
		"text":    []byte("#!/bin/sh\necho hello\n"),
	} {
		files[name] = filepath.Join(dir, name)
		if err := os.WriteFile(files[name], data, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	files["missing"] = filepath.Join(dir, "missing")

	for _, tc := range []struct {
		file        string
		unsupported bool
		is          error
	}{
		{"md5", true, nil},
		{"uuid", true, nil},
		{"gold", true, nil},
		{"lld", true, nil},
		{"go", true, nil},
		{"noshdrs", true, nil},
		{"none", false, elfid.ErrNoBuildID},
		{"text", false, elfid.ErrNotELF},
		{"missing", false, os.ErrNotExist},
	} {
		t.Run(tc.file, func(t *testing.T) {
			name := files[tc.file]
			if name == "" {
				t.Skip("not built")
			}
			orig, _ := os.ReadFile(name)
			changed, err := elfid.File(name)
			t.Log(err)
			if changed || err == nil {
				t.Fatalf("File = %v, %v; want false and an error", changed, err)
			}
			if got, _ := os.ReadFile(name); !bytes.Equal(got, orig) {
				t.Error("File modified the file")
			}
			if !strings.Contains(err.Error(), name) {
				t.Errorf("error %q does not name the file", err)
			}
			var u *elfid.UnsupportedError
			if errors.As(err, &u) != tc.unsupported {
				t.Errorf("error is an UnsupportedError: %v, want %v", !tc.unsupported, tc.unsupported)
			} else if tc.unsupported && u.Path != name {
				t.Errorf("UnsupportedError.Path = %q, want %q", u.Path, name)
			}
			if tc.is != nil && !errors.Is(err, tc.is) {
				t.Errorf("error is not %v", tc.is)
			}
			if orig == nil {
				return
			}

			data := bytes.Clone(orig)
			rchanged, rerr := elfid.Recompute(data)
			if rchanged || rerr == nil || errors.As(rerr, &u) != tc.unsupported || tc.is != nil && !errors.Is(rerr, tc.is) {
				t.Errorf("Recompute = %v, %v; want false and the error of File", rchanged, rerr)
			}
			if !bytes.Equal(data, orig) {
				t.Error("Recompute modified its input")
			}
		})
	}
}

func TestIs(t *testing.T) {
	for _, tc := range []struct {
		data string
		want bool
	}{
		{"\x7fELF\x02\x01\x01", true},
		{"\x7fELF", true},
		{"\x7fEL", false},
		{"#!/bin/sh", false},
		{"", false},
	} {
		if got := elfid.IsELF([]byte(tc.data)); got != tc.want {
			t.Errorf("IsELF(%q) = %v, want %v", tc.data, got, tc.want)
		}
	}
}

func FuzzRecompute(f *testing.F) {
	f.Add([]byte("\x7fELF"))
	f.Add([]byte("\x7fELF\x02\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00"))
	for _, name := range goTestdata() {
		f.Add(readFile(f, name))
	}
	if _, err := exec.LookPath("gcc"); err == nil {
		p := program{"seed", noLibc, "c", []string{"-Os", "-nostdlib", "-static", "-s", "-Wl,-z,noseparate-code"}, true}
		if name, err := link(f.TempDir(), p, oldHash, "sha1"); err == nil {
			b := readFile(f, name)
			f.Add(b)
			f.Add(bytes.ReplaceAll(b, []byte(oldHash), []byte(newHash)))
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		orig := bytes.Clone(data)
		changed, err := elfid.Recompute(data)
		if err != nil || !changed {
			if !bytes.Equal(data, orig) {
				t.Fatalf("Recompute = %v, %v and modified its input", changed, err)
			}
			return
		}
		if diff := countDiff(data, orig); diff == 0 || diff > 20 {
			t.Fatalf("Recompute changed %d bytes", diff)
		}
		if changed, err := elfid.Recompute(data); changed || err != nil {
			t.Fatalf("second Recompute = %v, %v; want false, nil", changed, err)
		}
	})
}

func countDiff(a, b []byte) int {
	n := 0
	for i := range a {
		if a[i] != b[i] {
			n++
		}
	}
	return n
}
