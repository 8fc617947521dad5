// Package classify holds nix-vanilla's classification of mkDerivation
// attributes and inputs into the stage that first needs them.
//
// A split build has three stages: the checkpoint (unpack to buildPhase), the
// unwrapped stage (postBuild to installPhase) and the final stage (fixupPhase
// on). An attribute belongs to the earliest stage that reads it; anything not
// listed in the table is early, so an unknown attribute can only cost a
// rebuild, never a wrong result.
//
// The table is classification.json beside this file. The Nix side reads the
// same file (nix/classification.nix), so the two cannot disagree.
package classify
