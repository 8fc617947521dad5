# Class 8: preBuild enters a subdirectory with pushd and postBuild leaves
# it with popd; install runs from the top.
{ stdenv }:
stdenv.mkDerivation {
  pname = "pushd-popd";
  version = "1.0";
  src = ./src;
  preBuild = ''
    pushd lib
  '';
  postBuild = ''
    popd
  '';
  makeFlags = [ "PREFIX=${placeholder "out"}" ];
  installPhase = ''
    runHook preInstall
    install -Dm755 lib/sumargs $out/bin/sumargs
    install -Dm644 README $out/share/doc/pushd-popd/README
    runHook postInstall
  '';
}
