# The nixpkgs overlay: `vanillaPackage = true` on any stdenv.mkDerivation
# makes it a resumable build. Packages without the flag keep exactly their
# derivations: only stdenv's mkDerivation function is wrapped, which is not
# part of the stdenv derivation.
#
# Example:
#   import <nixpkgs> { overlays = [ (import ./nix/overlay.nix) ]; }
final: prev:
let
  vanilla = import ./default.nix { pkgs = final; };
in
{
  vanilla-helper = vanilla.helper;
  inherit (vanilla) vanillaHook;

  stdenv = prev.stdenv.override (old: {
    mkDerivationFromStdenv =
      stdenv:
      let
        super =
          old.mkDerivationFromStdenv or (
            stdenv:
            (import (prev.path + "/pkgs/stdenv/generic/make-derivation.nix") {
              inherit (prev) lib;
              inherit (old) config;
            } stdenv).mkDerivation
          ) stdenv;
      in
      fnOrAttrs: vanilla.resumable (super fnOrAttrs);
  });
}
