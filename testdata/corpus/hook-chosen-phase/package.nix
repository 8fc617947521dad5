# Class 1 with a hook of the package's own: like meson's, it picks the
# install phase once configure has run (a tool that installs by its own
# manifest rather than `make install`), unless the package set one.
{ stdenv, makeSetupHook }:
let
  manifestInstallHook = makeSetupHook { name = "manifest-install-hook"; } ./manifest-install-hook.sh;
in
stdenv.mkDerivation {
  pname = "hook-chosen-phase";
  version = "2.1";
  src = ./src;
  nativeBuildInputs = [ manifestInstallHook ];
  makeFlags = [ "PREFIX=${placeholder "out"}" ];
}
