# What the nixpkgseval test asks of one package set: for each named
# attribute, its derivations with and without nix/overlay.nix, and with the
# overlay, what `overrideAttrs { vanillaPackage = true; }` and two late
# changes make of it. Only evaluated (nix-instantiate --eval), never built.
#
# Each attribute's parts are printed as trace lines of their own
# ("nixpkgseval-part PART JSON") between "nixpkgseval-start NAME" and
# "nixpkgseval-done NAME", so that the warnings it prints can be told apart
# and an error that builtins.tryEval cannot catch names the attribute and
# the part it happened in.
#
# Example:
#   nix-instantiate --eval --read-write-mode probe.nix \
#     --arg overlay ./nix/overlay.nix --arg names '[ "zlib" ]' --arg set '[ "pkgsStatic" ]'
{
  overlay,
  names,
  # The attribute path of the package set below the top level.
  set ? [ ],
  # null, or the top-level stdenv each package is overridden to use
  # (`pkg.override { stdenv = …; }`), by name; "overrideCC" is
  # `overrideCC stdenv gcc`.
  variant ? null,
  # Which records to make: "plain", "overlaid", "flag".
  parts ? [
    "plain"
    "overlaid"
    "flag"
  ],
  nixpkgs ? <nixpkgs>,
}:
let
  lib = import (nixpkgs + "/lib");

  # This nixpkgs has no Go; the helper's derivation (nix/helper.nix)
  # needs a buildGoModule with Go 1.26 to be instantiated. It is never built.
  stubGo = final: prev: {
    buildGo126Module =
      args:
      final.stdenv.mkDerivation (
        removeAttrs args [
          "vendorHash"
          "subPackages"
          "ldflags"
        ]
      );
    buildGoModule = final.buildGo126Module;
  };

  top = overlays: import nixpkgs { inherit overlays; };
  plainTop = top [ stubGo ];
  overlaidTop = top [
    stubGo
    (import overlay)
  ];

  stdenvOf =
    pkgs:
    if variant == "overrideCC" then pkgs.overrideCC pkgs.stdenv pkgs.gcc else pkgs.${variant};
  pick =
    topPkgs: name:
    let
      pkgs = lib.getAttrFromPath set topPkgs;
      pkg = pkgs.${name};
    in
    if variant == null then
      pkg
    else if pkg ? override && (lib.functionArgs pkg.override) ? stdenv then
      pkg.override { stdenv = stdenvOf pkgs; }
    else
      null;

  # tryEval that also catches what deep evaluation throws.
  try =
    v:
    let
      r = builtins.tryEval (builtins.deepSeq v v);
    in
    if r.success then r.value else { throws = true; };

  # A package's derivations, one per output, and the output it selects.
  drvsOf =
    x:
    if !lib.isDerivation x then
      null
    else
      try {
        outputName = x.outputName or "out";
        drvs = lib.genAttrs (x.outputs or [ "out" ]) (o: x.${o}.drvPath);
      };

  appendTo = v: line: if builtins.isList v then v ++ [ line ] else (if v == null then "" else v) + "\n" + line;

  # Early attributes that the stdenv adapters change (makeStatic,
  # propagateBuildInputs): every stage must have the final's values, not
  # have an adapter applied once more.
  adapted = [
    "configureFlags"
    "cmakeFlags"
    "mesonFlags"
    "NIX_CFLAGS_LINK"
    "propagatedBuildInputs"
    "dontDisableStatic"
  ];
  differing =
    x: stage:
    lib.filter (a: (x.drvAttrs.${a} or null) != (stage.drvAttrs.${a} or null)) adapted;

  stagesOf =
    x:
    try {
      differ = if x ? vanilla && x ? unwrapped then lib.unique (differing x x.vanilla ++ differing x x.unwrapped) else [ ];
      name = x.name;
      outputName = x.outputName or "out";
      unsplit = x.vanillaUnsplit or null;
      split = x ? vanilla && x ? unwrapped;
      final = x.drvPath;
      vanilla = if x ? vanilla then x.vanilla.drvPath else null;
      unwrapped = if x ? unwrapped then x.unwrapped.drvPath else null;
    };

  flagOf =
    x:
    if !(lib.isDerivation x && x ? overrideAttrs) then
      null
    else
      {
        flagged = stagesOf (x.overrideAttrs { vanillaPackage = true; });
        fixup = stagesOf (
          x.overrideAttrs (old: {
            vanillaPackage = true;
            postFixup = appendTo (old.postFixup or "") ": nixpkgseval postFixup change";
          })
        );
        install = stagesOf (
          x.overrideAttrs (old: {
            vanillaPackage = true;
            postInstall = appendTo (old.postInstall or "") ": nixpkgseval postInstall change";
          })
        );
      };

  part =
    p: name:
    if p == "plain" then
      drvsOf (pick plainTop name)
    else if p == "overlaid" then
      drvsOf (pick overlaidTop name)
    else
      flagOf (pick overlaidTop name);

  step =
    n: name:
    builtins.seq n (
      builtins.trace "nixpkgseval-start ${name}" (
        lib.foldr (p: rest: builtins.trace "nixpkgseval-part ${p} ${builtins.toJSON (part p name)}" rest) (
          builtins.trace "nixpkgseval-done ${name}" (n + 1)
        ) parts
      )
    );
in
builtins.foldl' step 0 names
