# Class 3: postBuild writes data naming $out compressed with gzip and xz,
# and installs it (see lz4-postbuild for lz4 and LZMA-alone).
{ stdenv }:
stdenv.mkDerivation {
  pname = "compressed-data";
  version = "1.0";
  src = ./src;
  makeFlags = [ "PREFIX=${placeholder "out"}" ];
  postBuild = ''
    echo "$out/share/compressed-data" > paths.txt
    gzip -9n < paths.txt > paths.txt.gz
    xz -6 < paths.txt > paths.txt.xz
  '';
  postInstall = ''
    install -Dm644 -t $out/share/compressed-data paths.txt.gz paths.txt.xz
  '';
}
