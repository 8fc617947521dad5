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
  installReaderNames = classification.installReaders;
  functionsOf = name: lib.concatMap (h: lib.optionals (h.name == name) h.functions) classification.lateInputs;
in
base:
let
  attrs = attrsOf base;
  outputs = attrs.outputs or [ "out" ];
  inputName = x: if lib.isDerivation x then x.name or "" else "";
  names = n: attrs.${n} or [ ];

  # Attributes the split keeps in the vanilla stage although their class
  # is later, because the plain build reads them (or what they add) before
  # buildPhase ends:
  # - check inputs when doCheck is set (make-derivation puts them on PATH
  #   from the start, where configure may probe them), and install-check
  #   inputs when doInstallCheck is;
  # - postBuild when a buildPhase written by the package runs commands
  #   after `runHook postBuild` (the split would run them before it);
  # - what the package lists in vanillaEarlyAttrs.
  checkInputsEarly = attrs.doCheck or false;
  installCheckInputsEarly =
    (attrs.doInstallCheck or false) && (names "nativeInstallCheckInputs" ++ names "installCheckInputs") != [ ];
  commandsAfter =
    hook: code:
    let
      parts = lib.splitString "runHook ${hook}" code;
      blank = c: c == " " || c == "\t" || c == ";";
      uncomment = line: lib.concatStrings (lib.filter (c: !blank c) (lib.stringToCharacters (builtins.head (lib.splitString "#" line))));
      rest = lib.filter (l: l != "") (map uncomment (lib.splitString "\n" (lib.last parts)));
    in
    builtins.length parts > 1 && rest != [ ];
  postBuildEarly = builtins.isString (attrs.buildPhase or null) && commandsAfter "postBuild" attrs.buildPhase;
  earlyAttrs = lib.unique (
    names "vanillaEarlyAttrs"
    ++ lib.optionals checkInputsEarly [ "nativeCheckInputs" "checkInputs" ]
    ++ lib.optionals installCheckInputsEarly [ "doInstallCheck" "nativeInstallCheckInputs" "installCheckInputs" ]
    ++ lib.optional postBuildEarly "postBuild"
  );

  # A custom phase's body belongs to the stage its phase runs in.
  phaseBodies = lists: lib.filter (n: attrs ? ${n}) (lib.concatMap names lists);
  finalOnly = lib.subtractLists earlyAttrs (
    classification.final
    ++ names "vanillaLateAttrs"
    ++ phaseBodies [ "preFixupPhases" "preDistPhases" "postPhases" ]
  );
  unwrappedOnly = lib.subtractLists earlyAttrs (
    classification.unwrapped ++ names "vanillaInstallAttrs" ++ phaseBodies [ "preInstallPhases" ]
  );

  # Inputs: the package's vanillaLateInputs are late whatever they are; a
  # built-in late hook (makeWrapper…) is late unless the package lists it
  # in vanillaEarlyInputs or an attribute of the vanilla stage mentions
  # one of its functions (makeWrapper in buildPhase).
  userLateInputs = names "vanillaLateInputs";
  userEarlyInputs = names "vanillaEarlyInputs";
  textOf = set: lib.concatStringsSep "\n" (lib.filter builtins.isString (lib.attrValues set));
  earlyText = textOf (removeAttrs attrs (finalOnly ++ unwrappedOnly));
  unwrappedText = textOf (removeAttrs attrs finalOnly);
  mentions = text: x: lib.any (fn: lib.hasInfix fn text) (functionsOf (inputName x));
  isLate =
    x:
    builtins.elem x userLateInputs
    || (
      builtins.elem (inputName x) lateHookNames && !(builtins.elem x userEarlyInputs) && !(mentions earlyText x)
    );
  # A late input goes to the unwrapped stage too when an attribute that
  # stage runs mentions one of its functions (wrapProgram in postInstall)
  # or its store path, or when an input's hook reads the dependencies at
  # install time (pythonRuntimeDepsCheckHook, from preInstallPhases).
  readersAtInstall = lib.any (x: builtins.elem (inputName x) installReaderNames) (
    lib.concatMap names [ "nativeBuildInputs" "propagatedNativeBuildInputs" "depsBuildBuild" ]
  );
  namesPath = x: lib.isDerivation x && lib.hasInfix (builtins.unsafeDiscardStringContext x.outPath) unwrappedText;
  neededByUnwrapped =
    x:
    isLate x
    && (mentions unwrappedText x || (builtins.elem x userLateInputs && (readersAtInstall || namesPath x)));

  # Late inputs leave every list of the earlier stages: the input lists,
  # the check inputs, the language builders' lists (pythonPath), so that
  # the earlier stages do not depend on them in any way.
  withoutLate =
    pred: set:
    lib.mapAttrs (_: v: if builtins.isList v then lib.filter (x: !(isLate x) || pred x) v else v) set;

  # A late input that an early attribute names by its store path stays an
  # input of the vanilla stage whatever the package declares.
  earlyNamed = lib.filter (
    x: lib.isDerivation x && lib.hasInfix (builtins.unsafeDiscardStringContext x.outPath) earlyText
  ) userLateInputs;
  warnEarlyNamed =
    v:
    if earlyNamed == [ ] then
      v
    else
      lib.warn "nix-vanilla: ${attrs.name or "a package"}: vanillaLateInputs lists ${
        lib.concatMapStringsSep ", " (x: x.name) earlyNamed
      }, but an attribute of the vanilla stage names its store path, so that stage depends on it still" v;

  # Attributes every stage gets: what the split decided, for the hook.
  common = lib.optionalAttrs (earlyAttrs != [ ]) { vanillaEarlyAttrs = earlyAttrs; };
  # The split's own declarations name inputs: the earlier stages must not
  # depend on late ones through them.
  # vanillaFinalTree is the final stage's (the unwrapped stage gets
  # vanillaSaveTree from it, below).
  declarations = [ "vanillaPackage" "passthru" "vanillaLateInputs" "vanillaEarlyInputs" "vanillaFinalTree" ];

  vanilla = base.stdenv.mkDerivation (
    withoutLate (_: false) (removeAttrs attrs (finalOnly ++ unwrappedOnly ++ declarations))
    // common
    // {
      vanillaStage = "vanilla";
      outputs = [ "checkpoint" ] ++ outputs;
      nativeBuildInputs = lib.filter (x: !isLate x) (attrs.nativeBuildInputs or [ ]) ++ [ vanillaHook ];
    }
  );

  # The unwrapped stage saves the build tree only for a final stage that
  # restores it: the hook's final stage does when doInstallCheck or
  # vanillaFinalTree is set (non-empty in its environment, defaults of
  # mkDerivation included). Turning either on or off rebuilds the unwrapped
  # stage too (seconds); every other build saves the tree's walk and
  # archive, and its space in the store.
  nonEmpty = v: v != null && v != false && v != "" && v != [ ];
  finalTree = nonEmpty (final.doInstallCheck or null) || nonEmpty (final.vanillaFinalTree or null);

  unwrapped = base.stdenv.mkDerivation (
    withoutLate neededByUnwrapped (removeAttrs attrs (finalOnly ++ declarations))
    // common
    // lib.optionalAttrs finalTree { vanillaSaveTree = true; }
    // {
      vanillaStage = "unwrapped";
      vanillaFrom = vanilla.checkpoint;
      outputs = outputs ++ [ "checkpoint" ];
      nativeBuildInputs =
        lib.filter (x: !isLate x || neededByUnwrapped x) (attrs.nativeBuildInputs or [ ])
        ++ [ vanillaHook ];
    }
  );

  final = base.overrideAttrs (
    prev:
    common
    // {
      vanillaStage = "final";
      vanillaFrom = unwrapped.checkpoint;
      nativeBuildInputs = (prev.nativeBuildInputs or [ ]) ++ [ vanillaHook ];
    }
  );
in
warnEarlyNamed {
  inherit vanilla unwrapped final;
}
