# Class 8: a custom phase in preInstallPhases that writes documentation
# from the built program.
{ stdenv }:
stdenv.mkDerivation {
  pname = "doc-phase";
  version = "1.0";
  src = ./src;
  makeFlags = [ "PREFIX=${placeholder "out"}" ];
  preInstallPhases = [ "docPhase" ];
  docPhase = ''
    mkdir -p $out/share/doc/doc-phase
    ./greet --help > $out/share/doc/doc-phase/usage.txt
  '';
}
