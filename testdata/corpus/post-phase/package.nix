# Class 8: a custom phase in postPhases that records the installed files.
{ stdenv }:
stdenv.mkDerivation {
  pname = "post-phase";
  version = "1.0";
  src = ./src;
  makeFlags = [ "PREFIX=${placeholder "out"}" ];
  postPhases = [ "manifestPhase" ];
  manifestPhase = ''
    (cd $out && find . -type f | LC_ALL=C sort) > $TMPDIR/manifest
    install -Dm644 $TMPDIR/manifest $out/share/post-phase/MANIFEST
  '';
}
