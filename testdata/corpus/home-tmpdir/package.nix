# Class 8: `export HOME=$TMPDIR` in preConfigure, for a tool that keeps a
# cache in ~/.cache and is run again at install time.
{ stdenv, python3 }:
stdenv.mkDerivation {
  pname = "home-cache";
  version = "1.0";
  src = ./src;
  nativeBuildInputs = [ python3 ];
  preConfigure = ''
    export HOME=$TMPDIR
  '';
  buildPhase = ''
    runHook preBuild
    python3 gen.py build > greeting.txt
    runHook postBuild
  '';
  installPhase = ''
    runHook preInstall
    mkdir -p $out/share/home-cache
    python3 gen.py install > $out/share/home-cache/install.txt
    cp greeting.txt $out/share/home-cache/
    runHook postInstall
  '';
}
