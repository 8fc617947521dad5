# Class 7: a custom buildPhase that runs commands after `runHook
# postBuild`; the build log it installs records the order.
{ stdenv }:
stdenv.mkDerivation {
  pname = "after-postbuild";
  version = "1.0";
  src = ./src;
  buildPhase = ''
    runHook preBuild
    make stamp
    echo "compiled" >> order.log
    runHook postBuild
    echo "after postBuild" >> order.log
  '';
  postBuild = ''
    echo "postBuild" >> order.log
  '';
  installPhase = ''
    runHook preInstall
    install -Dm755 stamp $out/bin/stamp
    install -Dm644 order.log $out/share/after-postbuild/order.log
    runHook postInstall
  '';
}
