# Common shape: a Perl script with its own module, shebang patched by
# patchShebangs, the library path substituted at install time.
{ stdenv, perl }:
stdenv.mkDerivation {
  pname = "textwrap";
  version = "0.5";
  src = ./src;
  buildInputs = [ perl ];
  dontConfigure = true;
  dontBuild = true;
  installPhase = ''
    runHook preInstall
    install -Dm755 bin/wrap80 $out/bin/wrap80
    install -Dm644 lib/Textwrap/Simple.pm $out/lib/perl5/Textwrap/Simple.pm
    substituteInPlace $out/bin/wrap80 --subst-var-by perllib $out/lib/perl5
    runHook postInstall
  '';
}
