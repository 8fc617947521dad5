# Build tools that nixpkgs packages separately, taken from the host but
# carrying nixpkgs' own setup hooks, so that `nativeBuildInputs = [ cmake ninja ]`
# configures and builds the way it does in nixpkgs.
{
  lib,
  fromNixpkgs,
  stdenvNoCC,
  makeSetupHook,
}:
let
  # A package whose bin/ links the named host programs and whose setup hook
  # is the concatenation of `hooks` (with @name@ substituted from `env`).
  hostTool =
    {
      pname,
      programs,
      hooks ? [ ],
      env ? { },
      passthru ? { },
      propagatedBuildInputs ? [ ],
      postInstall ? "",
    }:
    stdenvNoCC.mkDerivation {
      inherit
        pname
        env
        passthru
        propagatedBuildInputs
        postInstall
        ;
      version = "host";
      dontUnpack = true;
      dontConfigure = true;
      dontBuild = true;
      installPhase = ''
        runHook preInstall
        mkdir -p "$out/bin"
        for p in ${lib.escapeShellArgs programs}; do
          ln -s "/usr/bin/$p" "$out/bin/$p"
        done
        ${lib.optionalString (hooks != [ ]) ''
          mkdir -p "$out/nix-support"
          for hook in ${lib.escapeShellArgs (map (hook: "${hook}") hooks)}; do
            substituteAll "$hook" hook.sh
            cat hook.sh >> "$out/nix-support/setup-hook"
          done
        ''}
        runHook postInstall
      '';
    };

  python3 = hostTool {
    pname = "python3";
    programs = [
      "python3"
      "python3.11"
    ];
    hooks = [ (fromNixpkgs "by-name/py/python/setup-hook.sh") ];
    env.sitePackages = python3.sitePackages;
    passthru = {
      sitePackages = "lib/python3.11/site-packages";
      pythonVersion = "3.11";
      executable = "python3";
    };
  };
in
rec {
  inherit python3;

  cmake = hostTool {
    pname = "cmake";
    programs = [
      "cmake"
      "ctest"
      "cpack"
    ];
    hooks = [
      (fromNixpkgs "by-name/cm/cmake/setup-hook.sh")
      (fromNixpkgs "by-name/cm/cmake/check-pc-files-hook.sh")
    ];
  };

  ninja = hostTool {
    pname = "ninja";
    programs = [ "ninja" ];
    hooks = [ (fromNixpkgs "by-name/ni/ninja/setup-hook.sh") ];
  };

  meson = hostTool {
    pname = "meson";
    programs = [ "meson" ];
    hooks = [ (fromNixpkgs "by-name/me/meson/setup-hook.sh") ];
    propagatedBuildInputs = [ python3 ];
  };

  pkg-config-unwrapped = hostTool {
    pname = "pkg-config";
    programs = [
      "pkg-config"
      "pkgconf"
    ];
    postInstall = ''
      mkdir -p "$out/share/aclocal"
      ln -s /usr/share/aclocal/pkg.m4 "$out/share/aclocal/pkg.m4"
    '';
  };

  # nixpkgs' own pkg-config wrapper around the host's pkgconf.
  pkg-config = import (fromNixpkgs "build-support/pkg-config-wrapper") {
    inherit lib stdenvNoCC;
    buildPackages = { };
    pkg-config = pkg-config-unwrapped;
  };

  patchelf = hostTool {
    pname = "patchelf";
    programs = [ "patchelf" ];
  };

  # clang and lld's Mach-O linker, which cross-compile and link macOS
  # executables and dylibs without an SDK (testdata/fixtures/macho).
  # Debian installs the linker as ld64.lld-<version> and in
  # /usr/lib/llvm-<version>/bin, never as ld64.lld on PATH.
  machoCross = hostTool {
    pname = "macho-cross";
    programs = [ "clang" ];
    postInstall = ''
      [ -x /usr/bin/clang ] || { echo "macho-cross: no clang on the host (apt-get install clang)" >&2; exit 1; }
      for ld in /usr/bin/ld64.lld /usr/bin/ld64.lld-* /usr/lib/llvm-*/bin/ld64.lld; do
        if [ -x "$ld" ]; then
          ln -s "$ld" "$out/bin/ld64.lld"
          break
        fi
      done
      [ -e "$out/bin/ld64.lld" ] || { echo "macho-cross: no ld64.lld on the host (apt-get install lld)" >&2; exit 1; }
    '';
  };

  perl = hostTool {
    pname = "perl";
    programs = [ "perl" ];
  };

  autoconf = hostTool {
    pname = "autoconf";
    programs = [
      "autoconf"
      "autoheader"
      "autom4te"
      "autoreconf"
      "autoscan"
      "autoupdate"
      "ifnames"
    ];
    propagatedBuildInputs = [ perl ];
  };

  automake = hostTool {
    pname = "automake";
    programs = [
      "automake"
      "aclocal"
    ];
    propagatedBuildInputs = [ perl ];
  };

  # The Go toolchain installed at /usr/local/go, with its version (read
  # from its VERSION file: nix/helper.nix checks it as it checks nixpkgs').
  go = stdenvNoCC.mkDerivation {
    pname = "go";
    version =
      let
        file = /usr/local/go/VERSION;
      in
      if builtins.pathExists file then
        lib.removePrefix "go" (builtins.head (lib.splitString "\n" (builtins.readFile file)))
      else
        "0";
    dontUnpack = true;
    installPhase = ''
      mkdir -p "$out/bin"
      ln -s /usr/local/go/bin/go /usr/local/go/bin/gofmt "$out/bin/"
    '';
  };

  libtool = hostTool {
    pname = "libtool";
    programs = [
      "libtool"
      "libtoolize"
    ];
  };
}
