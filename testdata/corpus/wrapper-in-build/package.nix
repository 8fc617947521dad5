# Class 8: makeWrapper called in buildPhase (the wrapper is built with the
# rest and installed by make).
{ stdenv, makeWrapper, python3 }:
stdenv.mkDerivation {
  pname = "wrapped-early";
  version = "1.0";
  src = ./src;
  nativeBuildInputs = [ makeWrapper ];
  buildInputs = [ python3 ];
  buildPhase = ''
    runHook preBuild
    make PREFIX=$out
    makeWrapper ${python3}/bin/python3 wrapped-early \
      --add-flags "$out/libexec/wrapped-early/main.py" \
      --set WRAPPED_BY buildPhase
    runHook postBuild
  '';
  makeFlags = [ "PREFIX=${placeholder "out"}" ];
}
