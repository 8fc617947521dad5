// Package stage carries a split build from one stage to the next: it is
// what the setup hook asks the helper to do at the end of a stage (Save)
// and at the start of the next (Restore).
//
// A package built with vanillaPackage = true becomes three derivations:
//
//   - the vanilla stage runs unpackPhase to buildPhase (without the
//     package's own postBuild) and saves the build tree, what the build
//     wrote into the outputs and the shell state;
//   - the unwrapped stage unpacks the source, restores the checkpoint over
//     it, replays the shell state, then runs postBuild to installPhase and
//     saves its outputs and shell state;
//   - the final stage restores those outputs and the shell state and runs
//     fixupPhase and the phases after it.
//
// Between stages, store hashes of the earlier stage's outputs are rewritten
// to the later stage's, whose outputs have the same names.
package stage
