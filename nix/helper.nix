# The helper the setup hook calls (cmd/vanilla), built from this
# repository's Go source as a static binary.
#
# In nixpkgs, `buildGoModule` fetches the modules named in go.sum into a
# fixed-output derivation whose hash is vendorHash; the test bed's
# buildGoModule (nix/host/go.nix) reads them from a local module cache.
#
# Example:
#   callPackage ./helper.nix { }
{ lib, buildGoModule }:
buildGoModule {
  pname = "vanilla";
  version = "0.1.0";
  src = lib.fileset.toSource {
    root = ../.;
    fileset = lib.fileset.unions [
      ../go.mod
      ../go.sum
      (lib.fileset.fileFilter (f: lib.hasSuffix ".go" f.name && !lib.hasSuffix "_test.go" f.name) ../cmd)
      (lib.fileset.fileFilter (
        f: (lib.hasSuffix ".go" f.name && !lib.hasSuffix "_test.go" f.name) || f.name == "classification.json"
      ) ../pkg)
    ];
  };
  # The hash of `go mod vendor` for go.sum (TestVendorHash keeps it current).
  vendorHash = "sha256-oP8Ub+xSTlHz1WQfYl3T82kVZrbu/OLZpgx4/uG+0nk=";
  subPackages = [ "cmd/vanilla" ];
  # withVanillaHook leaves the hook's own helper alone.
  __vanillaNoHook = true;
  env.CGO_ENABLED = "0";
  ldflags = [
    "-s"
    "-w"
  ];
  meta = {
    description = "Helper of nix-vanilla's resumable builds";
    license = lib.licenses.mit;
    mainProgram = "vanilla";
  };
}
