# Class 9: SCons keeps digests of command lines (.sconsign), and the
# install prefix is on the compile command line.
{ stdenv, python3 }:
stdenv.mkDerivation {
  pname = "scons-prefix";
  version = "1.0";
  src = ./src;
  nativeBuildInputs = [ python3 ];
  dontConfigure = true;
  buildPhase = ''
    runHook preBuild
    scons -j$NIX_BUILD_CORES PREFIX=$out
    runHook postBuild
  '';
  installPhase = ''
    runHook preInstall
    scons PREFIX=$out install
    runHook postInstall
  '';
}
