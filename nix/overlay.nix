# The nixpkgs overlay: `vanillaPackage = true` on any stdenv.mkDerivation
# makes it a resumable build. Packages without the flag keep exactly their
# derivations, in every package set (see docs/design.md, "The overlay"):
#
# - Only stdenv's `mkDerivationFromStdenv` argument is wrapped; it is not
#   part of the stdenv derivation, and stdenvs made from this one with
#   `.override` (stdenvNoCC, overrideCC, the adapters, the stages of a
#   cross package set) keep the wrapper.
# - The overridden stdenv keeps every attribute the old one had beyond what
#   stdenv/generic makes: nixpkgs' stage builder adds `__bootPackages`, from
#   which binutils takes its source, so dropping it changes the bootstrap.
# - A stdenv that has the wrapper already (the overlay is applied to every
#   bootstrap stage and to every stage of a cross package set) is left as
#   it is.
#
# Example:
#   import <nixpkgs> { overlays = [ (import ./nix/overlay.nix) ]; }
final: prev:
let
  inherit (prev) lib;
  vanilla = import ./default.nix { pkgs = final; };
  # The hook and its helper run where the package is built: in a cross
  # package set (pkgsStatic) they are buildPackages'.
  # (The test bed's package set has an empty buildPackages.)
  buildPkgs = if final.buildPackages or { } ? vanillaHook then final.buildPackages else final;
  inherit (import ./default.nix { pkgs = buildPkgs; }) resumable;

  defaultMkDerivationFromStdenv =
    config: stdenv:
    (import (prev.path + "/pkgs/stdenv/generic/make-derivation.nix") { inherit lib config; } stdenv)
    .mkDerivation;

  # A functor, so that it can be recognised in a stdenv's arguments.
  wrapper = old: {
    __vanillaResumable = true;
    __functor =
      _: stdenv:
      let
        super = (old.mkDerivationFromStdenv or (defaultMkDerivationFromStdenv old.config)) stdenv;
      in
      fnOrAttrs: resumable (super fnOrAttrs);
  };

  # The arguments a stdenv was made from (stdenv/generic is makeOverridable).
  argsOf =
    stdenv:
    (stdenv.override (old: {
      extraAttrs = (old.extraAttrs or { }) // {
        __vanillaArgs = old;
      };
    })).__vanillaArgs;

  hasWrapper = stdenv: (argsOf stdenv).mkDerivationFromStdenv.__vanillaResumable or false;
in
{
  vanilla-helper = vanilla.helper;
  inherit (vanilla) vanillaHook withVanillaHook vanillaStdenv;

  stdenv =
    if !(prev.stdenv ? override) || hasWrapper prev.stdenv then
      prev.stdenv
    else
      prev.stdenv // prev.stdenv.override (old: { mkDerivationFromStdenv = wrapper old; });
}
