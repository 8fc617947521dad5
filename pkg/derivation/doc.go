// Package derivation reads and writes Nix derivations (.drv files) in the
// ATerm form the store keeps them in:
//
//	Derive([outputs],[inputDrvs],[inputSrcs],system,builder,[args],[env])
//
// where an output is ("name","path","hashAlgo","hash"), an input derivation
// is ("path",["output",…]) and an environment entry is ("name","value").
// Strings are double-quoted with backslash escapes for '"', '\\', newline,
// carriage return and tab; any other byte stands for itself. [Parse] keeps
// the order of every list as the file has it, so [Derivation.Write] gives
// back the bytes Nix wrote ([Derivation.Bytes] for a file Nix made).
// White space after the closing parenthesis (a newline an editor added)
// is allowed and not kept.
//
// Errors of [Parse] and [ReadFile] are *[SyntaxError] values naming the
// file, the byte offset and the line and column.
//
// Why not a library: nix-community/go-nix has a .drv parser
// (pkg/derivation, Apache-2.0, checked at its commit of January 2025). Its
// README calls the repository experimental, it has no tagged release, its
// module requires badger, sqlite3 (cgo) and multihash among others, and
// its parse errors carry no position ("array not closed"). A .drv file is
// seven lists of strings; this package is about 250 lines and fuzzed
// (FuzzParse).
//
// Caveats: only the classic Derive(…) form is read. Nix with the
// experimental dynamic-derivations feature writes DrvWithVersion(…) and
// input derivations with nested outputs; those are refused with a
// SyntaxError that says so. Nothing checks that paths are store paths or
// that the file's name matches its hash: a .drv is read as the text it is.
// Strings are not required to be UTF-8, as Nix does not require it.
package derivation
