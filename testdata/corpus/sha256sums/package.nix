# Class 3: `make install` writes SHA256SUMS over installed files, one of
# which names $out.
{ stdenv }:
stdenv.mkDerivation {
  pname = "sums";
  version = "1.0";
  src = ./src;
  makeFlags = [ "PREFIX=${placeholder "out"}" ];
}
