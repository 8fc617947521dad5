# nix-vanilla for a package set, without the overlay.
#
# Example:
#   let vanilla = import ./nix { inherit pkgs; };
#   in vanilla.resumable (pkgs.hello.overrideAttrs { vanillaPackage = true; })
{ pkgs }:
rec {
  # The helper binary (cmd/vanilla).
  helper = pkgs.callPackage ./helper.nix { };

  # The setup hook; also what `nativeBuildInputs = [ vanillaHook ]` adds.
  vanillaHook = pkgs.callPackage ./hook.nix { inherit helper; };

  /**
    An stdenv adapter that adds vanillaHook to every package built with it
    (fetchers aside): `hello.override { stdenv = withVanillaHook stdenv; }`.
    See nix/with-hook.nix and docs/cache.md.
  */
  withVanillaHook = import ./with-hook.nix {
    inherit (pkgs) lib path;
    inherit vanillaHook;
  };

  /**
    The stdenv whose setup.sh has hook points between the phases (`vanilla
    patch-setup`), which vanillaHook uses instead of wrapping runPhase:
    `hello.override { stdenv = vanillaStdenv; }`. An experiment for
    nixpkgs; see nix/vanilla-stdenv.nix and docs/stdenv-patch.md.
  */
  vanillaStdenv = import ./vanilla-stdenv.nix {
    inherit (pkgs) lib path stdenv stdenvNoCC;
    inherit helper;
  };

  /**
    Split a package made by any stdenv into a resumable build. The package
    must set `vanillaPackage = true` (or it is returned as it is):

    ```nix
    resumable (pkg.overrideAttrs { vanillaPackage = true; })
    ```
  */
  resumable = import ./resumable.nix {
    inherit (pkgs) lib;
    inherit vanillaHook;
    makeDerivationFor =
      stdenv:
      (import (pkgs.path + "/pkgs/stdenv/generic/make-derivation.nix") {
        inherit (pkgs) lib config;
      } stdenv).mkDerivation;
  };
}
