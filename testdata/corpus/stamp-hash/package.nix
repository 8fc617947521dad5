# Class 9: a build-tree stamp file whose name contains the output's name
# (and so its hash); the install target depends on it.
{ stdenv }:
stdenv.mkDerivation {
  pname = "stamp-hash";
  version = "1.0";
  src = ./src;
  makeFlags = [ "PREFIX=${placeholder "out"}" ];
}
