# One benchmark build: a workload, built the way `mode` says.
#
#   plain        the package as it is
#   vanilla      with vanillaPackage = true
#   cbtPrepare   nixpkgs' checkpointBuildTools.prepareCheckpointBuild of it
#   cbt          checkpointBuildTools.mkCheckpointBuild of it, resuming from
#                the cbtPrepare build with the same stamp (and the first
#                version of the wrapping dependency)
#   symlinkJoin  the package split by hand as nixpkgs splits ceph: the
#                workload without its wrapper as `NAME-unwrapped`, and a
#                derivation that links it and wraps the program
#   hook         hook mode: the package with vanillaHook in
#                nativeBuildInputs and `vanillaCacheDir = cacheDir` (a
#                local cache the sandbox must see: extra-sandbox-paths);
#                see docs/cache.md
#   tools        everything the others build with (built once, untimed)
#
# Every workload is a package with a wrapped program, as nixpkgs writes
# one: a "wrapping dependency" (a small Python library whose version is
# `wrapDep`) is propagated, declared in `vanillaLateInputs`, and used only
# by a `wrapProgram … --prefix PYTHONPATH` in postFixup.
#
# `stamp` goes into an early attribute (each repetition builds from
# scratch); `fixupNote` and `installNote` into postFixup and postInstall,
# and `wrapDep` into the wrapper (the late changes being measured). In the
# symlinkJoin mode `installNote` goes to the unwrapped derivation and
# `fixupNote` to the wrapper.
#
# Example:
#   nix-build bench/workload.nix --argstr workload binutils --argstr mode vanilla --argstr stamp 1
#   nix-build bench/workload.nix --argstr workload demo --argstr mode vanilla --argstr wrapDep 2.0
#   nix-build bench/workload.nix --argstr workload demo --argstr mode hook --argstr cacheDir /tmp/c \
#     --option extra-sandbox-paths /tmp/c
{
  workload,
  mode ? "plain",
  stamp ? "",
  fixupNote ? "",
  installNote ? "",
  wrapDep ? firstWrapDep,
  firstWrapDep ? "1.0",
  # The hook mode's cache directory (not part of the cache key).
  cacheDir ? "/nix/var/cache/vanilla",
}:
let
  pkgs = import ../nix/host-pkgs.nix { overlays = [ (import ../nix/overlay.nix) ]; };
  inherit (pkgs) python3;
  packages = {
    make-baked = pkgs.callPackage ../testdata/fixtures/make-baked/package.nix { };
    demo = import ../testdata/demo {
      inherit pkgs;
      split = false;
    };
    googletest = pkgs.callPackage ./packages/googletest.nix { };
    openvswitch = pkgs.callPackage ./packages/openvswitch.nix { };
    binutils = pkgs.callPackage ./packages/binutils.nix { };
    linux = pkgs.callPackage ./packages/linux.nix { };
  };
  # The installed program each workload's wrapper wraps. googletest
  # installs none: it installs one of its Python test drivers, which
  # imports a helper module, as a program.
  wrapped =
    {
      make-baked.program = "bin/greet";
      demo.program = "bin/demo";
      googletest = {
        program = "bin/googletest-filter-unittest";
        install = "install -Dm755 $src/googletest/test/googletest-filter-unittest.py $out/bin/googletest-filter-unittest";
      };
      openvswitch.program = "bin/ovs-tcpundump";
      binutils.program = "bin/readelf";
      # The kernel installs no program: one of its Python scripts.
      linux = {
        program = "bin/linux-checkkconfigsymbols";
        install = "install -Dm755 scripts/checkkconfigsymbols.py $out/bin/linux-checkkconfigsymbols";
      };
    }
    .${workload};

  # The wrapping dependency: a pure-Python library, `import benchdep`.
  dependency =
    version:
    pkgs.stdenvNoCC.mkDerivation {
      pname = "python3-benchdep";
      inherit version;
      dontUnpack = true;
      installPhase = ''
        mkdir -p $out/${python3.sitePackages}/benchdep
        echo 'VERSION = "${version}"' > $out/${python3.sitePackages}/benchdep/__init__.py
      '';
    };
  wrapCommand = dep: ''
    wrapProgram $out/${wrapped.program} --prefix PYTHONPATH : ${dep}/${python3.sitePackages}
  '';

  # The workload with the stamp and the notes, without its wrapper.
  unwrapped =
    notes:
    packages.${workload}.overrideAttrs (old: {
      env = (old.env or { }) // {
        BENCH_STAMP = stamp;
      };
      postInstall = (old.postInstall or "") + "\n${wrapped.install or ""}\n: ${notes.install}";
      postFixup = (old.postFixup or "") + "\n: ${notes.fixup}";
    });
  # The workload as one package: its wrapping dependency propagated and
  # declared late, its program wrapped in postFixup.
  stamped =
    notes: dep:
    (unwrapped notes).overrideAttrs (old: {
      nativeBuildInputs = (old.nativeBuildInputs or [ ]) ++ [ pkgs.makeWrapper ];
      propagatedBuildInputs = (old.propagatedBuildInputs or [ ]) ++ [ dep ];
      vanillaLateInputs = [ dep ];
      postFixup = old.postFixup + "\n" + wrapCommand dep;
    });
  notes = {
    fixup = fixupNote;
    install = installNote;
  };
  package = stamped notes (dependency wrapDep);

  # The hand-written split: what nixpkgs' symlinkJoin does (the test bed
  # has none of nixpkgs' trivial builders), a buildCommand that links
  # every file of `paths` into $out, in directories of its own (lndir;
  # `cp -rs` here), then runs postBuild, where the wrapper is made.
  # Fixup does not run, as in runCommand.
  symlinkJoin =
    dep:
    let
      foo-unwrapped = (unwrapped (notes // { fixup = ""; })).overrideAttrs (old: {
        pname = "${old.pname}-unwrapped";
      });
    in
    pkgs.stdenvNoCC.mkDerivation {
      inherit (packages.${workload}) pname version;
      paths = [ foo-unwrapped ];
      nativeBuildInputs = [ pkgs.makeWrapper ];
      postBuild = wrapCommand dep + "\n: ${fixupNote}";
      buildCommand = ''
        mkdir -p $out
        for i in $paths; do
          cp -rs --no-preserve=mode "$i"/. $out
        done
        runHook postBuild
      '';
    };

  cbt = import (pkgs.path + "/pkgs/build-support/checkpoint-build.nix") {
    inherit (pkgs) lib;
    buildPackages = {
      mktemp = pkgs.hostBaseTools;
      rsync = pkgs.hostBaseTools;
    };
  };
  cbtArtifacts = cbt.prepareCheckpointBuild (
    stamped {
      fixup = "";
      install = "";
    } (dependency firstWrapDep)
  );
  vanilla = package.overrideAttrs { vanillaPackage = true; };
  hook = package.overrideAttrs (old: {
    nativeBuildInputs = (old.nativeBuildInputs or [ ]) ++ [ pkgs.vanillaHook ];
    vanillaCacheDir = cacheDir;
  });
in
{
  plain = package;
  inherit vanilla hook;
  cbtPrepare = cbtArtifacts;
  cbt = cbt.mkCheckpointBuild package cbtArtifacts;
  symlinkJoin = symlinkJoin (dependency wrapDep);
  tools = [
    vanilla.vanilla.inputDerivation
    pkgs.makeWrapper
    pkgs.vanilla-helper
    pkgs.vanillaHook
    (dependency firstWrapDep)
    (dependency wrapDep)
  ];
}
.${mode}
