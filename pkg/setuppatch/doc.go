// Package setuppatch adds hook points between the phases to nixpkgs'
// stdenv setup script (pkgs/stdenv/generic/setup.sh): genericBuild's loop
// over $phases runs `runHook beforePhase NAME` before each phase, skips the
// phase when a hook set skipPhase, and runs `runHook afterPhase NAME` after
// a phase that ran. A setup hook that checkpoints a build or resumes one
// (nix-vanilla's) then needs no wrapping of runPhase and runHook.
//
// The script is parsed with mvdan.cc/sh/v3/syntax and genericBuild's loop
// found by the tree's shape; the edit is spliced into the original text at
// the loop body's offsets, so every other byte of the file stays as it was.
// Patching a patched script changes nothing. A script whose genericBuild
// has another shape is refused with a *ShapeError that says what was
// expected.
//
// Caveats: only the shape of genericBuild is checked, not what the rest of
// the script does; a setup.sh that redefines runPhase to skip phases by
// other means still gets the hook points.
package setuppatch
