# The entry point of the split: `resumable pkg` is pkg's resumable build when
# pkg sets `vanillaPackage = true`, pkg itself otherwise. The stages are
# made in split.nix. See docs/design.md.
{ lib, vanillaHook }:
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

  /**
    Split a package into a resumable build when it sets
    `vanillaPackage = true`; return it unchanged otherwise, but with an
    `overrideAttrs` that keeps applying this function.

    # Example

    ```nix
    resumable (hello.overrideAttrs { vanillaPackage = true; })
    # => the final stage, with .vanilla and .unwrapped
    ```
  */
  resumable =
    base:
    if !(base.vanillaPackage or false) then
      base // { overrideAttrs = f: resumable (base.overrideAttrs f); }
    else
      let
        why = unsplittable (attrsOf base);
        stages = split base;
      in
      if why != null then
        lib.warn "nix-vanilla: building ${base.name} unsplit: ${why}" base
      else
        stages.final
        // {
          inherit (stages) vanilla unwrapped;
          overrideAttrs = f: resumable (base.overrideAttrs f);
        };
in
resumable
