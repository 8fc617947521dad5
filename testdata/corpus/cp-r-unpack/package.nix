# Class 5: the source is copied with `cp -r` (no times kept), as many
# nixpkgs packages with a local source do.
{ stdenv }:
stdenv.mkDerivation {
  pname = "cp-unpack";
  version = "1.0";
  src = ./src;
  unpackPhase = ''
    runHook preUnpack
    cp -r $src source
    chmod -R u+w source
    runHook postUnpack
  '';
  sourceRoot = "source";
  makeFlags = [ "PREFIX=${placeholder "out"}" ];
}
