# The test bed's buildGoModule: builds with the host's Go from a module
# cache on the host (/var/cache/nix-vanilla/gomod, filled by scripts/env.sh
# and bound into the sandbox) instead of a fixed-output derivation that
# downloads the modules. vendorHash is accepted and ignored.
{
  lib,
  stdenv,
  go,
}:
args@{
  pname,
  version,
  src,
  subPackages ? [ "." ],
  ldflags ? [ ],
  ...
}:
stdenv.mkDerivation (
  removeAttrs args [
    "vendorHash"
    "subPackages"
    "ldflags"
  ]
  // {
    nativeBuildInputs = (args.nativeBuildInputs or [ ]) ++ [ go ];
    env = {
      GOFLAGS = "-mod=mod -trimpath";
      GOPROXY = "off";
      GOSUMDB = "off";
      GOTOOLCHAIN = "local";
      GOMODCACHE = "/var/cache/nix-vanilla/gomod";
    } // (args.env or { });
    buildPhase = ''
      runHook preBuild
      export GOCACHE="$TMPDIR/go-cache" GOPATH="$TMPDIR/go"
      for p in ${lib.escapeShellArgs subPackages}; do
        go build -ldflags ${lib.escapeShellArg (toString ldflags)} -o "$TMPDIR/bin/" "./$p"
      done
      runHook postBuild
    '';
    installPhase = ''
      runHook preInstall
      mkdir -p "$out/bin"
      cp "$TMPDIR"/bin/* "$out/bin/"
      runHook postInstall
    '';
  }
)
