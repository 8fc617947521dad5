# Common shape: upstream installs to PREFIX=/usr only through DESTDIR.
{ stdenv }:
stdenv.mkDerivation {
  pname = "destdir";
  version = "1.0";
  src = ./src;
  makeFlags = [ "PREFIX=" ];
  installFlags = [ "DESTDIR=${placeholder "out"}" ];
}
