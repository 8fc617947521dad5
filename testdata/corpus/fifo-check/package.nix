# Class 6: the build makes a FIFO that the test suite (checkPhase) talks
# through.
{ stdenv }:
stdenv.mkDerivation {
  pname = "fifo-echo";
  version = "0.2";
  src = ./src;
  makeFlags = [ "PREFIX=${placeholder "out"}" ];
  doCheck = true;
}
