# Common shape: two libtool libraries, one linked against the other, so
# `make install` relinks the second against the installed first.
{ stdenv, autoreconfHook }:
stdenv.mkDerivation {
  pname = "libtool-relink";
  version = "1.0";
  src = ./src;
  outputs = [ "out" "dev" ];
  nativeBuildInputs = [ autoreconfHook ];
  enableParallelBuilding = true;
}
