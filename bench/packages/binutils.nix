# GNU binutils 2.40 from Debian's binutils-source
# (/usr/src/binutils/binutils-2.40.tar.xz): a large autotools build with
# many configure scripts, libtool libraries and several programs.
{
  stdenv,
  perl,
  src ? /usr/src/binutils/binutils-2.40.tar.xz,
}:
stdenv.mkDerivation {
  pname = "binutils";
  version = "2.40";
  inherit src;
  nativeBuildInputs = [ perl ];
  outputs = [ "out" "dev" "man" "info" ];
  configureFlags = [
    "--disable-werror"
    "--disable-nls"
    "--disable-gdb"
    "--disable-gdbserver"
    "--disable-sim"
    "--disable-gprofng"
    "--enable-shared"
    "--with-system-zlib=no"
  ];
  enableParallelBuilding = true;
}
