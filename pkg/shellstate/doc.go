// Package shellstate captures, compares and replays the state of a bash
// build: variables and arrays, functions, shell options, the umask and
// the working directory, as bash itself prints them with `declare -p`,
// `declare -f`, `shopt -p`, `set +o` and `umask -p`.
//
// The dumps are parsed with mvdan.cc/sh/v3/syntax, never with regular
// expressions, and values are decoded the way bash would read them back.
//
// A checkpointed build records two states: the one setup.sh left before the
// first phase ran, and the one after the last checkpointed phase. [Merge]
// applies the difference between them to the fresh state of a later stage,
// so what early phases did (a makeFlagsArray filled in preBuild, a function
// defined in preConfigure, `cd build`) reaches installPhase, while what the
// later stage owns (its outputs, its build directory, its own late
// attributes) keeps the later stage's value.
//
// Caveat: a variable that both the early phases and the later stage's setup
// changed is merged textually when the early phases only added text around
// the old value (PATH=$PWD/bin:$PATH); otherwise the early phases' value
// wins and [Merge] reports a conflict.
package shellstate
