# Class 10: installPhase lists a directory the build generated without
# sorting (find, tar), as many upstream install scripts do.
{ stdenv }:
stdenv.mkDerivation {
  pname = "unsorted";
  version = "1.0";
  src = ./src;
  makeFlags = [ "PREFIX=${placeholder "out"}" ];
  postInstall = ''
    mkdir -p $out/share/unsorted
    (cd generated && find . -type f) > $out/share/unsorted/files.txt
    tar --owner=0 --group=0 --numeric-owner --mtime=@1 -cf $out/share/unsorted/generated.tar generated
  '';
}
