# The package scripts/demo builds: a C program of 160 generated files, a
# build of about half a minute on two cores, split with vanillaPackage.
#
# Example:
#   nix-build testdata/demo --argstr stamp 1 --argstr note "hello"
{
  stamp ? "",
  note ? "",
  split ? true,
  pkgs ? import ../../nix/host-pkgs.nix { overlays = [ (import ../../nix/overlay.nix) ]; },
}:
pkgs.stdenv.mkDerivation {
  pname = "demo";
  version = "1.0";
  src = ./src;
  vanillaPackage = split;
  enableParallelBuilding = true;
  makeFlags = [ "PREFIX=${placeholder "out"}" ];
  # An early attribute: a new stamp rebuilds everything.
  env.DEMO_STAMP = stamp;
  # A late one: a new note rebuilds the final stage alone.
  postFixup = ''
    mkdir -p "$out/share/demo"
    echo ${pkgs.lib.escapeShellArg note} > "$out/share/demo/note"
  '';
}
