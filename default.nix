# nix-vanilla, the classic way (no flakes, no experimental feature):
#
#   let
#     vanilla = import ./path/to/nix-vanilla { inherit pkgs; };
#   in
#   vanilla.resumable (pkgs.hello.overrideAttrs { vanillaPackage = true; })
#
# or as an overlay:
#
#   import <nixpkgs> { overlays = [ (import ./path/to/nix-vanilla { }).overlay ]; }
#
# Thin over nix/: flake.nix exposes the same pieces. See docs/ for each.
{
  pkgs ? import <nixpkgs> { },
}:
let
  vanilla = import ./nix { inherit pkgs; };
in
{
  # final: prev: { … }: `vanillaPackage = true` on any stdenv.mkDerivation
  # (docs/vanilla-package.md).
  overlay = import ./nix/overlay.nix;
  # package -> its resumable build (docs/resumable.md).
  inherit (vanilla) resumable;
  # The setup hook of hook mode (docs/cache.md, docs/vanilla-hook.md).
  inherit (vanilla) vanillaHook;
  # stdenv -> stdenv with vanillaHook (docs/with-vanilla-hook.md).
  inherit (vanilla) withVanillaHook;
  # The stdenv with hook points between the phases (docs/stdenv-patch.md).
  inherit (vanilla) vanillaStdenv;
  # The `vanilla` command (docs/cli.md).
  inherit (vanilla) helper;
}
