# The stages of a resumable build: turns a package's attributes into the
# checkpoint, unwrapped and final derivations. See docs/design.md.
#
# Example:
#   (import ./split.nix { inherit lib vanillaHook; }) base
#   # => { vanilla = …; unwrapped = …; final = …; }
{ lib, vanillaHook }:
let
  classification = import ./classification.nix;
  inherit (import ./attrs.nix) attrsOf;

  lateHookNames = map (h: h.name) classification.lateInputs;
  functionsOf = name: lib.concatMap (h: lib.optionals (h.name == name) h.functions) classification.lateInputs;
in
base:
let
  attrs = attrsOf base;
  outputs = attrs.outputs or [ "out" ];
  inputName = x: if lib.isDerivation x then x.name or "" else "";
  userLateInputs = attrs.vanillaLateInputs or [ ];
  isLate = x: builtins.elem (inputName x) lateHookNames || builtins.elem x userLateInputs;
  finalOnly = classification.final ++ attrs.vanillaLateAttrs or [ ];
  unwrappedOnly = classification.unwrapped ++ attrs.vanillaInstallAttrs or [ ];

  # A late input goes to the unwrapped stage too when an attribute that
  # stage runs mentions one of its functions (wrapProgram in postInstall).
  unwrappedText = lib.concatStringsSep "\n" (
    lib.filter builtins.isString (lib.attrValues (removeAttrs attrs finalOnly))
  );
  neededByUnwrapped =
    x: isLate x && lib.any (fn: lib.hasInfix fn unwrappedText) (functionsOf (inputName x));
  inputs = pred: list: lib.filter pred list;

  vanilla = base.stdenv.mkDerivation (
    removeAttrs attrs (
      finalOnly ++ unwrappedOnly ++ [ "vanillaPackage" "passthru" ]
    )
    // {
      vanillaStage = "vanilla";
      outputs = [ "checkpoint" ] ++ outputs;
      nativeBuildInputs = inputs (x: !isLate x) (attrs.nativeBuildInputs or [ ]) ++ [ vanillaHook ];
      buildInputs = inputs (x: !isLate x) (attrs.buildInputs or [ ]);
    }
  );

  unwrapped = base.stdenv.mkDerivation (
    removeAttrs attrs (finalOnly ++ [ "vanillaPackage" "passthru" ])
    // {
      vanillaStage = "unwrapped";
      vanillaFrom = vanilla.checkpoint;
      outputs = outputs ++ [ "checkpoint" ];
      nativeBuildInputs =
        inputs (x: !isLate x || neededByUnwrapped x) (attrs.nativeBuildInputs or [ ])
        ++ [ vanillaHook ];
      buildInputs = inputs (x: !isLate x || neededByUnwrapped x) (attrs.buildInputs or [ ]);
    }
  );

  final = base.overrideAttrs (prev: {
    vanillaStage = "final";
    vanillaFrom = unwrapped.checkpoint;
    nativeBuildInputs = (prev.nativeBuildInputs or [ ]) ++ [ vanillaHook ];
  });
in
{
  inherit vanilla unwrapped final;
}
