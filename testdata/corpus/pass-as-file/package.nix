# Class 5: a configuration passed as a file (passAsFile) that the build
# copies into the tree.
{ stdenv }:
stdenv.mkDerivation {
  pname = "pass-as-file";
  version = "1.0";
  src = ./src;
  passAsFile = [ "defaultsHeader" ];
  defaultsHeader = ''
    #define DEFAULT_COLOUR "teal"
    #define DEFAULT_WIDTH 72
  '';
  preBuild = ''
    cp "$defaultsHeaderPath" defaults.h
  '';
  makeFlags = [ "PREFIX=${placeholder "out"}" ];
}
