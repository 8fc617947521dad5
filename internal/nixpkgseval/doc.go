// Package nixpkgseval evaluates a real nixpkgs (`<nixpkgs>`, with its own
// bootstrap stdenv) with and without nix/overlay.nix and checks what the
// overlay promises: no derivation of a package without `vanillaPackage`
// changes, in any package set, and with the flag every package either
// splits into its three stages or says in an evaluation warning why not.
//
// It only evaluates (nix-instantiate --eval); nothing is built. probe.nix
// prints one record per attribute as a trace line, so one process
// evaluates many attributes, and an attribute whose error
// builtins.tryEval cannot catch (a missing attribute, a type error) ends
// the process with its name and the part (without the overlay, with it,
// with the flag) known: the run goes on from the next name in a new
// process. An attribute that crashes without the overlay has nothing to
// compare; one that crashes only with it is a failure.
//
// Caveats: this nixpkgs has no Go (buildGo126Module), which the overlay's helper
// derivation needs; probe.nix stubs it (the helper is only instantiated).
// `nix-instantiate --eval` runs with --read-write-mode, because this
// nixpkgs imports files from paths copied to the store.
package nixpkgseval
