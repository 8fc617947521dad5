# Class 6: the build leaves a file of mode 000 in the tree (a fixture for
# the program's permission-error test, run in checkPhase).
{ stdenv }:
stdenv.mkDerivation {
  pname = "perm-test";
  version = "1.0";
  src = ./src;
  makeFlags = [ "PREFIX=${placeholder "out"}" ];
  doCheck = true;
}
