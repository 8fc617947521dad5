# Class 2: a Python application whose tests live in the source tree and
# run against the installed package in installCheckPhase, as
# buildPythonPackage does.
{ stdenv, python3 }:
stdenv.mkDerivation {
  pname = "wordfreq";
  version = "1.2.0";
  src = ./src;
  nativeBuildInputs = [ python3 ];
  buildInputs = [ python3 ];
  dontConfigure = true;
  buildPhase = ''
    runHook preBuild
    ${python3.executable} -m compileall -q wordfreq
    runHook postBuild
  '';
  installPhase = ''
    runHook preInstall
    site=$out/${python3.sitePackages}
    mkdir -p "$site" "$out/bin"
    cp -r wordfreq "$site/"
    install -m755 bin/wordfreq "$out/bin/wordfreq"
    runHook postInstall
  '';
  doInstallCheck = true;
  installCheckPhase = ''
    runHook preInstallCheck
    # from tests/, so that the source tree's package does not shadow the installed one
    (cd tests && PYTHONPATH=$out/${python3.sitePackages} ${python3.executable} -m unittest -v test_count)
    runHook postInstallCheck
  '';
}
