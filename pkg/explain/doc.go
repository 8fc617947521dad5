// Package explain says why a derivation rebuilds: it compares two .drv
// files (package derivation) and names the attributes, inputs and
// sources that differ, less what only follows from other differences,
// and for a split package (vanillaPackage = true) the first of its stages
// that differs.
//
// # What is a cause
//
// An attribute whose value differs only by store paths of changed inputs
// or of the derivation's own outputs is a consequence, not a cause: the
// outputs (out, dev…), vanillaFrom naming an earlier stage's checkpoint,
// a buildInputs naming a changed input. [Compare] maps each changed
// input's old output paths to the new ones (inputs are paired by name,
// then by name without version, so zlib-1.3 pairs with zlib-1.3.1) and
// each changed source's path, and compares the values after the mapping;
// what still differs is a cause ([AttrChange], summarised by
// [Summarize]: "+ EXTRA=1"), and so is each changed input, explained in
// turn to Options.Depth levels, each pair of derivations once.
//
// # Split packages
//
// The split decides which attribute goes to which stage (nix/split.nix,
// from pkg/classify's table and the package's declarations); this
// package does not decide again but reads the outcome. A split
// package's final stage names the unwrapped stage's checkpoint in
// vanillaFrom, an output of one of its input derivations, and the
// unwrapped stage names the vanilla stage's the same way. [Explain]
// follows that chain in OLD and NEW and compares the stages in build
// order: the first whose derivation differs is where the build starts
// ([Report].Rebuild), and each stage lists the causes that first appear
// in it.
//
// For a pair of derivations that are not split, [Explain] says where a
// split build would start ([Report].WouldRebuild) by the keys of the
// hook-mode cache's resume points (package cachekey), which leave out
// the attributes the classification gives to later stages and the late
// inputs no earlier attribute calls: only final attributes changed means
// the final stage, only unwrapped ones the checkpoint is reused.
//
// [Entry] explains a hook-mode cache miss: an entry against the nearest
// other entry of the same package and resume point, by the attributes
// each entry's checkpoint recorded.
//
// # Caveats
//
// For an unsplit pair the answer knows only what the derivations record:
// the split also decides some things at evaluation (check inputs stay
// early under doCheck, postBuild stays early when the package's
// buildPhase runs commands after `runHook postBuild`), which a plain
// derivation does not show, so for such packages the answer can be
// later than the split's. Inputs are paired by name: two inputs of one
// name that both changed pair in the order the files list them. Reading
// every changed input's derivation costs one file read each; inputs whose
// .drv is no longer in the store are named with the error instead of
// why they changed.
package explain
