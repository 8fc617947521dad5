// Package digest finds the digests of one content written in other files
// and replaces them by the digests of another content of the same length.
//
// When a file's bytes change after a build wrote them (store hashes
// rewritten, a build-id recomputed), every digest of its old bytes that
// the build wrote elsewhere is stale: a SHA256SUMS line, a Python wheel's
// RECORD entry, a manifest's md5. [Of] computes a content's digests; [New]
// pairs the old and new digests of changed files in every text encoding a
// build tool writes them in; a [Replacer] replaces them, at equal length,
// in other files' bytes. A [Finder] looks for the old digests alone, so
// that a caller computes the new digests of only the contents whose old
// ones are written somewhere.
//
// The algorithms are MD5, SHA-1, SHA-256, SHA-512 and CRC-32 (IEEE, as
// zlib, gzip, zip and .gnu_debuglink use it), and the rare ones a caller
// asks for ([Sums.AddRare], when [MayHoldRare] says a file may hold one):
// SHA-224, SHA-384, BLAKE2b-256 and BLAKE2b-512 (golang.org/x/crypto/blake2b).
// The encodings are hex in
// lower and upper case and base64 in the standard and the URL-safe
// alphabet, padded or not (RECORD files use URL-safe base64 without
// padding); CRC-32 only as eight hex digits.
//
// # Caveats
//
//   - Digests written as raw bytes (a 4-byte CRC in a binary header, a
//     32-byte SHA-256 in a signature) are not looked for: four or eight
//     arbitrary bytes occur by chance in large files. Formats that keep
//     raw digests at known places need their own fix-up.
//   - A digest of only part of a file (a chunk list, a Merkle tree) or of
//     several files together (a directory hash) is not recognised.
//   - cksum's POSIX CRC (decimal), sum, BLAKE2s and other lengths of
//     BLAKE2b are not computed: such a list keeps the old values
//     (TestUnknownChecksumKept).
//   - CRC-32 in hex is eight characters: a string that happens to equal
//     an old CRC is replaced too (one chance in 2³² for each place).
package digest
