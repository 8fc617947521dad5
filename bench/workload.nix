# One benchmark build: a workload, built the way `mode` says.
#
#   plain        the package as it is
#   vanilla      with vanillaPackage = true
#   cbtPrepare   nixpkgs' checkpointBuildTools.prepareCheckpointBuild of it
#   cbt          checkpointBuildTools.mkCheckpointBuild of it, resuming from
#                the cbtPrepare build with the same stamp
#   tools        everything the others build with (built once, untimed)
#
# `stamp` goes into an early attribute (each repetition builds from
# scratch); `fixupNote` and `installNote` into postFixup and postInstall
# (the late changes being measured).
#
# Example:
#   nix-build bench/workload.nix --argstr workload binutils --argstr mode vanilla --argstr stamp 1
{
  workload,
  mode ? "plain",
  stamp ? "",
  fixupNote ? "",
  installNote ? "",
}:
let
  pkgs = import ../nix/host-pkgs.nix { overlays = [ (import ../nix/overlay.nix) ]; };
  packages = {
    make-baked = pkgs.callPackage ../testdata/fixtures/make-baked/package.nix { };
    demo = import ../testdata/demo {
      inherit pkgs;
      split = false;
    };
    googletest = pkgs.callPackage ./packages/googletest.nix { };
    openvswitch = pkgs.callPackage ./packages/openvswitch.nix { };
    binutils = pkgs.callPackage ./packages/binutils.nix { };
  };
  stamped =
    notes:
    packages.${workload}.overrideAttrs (old: {
      env = (old.env or { }) // {
        BENCH_STAMP = stamp;
      };
      postInstall = (old.postInstall or "") + "\n: ${notes.install}";
      postFixup = (old.postFixup or "") + "\n: ${notes.fixup}";
    });
  package = stamped {
    fixup = fixupNote;
    install = installNote;
  };
  cbt = import (pkgs.path + "/pkgs/build-support/checkpoint-build.nix") {
    inherit (pkgs) lib;
    buildPackages = {
      mktemp = pkgs.hostBaseTools;
      rsync = pkgs.hostBaseTools;
    };
  };
  cbtArtifacts = cbt.prepareCheckpointBuild (stamped {
    fixup = "";
    install = "";
  });
in
{
  plain = package;
  vanilla = package.overrideAttrs { vanillaPackage = true; };
  cbtPrepare = cbtArtifacts;
  cbt = cbt.mkCheckpointBuild package cbtArtifacts;
  tools = (package.overrideAttrs { vanillaPackage = true; }).vanilla.inputDerivation;
}
.${mode}
