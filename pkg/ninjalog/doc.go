// Package ninjalog keeps a finished ninja build up to date after the
// command lines in its manifest were rewritten.
//
// When nix-vanilla restores a build tree it rewrites Nix store hashes
// everywhere, build.ninja included, so edges' command lines change. Ninja
// stores a hash of each edge's command line in .ninja_log and rebuilds an
// output whose current command hashes differently. [Fix] gives every log
// entry the hash of its output's current command, so that "ninja -n"
// reports "ninja: no work to do." again. This is only correct when the
// build was complete and up to date before the rewrite, and when the
// rewrite changed nothing but the paths.
//
// # The build log
//
// [Parse] and [WriteFile] read and write .ninja_log. Ninja 1.11 writes
// format v5: a "# ninja log v5" line, then one line per output of each
// edge it ran,
//
//	start_ms \t end_ms \t mtime \t output \t hash \n
//
// with decimal start and end times (milliseconds since the start of that
// ninja run), the recorded mtime in decimal (nanoseconds since the epoch),
// the canonical output path and the command hash in lower-case
// hexadecimal without leading zeros. Ninja appends and, when loading,
// keeps the last entry per output; it recompacts the file (one entry per
// live output, in hash-map order) when it has more than 100 lines and
// more than three per output. All outputs of an edge are logged together with
// identical fields. Ninja 1.12 writes v6, with the same line format and
// hash (only what the mtime field records changed); [Parse] accepts both.
// Version 4 (commands instead of hashes) and version 7 (ninja 1.13 and
// later, which hashes with rapidhash) are rejected with
// [ErrUnsupportedVersion]. A [Log] keeps every line, superseded entries
// and lines ninja skips included, and rewrites only entries whose hash
// changed; [WriteFile] replaces the file atomically and keeps its mode
// and modification time.
//
// # What ninja hashes
//
// The hash ([HashCommand]) is MurmurHash64A with seed 0xDECAFBADDECAFBAD
// over the string Edge::EvaluateCommand(true) returns: the evaluated
// command, followed by ";rspfile=" and the evaluated rspfile_content if
// the edge has a non-empty one. Description, depfile, deps, pool and the
// other bindings are not hashed. Ninja reads the input in host byte order;
// logs written on big-endian machines would hash differently (this package
// follows little-endian ninja).
//
// # Commands
//
// Ninja prints the hashed string nowhere: "ninja -t compdb" shows an
// edge's command without the response file content, names only its first
// output and skips edges without inputs, and the other tools do not help
// either. [Commands] therefore evaluates the manifest itself, with a port
// of ninja 1.11.1's lexer, parser and variable scoping (file scopes,
// include and subninja, rule and edge bindings, $in, $in_newline and $out
// with ninja's shell quoting and path canonicalisation, and ninja's
// quirks: file-scope variables are looked up with their final values,
// edge bindings are evaluated in the enclosing file scope (where $in and
// $out are empty), and a
// file-scope variable named like a rule binding overrides the rule for
// edges that have no bindings of their own). It then runs
// "ninja -t compdb" and fails unless ninja's command for every edge it
// lists equals the evaluated one, so a divergence from ninja is an error,
// not a silently wrong hash. Every output of an edge, implicit ones
// included, maps to the edge's string. The tests check the result against
// the hashes ninja logs for hand-written and randomly generated manifests,
// CMake trees with response files forced on and Meson trees.
//
// Outputs an edge only gains from a dyndep file are not in the manifest;
// [Fix] gives them the command of outputs logged together with them.
// Entries for outputs no edge builds any more are left alone (and counted
// in [Stats].Untouched); ninja ignores them.
//
// # Caveats
//
// Ninja must be on $PATH ([ErrNinjaNotFound] otherwise). "ninja -t
// compdb" only loads the manifest; it does not touch the logs.
//
// Ninja 1.11 (checked with 1.11.1) does not look at build.ninja's own
// modification time unless build.ninja is an input of an edge; a
// generator edge that rebuilds build.ninja (CMake's and Meson's
// regeneration) does not become dirty because its output got newer. It does compare other times: an output
// older than its newest input is rebuilt, and so is one whose recorded
// mtime in the log is older than its newest input. A rewritten file that
// is an input of an edge (a source, a header, CMakeCache.txt, which is an
// input of CMake's regeneration edge) must therefore keep its
// modification time, or ninja rebuilds, or re-runs CMake, regardless of
// the log. Restoring the mtimes of every rewritten file, build.ninja
// included, is the safe choice.
//
// The deps log (.ninja_deps) is not handled here. It records the headers
// each object depended on, by path; if those paths contain rewritten
// store paths they must be rewritten there too, or ninja finds them
// missing and rebuilds. A same-length replacement keeps its binary
// records valid.
//
// Ninja may still rebuild for reasons unrelated to commands, such as a
// missing output or a generator whose inputs changed; "ninja -n -d
// explain" in the build directory tells why.
package ninjalog
