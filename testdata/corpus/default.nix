# The corpus: realistic packages written the way nixpkgs maintainers write
# them, one per directory that holds a package.nix, built with the host
# package set (../../nix/host-pkgs.nix). Each directory's check.sh runs the
# package's own behavioural check (see internal/testbed/corpus_test.go).
#
# With `split = true`, nix-vanilla's overlay is applied and every package
# sets vanillaPackage = true. `tier` names the build-directory tier the
# test runs in ("tmpfs" or "disk"); any tier but "tmpfs" is added as an
# attribute, so the same package gets a derivation of its own per tier and
# really is built again there.
#
# With `patchedStdenv = true`, every package is built with vanillaStdenv
# (setup.sh with hook points between the phases, docs/stdenv-patch.md)
# instead of the stdenv.
#
# Example:
#   nix-build testdata/corpus -A meson-tags
#   nix-build testdata/corpus --arg split true -A meson-tags
{
  overlays ? [ ],
  split ? false,
  tier ? "tmpfs",
  patchedStdenv ? false,
  pkgs ? import ../../nix/host-pkgs.nix {
    overlays = overlays ++ (if split then [ (import ../../nix/overlay.nix) ] else [ ]);
  },
}:
let
  inherit (pkgs) lib;
  names = lib.attrNames (
    lib.filterAttrs (name: type: type == "directory" && builtins.pathExists (./. + "/${name}/package.nix")) (
      builtins.readDir ./.
    )
  );
  marked = p: if tier == "tmpfs" then p else p.overrideAttrs { corpusTier = tier; };
  package =
    name:
    marked (
      pkgs.callPackage (./. + "/${name}/package.nix") (
        lib.optionalAttrs patchedStdenv { stdenv = (import ../../nix { inherit pkgs; }).vanillaStdenv; }
      )
    );
in
lib.genAttrs names (
  name: if split then (package name).overrideAttrs { vanillaPackage = true; } else package name
)
