# Class 3: checked-hash bytecode compiled in buildPhase from a module that
# names $out (substituted in postPatch): the .pyc holds a hash of the
# source it was compiled from.
{ stdenv, python3 }:
stdenv.mkDerivation {
  pname = "pyc-tool";
  version = "3.0";
  src = ./src;
  nativeBuildInputs = [ python3 ];
  buildInputs = [ python3 ];
  postPatch = ''
    substituteInPlace tool/paths.py --subst-var out
  '';
  dontConfigure = true;
  buildPhase = ''
    runHook preBuild
    ${python3.executable} -m compileall -q --invalidation-mode checked-hash tool
    runHook postBuild
  '';
  installPhase = ''
    runHook preInstall
    mkdir -p $out/${python3.sitePackages} $out/bin
    cp -r tool $out/${python3.sitePackages}/
    cat > $out/bin/pyc-tool <<SCRIPT
    #!${python3}/bin/python3
    import sys
    sys.path.insert(0, "$out/${python3.sitePackages}")
    import tool.paths
    print(tool.paths.DATA)
    SCRIPT
    chmod +x $out/bin/pyc-tool
    runHook postInstall
  '';
}
