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

// TestWithVanillaHook evaluates the stdenv adapter on the real nixpkgs (zlib):
// packages built with it get vanillaHook (attribute sets and functions of
// finalAttrs alike), fixed-output derivations and the helper do not, the
// package set's own packages are unchanged, and a package with the flag
// too is split.
func TestWithVanillaHook(t *testing.T) {
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
  pkgs = import <nixpkgs> { overlays = [ stubGo (import %[1]q) ]; };
  s = pkgs.withVanillaHook pkgs.stdenv;
  has = d: builtins.any (x: (x.name or "") == "vanilla-hook") (d.nativeBuildInputs or [ ]);
  hello = pkgs.zlib.override { stdenv = s; };
  fod = s.mkDerivation {
    name = "fetched";
    outputHashAlgo = "sha256";
    outputHashMode = "flat";
    outputHash = "0000000000000000000000000000000000000000000000000000";
    buildCommand = "exit 1";
  };
  fun = s.mkDerivation (finalAttrs: { pname = "f"; version = "1"; dontUnpack = true; });
  helper = pkgs.callPackage %[2]q {
    buildGoModule = args: s.mkDerivation (removeAttrs args [ "vendorHash" "subPackages" "ldflags" ]);
    go = { version = "1.26.0"; };
  };
  split = hello.overrideAttrs { vanillaPackage = true; };
in {
  hello = has hello;
  plainHello = has pkgs.zlib;
  fod = has fod;
  fun = has fun;
  helper = has helper;
  drv = builtins.isString hello.drvPath;
  split = split ? vanilla && has split.vanilla;
}`, filepath.Join(nixDir, "overlay.nix"), filepath.Join(nixDir, "helper.nix"))
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
	want := map[string]bool{"hello": true, "plainHello": false, "fod": false, "fun": true, "helper": false, "drv": true, "split": true}
	for k, w := range want {
		if got[k] != w {
			t.Errorf("%s = %v, want %v", k, got[k], w)
		}
	}
}
