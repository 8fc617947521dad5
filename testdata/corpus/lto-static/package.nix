# Class 3: a static library of fat LTO objects (-flto -ffat-lto-objects):
# GCC keeps the IR, compressed, in .gnu.lto_* sections, and it names $out.
{ stdenv }:
stdenv.mkDerivation {
  pname = "lto-static";
  version = "0.7";
  src = ./src;
  makeFlags = [ "PREFIX=${placeholder "out"}" ];
  # strip -S would leave the LTO sections, but keep the archive as built
  dontStrip = true;
}
