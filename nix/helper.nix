# The helper the setup hook calls (cmd/vanilla), built from this
# repository's Go source as a static binary.
#
# go.mod asks for Go 1.26: the helper is built with the package set's `go`
# when it is new enough, else with `buildGo126Module` when the set has
# one; otherwise evaluation stops and says which nixpkgs is needed.
#
# In nixpkgs, `buildGoModule` fetches the modules named in go.sum into a
# fixed-output derivation whose hash is vendorHash; the test bed's
# buildGoModule (nix/host/go.nix) reads them from a local module cache.
#
# Example:
#   callPackage ./helper.nix { }
{
  lib,
  buildGoModule,
  go ? null,
  buildGo126Module ? null,
}:
let
  version = "0.1.0";
  # go.mod's `go` line.
  minGo = "1.26";
  fits = g: g != null && lib.versionAtLeast (lib.getVersion g) minGo;
  build =
    if fits go then
      buildGoModule
    else if buildGo126Module != null then
      buildGo126Module
    else
      throw (
        "nix-vanilla: the helper needs Go ${minGo} or later (go.mod), but this package set's go is "
        + (if go == null then "missing" else lib.getVersion go)
        + " and it has no buildGo126Module: use a nixpkgs with Go ${minGo}"
        + " (one released after Go ${minGo}, February 2026)"
      );
in
build {
  pname = "vanilla";
  inherit version;
  src = lib.fileset.toSource {
    root = ../.;
    fileset = lib.fileset.unions [
      ../go.mod
      ../go.sum
      (lib.fileset.fileFilter (f: lib.hasSuffix ".go" f.name && !lib.hasSuffix "_test.go" f.name) ../cmd)
      # The hook's protocol (the helper's own package; the test bed's
      # packages under internal/ are not the helper's).
      (lib.fileset.fileFilter (f: lib.hasSuffix ".go" f.name && !lib.hasSuffix "_test.go" f.name) ../internal/stage)
      (lib.fileset.fileFilter (
        f: (lib.hasSuffix ".go" f.name && !lib.hasSuffix "_test.go" f.name) || f.name == "classification.json"
      ) ../pkg)
    ];
  };
  # The hash of `go mod vendor` for go.sum (TestVendorHash keeps it current).
  vendorHash = "sha256-uLaWd/d7Rzz/GRee3J/cC32cTeFgaSLZzxmojqnsVdo=";
  subPackages = [ "cmd/vanilla" ];
  # withVanillaHook leaves the hook's own helper alone.
  __vanillaNoHook = true;
  # Static: the helper runs in every stage's sandbox and its closure is
  # itself.
  env.CGO_ENABLED = "0";
  ldflags = [
    "-s"
    "-w"
    "-X main.versionString=${version}"
  ];
  meta = {
    description = "Helper of nix-vanilla's resumable builds";
    license = lib.licenses.mit;
    mainProgram = "vanilla";
  };
}
