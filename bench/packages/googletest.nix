# GoogleTest 1.12 from Debian's googletest package (/usr/src/googletest):
# a C++ CMake project built with Ninja (gtest and gmock, static libraries,
# CMake package files).
{
  stdenv,
  cmake,
  ninja,
  src ? /usr/src/googletest,
}:
stdenv.mkDerivation {
  pname = "googletest";
  version = "1.12.1";
  src = builtins.path {
    name = "googletest-source";
    path = src;
  };
  outputs = [ "out" "dev" ];
  nativeBuildInputs = [ cmake ninja ];
  cmakeFlags = [ "-DBUILD_GMOCK=ON" ];
}
