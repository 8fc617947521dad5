package testbed

import (
	"context"
	"encoding/base64"
	hexpkg "encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

var bed *Bed

func TestMain(m *testing.M) {
	var err error
	bed, err = New("../..")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	os.Exit(m.Run())
}

// TestFixtures builds every fixture in the sandbox and runs its check.sh.
func TestFixtures(t *testing.T) {
	names, err := bed.Fixtures()
	if err != nil {
		t.Fatal(err)
	}
	if len(names) < 10 {
		t.Fatalf("found %d fixtures in testdata/fixtures, want at least 10", len(names))
	}
	for _, name := range names {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			outs, err := bed.Build(ctx, t.TempDir(), bed.Path("testdata/fixtures"), "-A", name)
			if err != nil {
				t.Fatal(err)
			}
			if err := bed.Check(ctx, name, outs); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestUnseenProject builds a plain make project written here, with two
// outputs and makeFlags, through host-pkgs.nix imported by absolute path
// from another directory, with an overlay that replaces stdenv.
func TestUnseenProject(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("uname.c", "#include <stdio.h>\n#include \"uname.h\"\nint main(void) { printf(\"%s %s\\n\", NAME, OVERLAY); return 0; }\n")
	write("uname.h", "#define NAME \"unseen\"\n")
	write("Makefile", "all: unseen\nunseen: uname.c\n\t$(CC) -DOVERLAY=\\\"$$FROM_OVERLAY\\\" -o $@ uname.c\ninstall:\n\tinstall -Dm755 unseen $(BINDIR)/unseen\n\tinstall -Dm644 uname.h $(INCDIR)/uname.h\n")
	write("default.nix", fmt.Sprintf(`
let
  pkgs = import %q {
    overlays = [
      (final: prev: {
        stdenv = prev.stdenv.override { preHook = "export FROM_OVERLAY=overlaid"; };
      })
    ];
  };
in
pkgs.stdenv.mkDerivation {
  name = "unseen";
  src = builtins.path { name = "unseen-src"; path = ./.; filter = p: t: baseNameOf p != "default.nix"; };
  outputs = [ "out" "dev" ];
  makeFlags = [ "BINDIR=${placeholder "out"}/bin" "INCDIR=${placeholder "dev"}/include" ];
}
`, bed.Path("nix/host-pkgs.nix")))
	outs, err := bed.Build(context.Background(), t.TempDir(), filepath.Join(dir, "default.nix"))
	if err != nil {
		t.Fatal(err)
	}
	got, err := exec.Command(filepath.Join(outs["out"], "bin/unseen")).Output()
	if err != nil {
		t.Fatal(err)
	}
	if want := "unseen overlaid\n"; string(got) != want {
		t.Errorf("unseen printed %q, want %q", got, want)
	}
	if _, err := os.Stat(filepath.Join(outs["dev"], "include/uname.h")); err != nil {
		t.Errorf("dev output: %v", err)
	}
}

// TestHostToolsAreInputs checks that tools nixpkgs packages separately are
// not on PATH unless they are inputs, as in nixpkgs.
func TestHostToolsAreInputs(t *testing.T) {
	expr := fmt.Sprintf(`
let pkgs = import %q { }; in
pkgs.stdenv.mkDerivation {
  name = "no-cmake";
  dontUnpack = true;
  installPhase = "if command -v cmake; then exit 1; fi; command -v cc > $out";
}`, bed.Path("nix/host-pkgs.nix"))
	outs, err := bed.Build(context.Background(), t.TempDir(), "-E", expr)
	if err != nil {
		t.Fatal(err)
	}
	cc, err := os.ReadFile(outs["out"])
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(cc), "-host-cc/bin/cc") {
		t.Errorf("cc is %q, want the host-cc wrapper", cc)
	}
}

// TestVendorHash checks that nix/helper.nix's vendorHash, which nixpkgs'
// buildGoModule verifies and the test bed ignores, is the hash of the
// modules go.sum names, as `go mod vendor` lays them out.
func TestVendorHash(t *testing.T) {
	vendor := filepath.Join(t.TempDir(), "vendor")
	cmd := exec.Command("go", "mod", "vendor", "-o", vendor)
	cmd.Dir = bed.Root
	cmd.Env = append(os.Environ(), "GOMODCACHE="+ModuleCache, "GOFLAGS=-mod=mod", "GOPROXY=off")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go mod vendor: %v\n%s", err, out)
	}
	hash := exec.Command("nix-hash", "--type", "sha256", vendor)
	hash.Env = bed.Env()
	hex, err := hash.Output()
	if err != nil {
		t.Fatal(err)
	}
	raw, err := hexpkg.DecodeString(strings.TrimSpace(string(hex)))
	if err != nil {
		t.Fatal(err)
	}
	want := "sha256-" + base64.StdEncoding.EncodeToString(raw)
	got, err := bed.Eval(context.Background(), fmt.Sprintf(
		`import %q { lib = (import <nixpkgs/lib>); go = { version = "1.26.0"; }; buildGoModule = args: args.vendorHash; }`, bed.Path("nix/helper.nix")))
	if err != nil {
		t.Fatal(err)
	}
	if got != `"`+want+`"` {
		t.Errorf("nix/helper.nix has vendorHash = %s; go.sum's modules hash to %q", got, want)
	}
}
