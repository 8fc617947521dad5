# Class 3: debug sections compressed by the compiler (-gz, SHF_COMPRESSED)
# with macro information (-g3) that names $out, kept unstripped.
{ stdenv }:
stdenv.mkDerivation {
  pname = "gz-debug";
  version = "1.0";
  src = ./src;
  makeFlags = [ "PREFIX=${placeholder "out"}" ];
  preBuild = ''
    makeFlagsArray+=(CFLAGS="-O1 -g3 -gz")
  '';
  dontStrip = true;
}
