package nixpkgseval

import (
	"context"
	"encoding/json"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestVanillaStdenv evaluates the overlay's vanillaStdenv on the real
// nixpkgs, with its own bootstrap stdenv: its setup script is the patched
// one (a derivation of the helper's) and everything else is the stdenv's
// (its __bootPackages kept, its cc, its mkDerivation wrapper, so that a
// package with the flag built with it is split); the package set's own
// packages keep their derivations.
func TestVanillaStdenv(t *testing.T) {
	needNix(t)
	nixDir, err := filepath.Abs("../../nix")
	if err != nil {
		t.Fatal(err)
	}
	expr := fmt.Sprintf(`
let
  stubGo = final: prev: {
    buildGoModule = args: final.stdenv.mkDerivation (removeAttrs args [ "vendorHash" "subPackages" "ldflags" ]);
    go = { version = "1.26.0"; };
  };
  plain = import <nixpkgs> { };
  pkgs = import <nixpkgs> { overlays = [ stubGo (import %[1]q) ]; };
  s = pkgs.vanillaStdenv;
  zlib = pkgs.zlib.override { stdenv = s; };
  split = zlib.overrideAttrs { vanillaPackage = true; };
in {
  setup = s.setup.name or "" == "setup.sh" && builtins.match ".*vanilla patch-setup.*" s.setup.buildCommand != null;
  other = s.drvPath != pkgs.stdenv.drvPath;
  boot = s ? __bootPackages && pkgs.stdenv ? __bootPackages;
  cc = s.cc.drvPath == pkgs.stdenv.cc.drvPath;
  zlibNew = zlib.drvPath != pkgs.zlib.drvPath;
  zlibSame = pkgs.zlib.drvPath == plain.zlib.drvPath;
  split = split ? vanilla && split.vanilla.stdenv.drvPath == s.drvPath;
}`, filepath.Join(nixDir, "overlay.nix"))
	// --read-write-mode: the evaluation adds sources it interpolates (nixpkgs'
	// pkgs/tools/compression/zstd, for one) to the store; read-only, a fresh
	// store fails with "path … is not valid".
	cmd := exec.CommandContext(context.Background(), "nix-instantiate", "--eval", "--read-write-mode", "--strict", "--json", "-E", expr)
	cmd.Env = env
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	var got map[string]bool
	if err := json.Unmarshal(out[strings.LastIndex(string(out), "{"):], &got); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	for _, k := range []string{"setup", "other", "boot", "cc", "zlibNew", "zlibSame", "split"} {
		if !got[k] {
			t.Errorf("%s = false, want true", k)
		}
	}
}
