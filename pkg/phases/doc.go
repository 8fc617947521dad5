// Package phases looks at the code of a build phase, parsed with
// mvdan.cc/sh/v3/syntax, for what a split build must know before running
// it: whether commands follow a `runHook` call whose hook the split runs
// in a later stage.
//
// Caveats: only what the phase's own text says is seen. A command run by a
// function the phase calls, or text built at run time and passed to eval,
// is not.
package phases
