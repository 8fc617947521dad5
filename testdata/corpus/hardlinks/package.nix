# Class 6 and a common shape: the build hard-links a generated file to a
# source file (the manual under two names), and install keeps the links
# (cp -a), as packages that ship one binary under several names do.
{ stdenv }:
stdenv.mkDerivation {
  pname = "hardlinks";
  version = "1.0";
  src = ./src;
  makeFlags = [ "PREFIX=${placeholder "out"}" ];
}
