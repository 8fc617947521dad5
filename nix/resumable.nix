# The entry point of the split: `resumable pkg` is pkg's resumable build when
# pkg sets `vanillaPackage = true`, pkg itself otherwise. The stages are
# made in split.nix. See docs/design.md.
{
  lib,
  vanillaHook,
  # stdenv -> the mkDerivation of nixpkgs' make-derivation.nix for it: the
  # stages are made with it, not with the stdenv's own mkDerivation, which
  # may apply an adapter (makeStatic's configure flags) once more to
  # attributes that already went through it.
  makeDerivationFor,
}:
let
  inherit (import ./attrs.nix) attrsOf;
  split = import ./split.nix { inherit lib vanillaHook; };

  # Why a package cannot be split, or null.
  unsplittable =
    attrs:
    if attrs ? buildCommand || attrs ? buildCommandPath then
      "it sets buildCommand, which runs as one piece"
    else if attrs ? outputHash then
      "it is a fixed-output derivation"
    else if attrs.__contentAddressed or false then
      "it is content-addressed, so its output paths are not known in advance"
    else
      null;

  # pkg with `mark` applied to it and to each of its outputs (`pkg.lib`,
  # `pkg.lib.dev`, …), and with an overrideAttrs that goes through `override`.
  # An output's overrideAttrs selects the same output of the result, as
  # nixpkgs' own does (lib.extendDerivation), so that
  # `nghttp2.lib.overrideAttrs { vanillaPackage = true; }` is the split
  # build's lib output.
  present =
    pkg: mark: override:
    let
      outputs = lib.genAttrs (pkg.outputs or [ "out" ]) (
        o: mark (pkg.${o} or pkg) // outputs // { overrideAttrs = f: (override f).${o}; }
      );
    in
    mark pkg // outputs // { overrideAttrs = override; };

  # What another application of the overlay (a stdenv wrapped twice, or an
  # adapter's overrideAttrs on a package already made resumable) must leave
  # as it is.
  isMade = pkg: pkg ? vanillaUnsplit || (pkg.vanillaStage or null) == "final";

  # A package that asked for the split and cannot have it: built as it is,
  # with one warning when its derivation is used.
  unsplit =
    why: base:
    let
      warning = lib.warn "nix-vanilla: building ${base.name} unsplit: ${why}" null;
      mark =
        p:
        p
        // {
          vanillaUnsplit = why;
          drvPath = builtins.seq warning p.drvPath;
          outPath = builtins.seq warning p.outPath;
        };
    in
    present base mark (f: resumable (base.overrideAttrs f));

  splitBuild =
    base:
    let
      stages = split (
        base
        // {
          stdenv = base.stdenv // {
            mkDerivation = makeDerivationFor base.stdenv;
          };
        }
      );
    in
    # The stages are attributes of the package and of its passthru, where
    # nixpkgs users look for such things (`pkg.passthru.tests`…):
    # `pkg.vanilla` and `pkg.passthru.vanilla` are the same derivation.
    present stages.final (
      p:
      p
      // {
        inherit (stages) vanilla unwrapped;
        passthru = (p.passthru or { }) // {
          inherit (stages) vanilla unwrapped;
        };
      }
    ) (f: resumable (base.overrideAttrs f));

  /**
    Split a package into a resumable build when it sets
    `vanillaPackage = true`; return it unchanged otherwise, but with an
    `overrideAttrs` (on it and on each of its outputs) that keeps applying
    this function.

    # Example

    ```nix
    resumable (hello.overrideAttrs { vanillaPackage = true; })
    # => the final stage, with .vanilla and .unwrapped
    ```
  */
  resumable =
    base:
    if isMade base then
      base
    else if !(base.vanillaPackage or false) then
      present base (p: p) (f: resumable (base.overrideAttrs f))
    else
      let
        why = unsplittable (attrsOf base);
      in
      if why != null then unsplit why base else splitBuild base;
in
resumable
