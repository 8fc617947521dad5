# Class 1: meson's setup hook chooses installPhase and checkPhase during
# configure. Only the runtime tag is installed (no header, no static
# library), and only the "fast" test suite runs: the "slow" suite fails on
# purpose, so running every test (ninja test) fails the build.
{ stdenv, meson, ninja, pkg-config }:
stdenv.mkDerivation {
  pname = "meson-tags";
  version = "0.3.1";
  src = ./src;
  nativeBuildInputs = [ meson ninja pkg-config ];
  mesonFlags = [ "-Dgreeting=tagged" ];
  mesonInstallTags = [ "runtime" ];
  mesonInstallFlags = [ "--skip-subprojects" ];
  doCheck = true;
  mesonCheckFlags = [ "--suite" "fast" ];
}
