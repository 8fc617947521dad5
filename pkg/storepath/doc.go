// Package storepath rewrites Nix store hashes in files and streams.
//
// A Nix store path is /nix/store/<hash>-<name>, where <hash> is 32
// characters of Nix's base-32 alphabet ("0123456789abcdfghijklmnpqrsvwxyz",
// without e, o, u and t). When a build tree or a build's outputs move from
// one derivation to another whose output paths differ only in their hashes,
// every occurrence of an old hash must become the corresponding new hash.
// A [Rewriter] does this the way Nix's own RewritingSink does: it replaces
// the bare 32-character hash wherever it occurs, not only after
// /nix/store/.
//
// A Rewriter offers the same replacement in several forms: in a byte slice
// ([Rewriter.ReplaceBytes]), a string ([Rewriter.Replace]), a stream
// ([Rewriter.Writer]) and a regular file in place ([Rewriter.File]).
// All of them share one search ([Rewriter.Index]): a multi-pattern
// Wu–Manber scan over 2-byte blocks which, on ordinary data, reads one
// block in about every 31 bytes, runs two independent scans interleaved
// to hide memory latency, and never allocates.
//
// # Semantics
//
// Matches are found left to right and do not overlap: after a replacement
// the scan resumes right after the replaced hash, and the replaced text is
// never scanned again. This is the behaviour of [strings.NewReplacer]. It
// differs from Nix's rewriteStrings, which applies one old→new pair after
// another to the whole buffer, only for maps whose new hashes are also
// old hashes (A→B together with B→C): Nix may then chain A→B→C, this
// package never does. The streaming forms give the same result however
// the input is cut into writes or reads.
//
// # Caveats
//
//   - Replacement is of equal length only: hashes are replaced by hashes,
//     so offsets, file sizes and anything that records them stay valid.
//     Nothing else (a name, a store directory) can be rewritten.
//   - A hash inside compressed data (a .gz man page, a .jar, a .whl, a
//     .zst file, a -gz debug section) cannot be rewritten: its bytes are
//     not in the file. [Rewriter.Leftovers] finds such hashes after the
//     rewrite, and [Rewriter.Inside] in a file's original bytes, in gzip,
//     zstd, bzip2, zip, static library (ar) members, ELF sections
//     compressed with zlib or zstd (SHF_COMPRESSED) and GCC LTO sections,
//     and, through the xz and lz4 programs when they are on PATH, in xz,
//     LZMA-alone and lz4 files. Brotli, lzip and compressed tar members
//     inside tar files are not looked into.
//   - A zip member stored uncompressed (method 0) is the file's own bytes:
//     the rewrite reaches it exactly, and Leftovers and Inside report only
//     what it holds compressed (a .gz member, a deflated member of a
//     stored jar). Its CRC-32 is stale after the rewrite until the caller
//     recomputes it (pkg/zipcrc).
//   - A hash stored as a literal inside compressed data (a stored deflate
//     block, a raw zstd or lz4 literal) is
//     rewritten like any other bytes, which may leave the container's
//     checksum wrong or the stream unlike the compressor's; check the
//     original bytes with [Rewriter.Inside] to see it.
//   - [Rewriter.WithSeed] also replaces nixpkgs' -frandom-seed= values,
//     only right after the flag; a Writer then holds back up to
//     HashLen-1+len(SeedFlag) bytes.
//   - A hash that only appears in a different encoding (upper case, UTF-16,
//     split by an escape sequence) is not found, exactly as with Nix.
//   - [Rewriter.File] rewrites in place: every hard link to the file sees
//     the change.
package storepath
