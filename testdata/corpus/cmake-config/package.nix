# Common shape: CMake (out of tree through nixpkgs' hook, make backend), a
# configured header with the full data directory, a shared library, ctest.
{ stdenv, cmake }:
stdenv.mkDerivation {
  pname = "cmake-config";
  version = "2.0";
  src = ./src;
  nativeBuildInputs = [ cmake ];
  cmakeFlags = [
    "-DCOLOURS=red;green;blue"
    # the test bed has no cc-wrapper adding an rpath
    "-DCMAKE_INSTALL_RPATH=${placeholder "out"}/lib"
  ];
  doCheck = true;
}
