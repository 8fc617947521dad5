# Class 2: the installed program is broken (it reads its table from a path
# that install does not create), `make installcheck` finds it, and the
# build must fail — split as well as plain.
{ stdenv }:
stdenv.mkDerivation {
  pname = "installcheck-fail";
  version = "0.9";
  src = ./src;
  makeFlags = [ "prefix=${placeholder "out"}" ];
  doInstallCheck = true;
}
