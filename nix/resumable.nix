# The split itself: turns a package into the three derivations of a
# resumable build. See docs/design.md.
{ lib, vanillaHook }:
let
  classification = import ./classification.nix;

  # The attributes a package was made from (its mkDerivation arguments,
  # after `finalAttrs` and every overrideAttrs).
  attrsOf =
    drv:
    (drv.overrideAttrs (
      _: prev: { passthru = (prev.passthru or { }) // { __vanillaAttrs = prev; }; }
    )).__vanillaAttrs;

  lateHookNames = map (h: h.name) classification.lateInputs;
  functionsOf = name: lib.concatMap (h: lib.optionals (h.name == name) h.functions) classification.lateInputs;

  # Why a package cannot be split, or null.
  unsplittable =
    attrs:
    if attrs ? buildCommand || attrs ? buildCommandPath then
      "it sets buildCommand, which runs as one piece"
    else if attrs ? outputHash then
      "it is a fixed-output derivation"
    else if attrs.__contentAddressed or false then
      "it is content-addressed, so its output paths are not known in advance"
    else
      null;

  split =
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
    final
    // {
      inherit vanilla unwrapped;
      overrideAttrs = f: resumable (base.overrideAttrs f);
    };

  /**
    Split a package into a resumable build when it sets
    `vanillaPackage = true`; return it unchanged otherwise, but with an
    `overrideAttrs` that keeps applying this function.

    # Example

    ```nix
    resumable (hello.overrideAttrs { vanillaPackage = true; })
    # => the final stage, with .vanilla and .unwrapped
    ```
  */
  resumable =
    base:
    if !(base.vanillaPackage or false) then
      base // { overrideAttrs = f: resumable (base.overrideAttrs f); }
    else
      let
        why = unsplittable (attrsOf base);
      in
      if why != null then
        lib.warn "nix-vanilla: building ${base.name} unsplit: ${why}" base
      else
        split base;
in
resumable
