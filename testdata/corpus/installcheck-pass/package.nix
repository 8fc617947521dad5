# Class 2: `make installcheck` (the default installCheckPhase) runs the
# installed program; it needs the build tree's Makefile.
{ stdenv }:
stdenv.mkDerivation {
  pname = "installcheck-pass";
  version = "1.4";
  src = ./src;
  makeFlags = [ "prefix=${placeholder "out"}" ];
  doInstallCheck = true;
}
