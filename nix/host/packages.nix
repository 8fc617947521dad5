# The base layer of the host package set: `final: { … }`, closed by
# nix/host-pkgs.nix after the caller's overlays are applied.
{
  lib,
  nixpkgs,
  system,
}:
final:
let
  platform = lib.systems.elaborate system;

  # nixpkgs' configuration with every option at its default, evaluated the
  # way pkgs/top-level/default.nix does it.
  config =
    (lib.evalModules {
      modules = [ (nixpkgs + "/pkgs/top-level/config.nix") ];
      class = "nixpkgsConfig";
    }).config;

  # Files from nixpkgs, by path below pkgs/.
  fromNixpkgs = path: nixpkgs + "/pkgs/${path}";

  tools = import ./tools.nix {
    inherit lib fromNixpkgs;
    inherit (final) stdenvNoCC makeSetupHook;
  };
in
{
  inherit lib config;
  # nixpkgs' source, as pkgs.path is in nixpkgs.
  path = nixpkgs;
  inherit (tools)
    cmake
    ninja
    meson
    pkg-config
    pkg-config-unwrapped
    python3
    patchelf
    machoCross
    perl
    autoconf
    automake
    libtool
    go
    ;

  # callPackage over this set, as in nixpkgs.
  callPackage = lib.callPackageWith final;

  # Every program of the host's /usr/bin that stdenv itself would provide
  # (coreutils, findutils, sed, grep, make, tar, binutils, …): the whole
  # directory less compilers and the tools offered as packages below.
  hostBaseTools = import ./base-tools.nix { inherit lib system; };

  # A stand-in for nixpkgs' cc-wrapper around the host's gcc.
  hostCC = import ./cc.nix { inherit system; };

  stdenvNoCC = final.stdenv.override {
    cc = null;
    hasCC = false;
  };

  stdenv = import (fromNixpkgs "stdenv/generic") {
    name = "stdenv-host";
    inherit config;
    buildPlatform = platform;
    hostPlatform = platform;
    targetPlatform = platform;
    initialPath = [ final.hostBaseTools ];
    shell = "/bin/bash";
    cc = final.hostCC;
    fetchurlBoot = _: throw "host-pkgs: nothing can be downloaded in the test bed";
  };

  # makeSetupHook as in nixpkgs: a derivation whose setup hook is `script`
  # with `@name@` replaced from `substitutions`.
  #
  # Example:
  #   makeSetupHook { name = "my-hook"; propagatedBuildInputs = [ perl ]; } ./my-hook.sh
  makeSetupHook =
    {
      name,
      propagatedBuildInputs ? [ ],
      substitutions ? { },
      passthru ? { },
      meta ? { },
    }:
    script:
    final.stdenvNoCC.mkDerivation {
      inherit name propagatedBuildInputs passthru meta;
      env = substitutions;
      dontUnpack = true;
      dontConfigure = true;
      dontBuild = true;
      installPhase = ''
        mkdir -p "$out/nix-support"
        substituteAll ${script} "$out/nix-support/setup-hook"
      '';
    };

  dieHook = final.makeSetupHook { name = "die-hook"; } (fromNixpkgs "build-support/setup-hooks/die.sh");

  makeWrapper = final.makeSetupHook {
    name = "make-shell-wrapper-hook";
    propagatedBuildInputs = [ final.dieHook ];
    substitutions.shell = "/bin/bash";
  } (fromNixpkgs "build-support/setup-hooks/make-wrapper.sh");

  makeBinaryWrapper = final.makeSetupHook {
    name = "make-binary-wrapper-hook";
    propagatedBuildInputs = [ final.dieHook ];
    substitutions.cc = "${final.hostCC}/bin/cc";
  } (fromNixpkgs "build-support/setup-hooks/make-binary-wrapper/make-binary-wrapper.sh");

  installShellFiles = final.makeSetupHook {
    name = "install-shell-files";
  } (fromNixpkgs "build-support/setup-hooks/install-shell-files.sh");

  copyDesktopItems = final.makeSetupHook {
    name = "copy-desktop-items-hook";
  } (fromNixpkgs "build-support/setup-hooks/copy-desktop-items.sh");

  buildGoModule = final.callPackage ./go.nix { };

  autoreconfHook = final.makeSetupHook {
    name = "autoreconf-hook";
    propagatedBuildInputs = [
      final.autoconf
      final.automake
      final.libtool
    ];
  } (fromNixpkgs "build-support/setup-hooks/autoreconf.sh");
}
