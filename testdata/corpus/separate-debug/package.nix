# Class 4: separateDebugInfo, the nixpkgs way; every object is compiled
# with the -frandom-seed of the build's $out.
{ stdenv }:
stdenv.mkDerivation {
  pname = "separate-debug";
  version = "4.2";
  src = ./src;
  makeFlags = [ "PREFIX=${placeholder "out"}" ];
  separateDebugInfo = true;
}
