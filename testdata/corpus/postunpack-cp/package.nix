# Class 5: a vendored directory copied into the source in postUnpack with
# `cp -r`, as packages that bundle a second source do.
{ stdenv }:
stdenv.mkDerivation {
  pname = "vendored";
  version = "2.3";
  src = ./src;
  postUnpack = ''
    cp -r ${./vendor} $sourceRoot/vendor
    chmod -R u+w $sourceRoot/vendor
  '';
  makeFlags = [ "PREFIX=${placeholder "out"}" ];
}
