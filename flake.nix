{
  description = "nix-vanilla: resumable stdenv.mkDerivation builds";

  # The helper needs Go 1.26 (go.mod): a nixpkgs whose `go` is 1.26 or
  # later, or that has buildGo126Module (README, "Which nixpkgs").
  inputs.nixpkgs.url = "github:NixOS/nixpkgs/nixos-unstable";

  # Thin over nix/, like default.nix: nothing here is needed to use the
  # project without flakes.
  outputs =
    { self, nixpkgs }:
    let
      inherit (nixpkgs) lib;
      systems = [
        "x86_64-linux"
        "aarch64-linux"
      ];
      forAllSystems = lib.genAttrs systems;

      # With `--impure` and VANILLA_TEST_BED=1, the packages and checks are
      # built with the project's test bed (nix/host-pkgs.nix: nixpkgs'
      # stdenv over the host's tools, docs/test-bed.md) instead of
      # nixpkgs' own bootstrap. Pure evaluation reads "" here.
      testBed = builtins.getEnv "VANILLA_TEST_BED" == "1";
      pkgsFor =
        system: overlays:
        if testBed then
          import ./nix/host-pkgs.nix {
            inherit system overlays;
            nixpkgs = nixpkgs.outPath;
          }
        else
          import nixpkgs { inherit system overlays; };

      vanillaFor = pkgs: import ./nix { inherit pkgs; };
    in
    {
      # final: prev: { … }: `vanillaPackage = true` on any stdenv.mkDerivation.
      overlays.default = import ./nix/overlay.nix;

      # Functions of a package set, for use without the overlay:
      #   self.lib.resumable pkgs (pkgs.hello.overrideAttrs { vanillaPackage = true; })
      #   pkgs.hello.override { stdenv = self.lib.withVanillaHook pkgs pkgs.stdenv; }
      lib = {
        resumable = pkgs: (vanillaFor pkgs).resumable;
        withVanillaHook = pkgs: (vanillaFor pkgs).withVanillaHook;
        vanillaHook = pkgs: (vanillaFor pkgs).vanillaHook;
        # The stdenv with hook points between the phases (docs/stdenv-patch.md).
        vanillaStdenv = pkgs: (vanillaFor pkgs).vanillaStdenv;
      };

      packages = forAllSystems (
        system:
        let
          vanilla = vanillaFor (pkgsFor system [ ]);
        in
        {
          # The `vanilla` command.
          default = vanilla.helper;
          vanilla = vanilla.helper;
          vanilla-hook = vanilla.vanillaHook;
        }
      );

      # A couple of fixtures built split (their three stages), and the helper.
      checks = forAllSystems (
        system:
        let
          fixtures = import ./testdata/fixtures {
            split = true;
            pkgs = pkgsFor system [ self.overlays.default ];
          };
        in
        {
          inherit (fixtures) make-baked multi-output;
          helper = self.packages.${system}.default;
        }
      );
    };
}
