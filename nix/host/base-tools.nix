# The host programs that play the part of stdenv's initialPath: a link to
# every program in /usr/bin, less the compilers (see ./cc.nix) and the tools
# that nixpkgs packages separately and the test bed offers as packages
# (./tools.nix), so that a derivation which forgets `cmake` in
# nativeBuildInputs fails here as it would in nixpkgs.
{ system }:
derivation {
  name = "host-base-tools";
  inherit system;
  builder = "/bin/bash";
  args = [
    "-euc"
    ''
      /usr/bin/mkdir -p "$out/bin"
      for f in /usr/bin/*; do
        case "''${f##*/}" in
          cc | c++ | c89* | c99* | cpp* | *gcc* | *g++* | *-cpp* | clang*) continue ;;
          cmake | ccmake | cpack | ctest | ninja | meson) continue ;;
          pkg-config | pkgconf | *-pkg-config) continue ;;
          python* | pydoc* | perl*) continue ;;
          autoconf | autoheader | autom4te | autoreconf | autoscan | autoupdate | ifnames) continue ;;
          automake* | aclocal* | libtool | libtoolize) continue ;;
          nix*) continue ;;
        esac
        /usr/bin/ln -s "$f" "$out/bin/"
      done
    ''
  ];
}
