# A package set built on <nixpkgs>' own stdenv (pkgs/stdenv/generic: its
# setup.sh, make-derivation.nix and default setup hooks) with the host's
# Debian tools in place of the bootstrap toolchain, which cannot be
# downloaded here. See docs/test-bed.md for what this changes.
#
# Overlays are applied the nixpkgs way and may replace `stdenv`.
#
# Example:
#   let pkgs = import ./nix/host-pkgs.nix {
#     overlays = [ (final: prev: { hello = final.callPackage ./hello.nix { }; }) ];
#   };
#   in pkgs.hello
{
  overlays ? [ ],
  system ? builtins.currentSystem,
  nixpkgs ? <nixpkgs>,
}:
let
  lib = import (nixpkgs + "/lib");
  base = import ./host/packages.nix { inherit lib nixpkgs system; };
in
lib.fix (lib.extends (lib.composeManyExtensions overlays) base)
