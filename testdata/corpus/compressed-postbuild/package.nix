# Class 3: postBuild writes data naming $out compressed with gzip, xz,
# lzma (LZMA-alone) and lz4, and installs it.
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
    xz --format=lzma < paths.txt > paths.txt.lzma
    lz4 -q -9 < paths.txt > paths.txt.lz4
  '';
  postInstall = ''
    install -Dm644 -t $out/share/compressed-data paths.txt.gz paths.txt.xz paths.txt.lzma paths.txt.lz4
  '';
}
