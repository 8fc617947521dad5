# Class 10: two sources unpacked side by side (sourceRoot = "."), and an
# install step that walks the build directory's top level.
{ stdenv }:
stdenv.mkDerivation {
  pname = "multi-src";
  version = "1.0";
  srcs = [ ./alpha ./beta ];
  sourceRoot = ".";
  buildPhase = ''
    runHook preBuild
    for d in alpha beta; do
      $CC -O2 -o $d/$d $d/main.c
    done
    runHook postBuild
  '';
  installPhase = ''
    runHook preInstall
    mkdir -p $out/bin $out/share/multi-src
    for d in $(find . -mindepth 1 -maxdepth 1 -type d | LC_ALL=C sort); do
      install -m755 $d/$(basename $d) $out/bin/
      echo "$(basename $d)" >> $out/share/multi-src/components
    done
    runHook postInstall
  '';
}
