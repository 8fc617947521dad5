# withVanillaHook: an stdenv adapter, like nixpkgs' ccacheStdenv, that adds
# vanillaHook (hook mode: resume from the local cache, docs/cache.md) to
# every package built with it. Fixed-output derivations (fetchers) are
# left alone: they have no build to resume. A package that also sets
# vanillaPackage = true builds as the pure split, whose stages the hook
# serves.
#
# Use it for chosen packages, not as the package set's stdenv: the hook's
# helper is built with an stdenv too, and nixpkgs' stdenv bootstrap and
# the helper's dependencies would then depend on the hook (as with
# ccacheStdenv).
#
# Example:
#   hello.override { stdenv = withVanillaHook stdenv; }
{
  lib,
  path,
  vanillaHook,
}:
stdenv:
let
  defaultMkDerivationFromStdenv =
    config: stdenv:
    (import (path + "/pkgs/stdenv/generic/make-derivation.nix") { inherit lib config; } stdenv).mkDerivation;
  addHook =
    attrs:
    if attrs ? outputHash || attrs.__vanillaNoHook or false then
      attrs
    else
      attrs
      // {
        nativeBuildInputs = (attrs.nativeBuildInputs or [ ]) ++ [ vanillaHook ];
      };
in
stdenv.override (old: {
  mkDerivationFromStdenv =
    stdenvSelf:
    let
      super = (old.mkDerivationFromStdenv or (defaultMkDerivationFromStdenv old.config)) stdenvSelf;
    in
    fnOrAttrs: super (if lib.isFunction fnOrAttrs then (finalAttrs: addHook (fnOrAttrs finalAttrs)) else addHook fnOrAttrs);
})
