# GoogleTest 1.12 from Debian's googletest package (/usr/src/googletest):
# a C++ CMake project built with Ninja. Its own test suite is built too
# (not run), as distributions do: that makes it a C++ build of about a
# minute on two cores, where the libraries alone take seconds.
{
  stdenv,
  cmake,
  ninja,
  python3,
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
  nativeBuildInputs = [ cmake ninja python3 ];
  cmakeFlags = [
    "-DBUILD_GMOCK=ON"
    "-Dgtest_build_tests=ON"
  ];
}
