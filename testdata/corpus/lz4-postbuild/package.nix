# Class 3: postBuild writes data naming $out compressed with lz4 (frames
# with a content checksum) and LZMA-alone (.lzma), and installs it.
{ stdenv }:
stdenv.mkDerivation {
  pname = "lz4-data";
  version = "1.0";
  src = ./src;
  makeFlags = [ "PREFIX=${placeholder "out"}" ];
  postBuild = ''
    echo "$out/share/lz4-data" > paths.txt
    lz4 -q -9 < paths.txt > paths.txt.lz4
    xz --format=lzma < paths.txt > paths.txt.lzma
  '';
  postInstall = ''
    install -Dm644 -t $out/share/lz4-data paths.txt.lz4 paths.txt.lzma
  '';
}
