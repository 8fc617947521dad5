# vanillaStdenv: the stdenv experiment of docs/stdenv-patch.md. It is the
# given stdenv with nixpkgs' setup.sh patched by `vanilla patch-setup`,
# whose genericBuild runs `runHook beforePhase NAME` and `runHook
# afterPhase NAME` around each phase (and skips one a hook marks with
# skipPhase): vanillaHook registers there instead of wrapping runPhase and
# runHook. A package without the hook builds as with the stock stdenv.
#
# The patched script is made at build time, by the helper, from the
# stdenv's own setup script (the one it was made with, or nixpkgs'). The
# helper is built with an stdenv too, so vanillaStdenv cannot be the
# package set's stdenv: use it for chosen packages.
#
# Example:
#   hello.override { stdenv = vanillaStdenv; }
{
  lib,
  path,
  stdenv,
  stdenvNoCC,
  helper,
}:
let
  patchedSetup =
    setup:
    stdenvNoCC.mkDerivation {
      name = "setup.sh";
      # withVanillaHook and the overlay leave it alone: it is part of a
      # stdenv, and has no build to resume.
      __vanillaNoHook = true;
      buildCommand = ''
        cp ${setup} setup.sh
        ${helper}/bin/vanilla patch-setup setup.sh
        ${helper}/bin/vanilla patch-setup -w setup.sh
        cp setup.sh "$out"
      '';
    };
in
# `//` keeps what the stdenv's maker added after stdenv/generic (the
# bootstrap's __bootPackages; design.md, "The overlay").
stdenv
// stdenv.override (old: {
  setupScript = patchedSetup (old.setupScript or (path + "/pkgs/stdenv/generic/setup.sh"));
})
