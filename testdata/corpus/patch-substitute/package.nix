# Common shape: a patch from the distribution plus substituteInPlace in
# postPatch for the paths upstream hard-codes.
{ stdenv }:
stdenv.mkDerivation {
  pname = "fortune-lite";
  version = "0.4";
  src = ./src;
  patches = [ ./fix-empty-file.patch ];
  postPatch = ''
    substituteInPlace Makefile \
      --replace-fail "/usr/local" "$out"
    substituteInPlace fortune.c \
      --replace-fail '"/usr/share/games/fortunes"' "\"$out/share/fortunes\""
  '';
}
