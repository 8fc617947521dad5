# libxcrypt from Debian's libxcrypt-source (/usr/src/libxcrypt): autotools,
# a few hundred C files, a libtool library and its tests.
{
  stdenv,
  autoreconfHook,
  perl,
  pkg-config,
  src ? /usr/src/libxcrypt,
}:
stdenv.mkDerivation {
  pname = "libxcrypt";
  version = "4.4.33";
  src = builtins.path {
    name = "libxcrypt-source";
    path = src;
    filter = path: type: baseNameOf path != "debian";
  };
  outputs = [ "out" "dev" "man" ];
  nativeBuildInputs = [ autoreconfHook perl pkg-config ];
  configureFlags = [
    "--enable-hashes=strong,glibc"
    "--enable-obsolete-api=no"
    "--disable-werror"
  ];
  enableParallelBuilding = true;
}
