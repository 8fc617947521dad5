// Package cachekey computes, inside a build, the key under which hook mode
// (`nativeBuildInputs = [ vanillaHook ]`) stores and finds a checkpoint:
// a digest of everything that can influence the phases before a resume
// point, with what does not normalised away.
//
// A build has two resume points: after buildPhase ([Build]: the
// package's postBuild and everything after it may change) and after
// installPhase ([Install]: fixupPhase and after may change). The key of a
// point is a SHA-256 over the derivation's attributes as Nix passed them
// (package drvattrs) less those that only matter after the point: the
// attributes the classification (package classify) gives to later stages,
// those the package declares late (vanillaLateAttrs, vanillaInstallAttrs,
// the bodies of custom phases that run after the point), less those it
// keeps early (vanillaEarlyAttrs). Inputs, src, system, builder and the
// stdenv are attributes (store paths), so a change to any of them changes
// the key. The derivation's own output paths, which change with every
// late change, are left out, and in the other attributes' values
// (makeFlags naming $out) each output's hash, and the -frandom-seed= that
// nixpkgs derives from it, stand for the output's name. At the build point, setup
// hooks that only define functions for later phases (makeWrapper and the
// other late inputs of the classification, and the package's
// vanillaLateInputs) are left out of the input lists, unless an attribute
// before the point mentions one of their functions: the pure split's
// rule.
//
// Each attribute's digest is kept with the key ([Key.Attrs]), so that a
// miss can name the attributes that differ from the nearest entry.
//
// Caveats: the key covers the derivation, not the machine: variables Nix
// sets for each build (NIX_BUILD_CORES, NIX_BUILD_TOP and TMPDIR when the
// sandbox is off) and impure host state are not in it (docs/cache.md
// lists them). Two derivations that differ only after the point share a
// key by design; what makes them equal after a resume is the restore
// (package checkpoint), which maps the earlier invocation's output paths
// to this one's.
package cachekey
