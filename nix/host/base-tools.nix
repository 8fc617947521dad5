# The host programs that play the part of stdenv's initialPath: a link to
# every program in /usr/bin, less the compilers (see ./cc.nix) and the tools
# that nixpkgs packages separately and the test bed offers as packages
# (./tools.nix), so that a derivation which forgets `cmake` in
# nativeBuildInputs fails here as it would in nixpkgs.
#
# The list is read when evaluating, so installing a host package gives a
# new derivation instead of a stale link farm.
{ lib, system }:
let
  excluded =
    name:
    builtins.elem name [
      "cc"
      "c++"
      "cmake"
      "ccmake"
      "cpack"
      "ctest"
      "ninja"
      "meson"
      "pkg-config"
      "pkgconf"
      "autoconf"
      "autoheader"
      "autom4te"
      "autoreconf"
      "autoscan"
      "autoupdate"
      "ifnames"
      "libtool"
      "libtoolize"
    ]
    || lib.any (p: lib.hasPrefix p name) [
      "c89"
      "c99"
      "cpp"
      "clang"
      "python"
      "pydoc"
      "perl"
      "automake"
      "aclocal"
      "nix"
    ]
    || lib.hasInfix "gcc" name
    || lib.hasInfix "g++" name
    || lib.hasSuffix "-cpp" name
    || lib.hasSuffix "-pkg-config" name;
  programs = lib.filter (name: !excluded name) (lib.attrNames (builtins.readDir /usr/bin));
in
derivation {
  name = "host-base-tools";
  inherit system programs;
  builder = "/bin/bash";
  args = [
    "-euc"
    ''
      /usr/bin/mkdir -p "$out/bin"
      for p in $programs; do
        /usr/bin/ln -s "/usr/bin/$p" "$out/bin/$p"
      done
    ''
  ];
}
