# Class 6 and a common shape: the build hard-links a generated file to a
# source file (the manual under two names), and install keeps the links
# (cp -a), as packages that ship one binary under several names do.
{ stdenv }:
stdenv.mkDerivation {
  pname = "hardlinks";
  version = "1.0";
  src = ./src;
  makeFlags = [ "PREFIX=${placeholder "out"}" ];
  # stdenv's strip runs one strip per name on NIX_BUILD_CORES cores
  # (strip.sh: `xargs -n1 -P`), deduplicated by realpath, which leaves
  # both names of a hard link: two strips of one inode at once give one
  # result or another (docs/design.md, Limits), in the plain build too.
  dontStrip = true;
}
