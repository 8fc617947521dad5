// Package resume is hook mode's mechanism: a build with
// `nativeBuildInputs = [ vanillaHook ]` looks up its resume points in a
// local cache (package cache) under keys computed from its attributes
// (package cachekey), restores the latest point it finds, and otherwise
// builds as usual and stores an entry at each point for the next
// invocation.
//
// The resume points are after buildPhase (before the package's own
// postBuild, as the pure split's vanilla stage) and after installPhase.
// An entry is a checkpoint (package checkpoint) written by package stage:
// the build tree, the outputs as the phases left them, the shell state
// before the first phase and at the point, and the derivation's
// attributes. [Restore] brings it back over a freshly unpacked source as
// the pure split's unwrapped stage does (build point) or as its final
// stage does with the tree (install point), rewriting the earlier
// invocation's output paths to this one's.
//
// Caveats: the cache is written by every build that uses it, so an entry
// is untrusted: [Restore] relies on package checkpoint's verification, and
// a well-formed entry that still makes a later phase fail is removed by
// the caller, which runs the build again from scratch ([Clean] prepares
// the build directory for that). What an entry's content does at build
// time is only as trustworthy as the builds that can write the cache
// (docs/cache.md).
package resume
