# Common shape: __structuredAttrs with values holding spaces (make flags,
# install flags, env), one of them set late.
{ stdenv }:
stdenv.mkDerivation {
  pname = "structured-spaces";
  version = "1.0";
  src = ./src;
  __structuredAttrs = true;
  makeFlags = [
    "PREFIX=${placeholder "out"}"
    "MOTTO=less is more, more or less"
  ];
  installFlags = [ "DOCNAME=read me first.txt" ];
  env.SIGNATURE = "the corpus team";
  postInstall = ''
    echo "$SIGNATURE: ''${#installFlags[@]} install flag(s)" > "$out/share/structured-spaces/signed by"
  '';
}
