// Package zipcrc keeps the CRC-32 of stored (uncompressed) zip members
// valid after the archive's bytes were rewritten at equal length.
//
// A zip archive (jar, wheel, egg) records each member's CRC-32 in its local
// file header, in its central directory entry and, when bit 3 of the flags
// is set, in a data descriptor after the data. A member stored without
// compression (method 0: `zip -0`, `jar -0`, members that do not compress)
// holds its bytes as they are, so a store path in it is rewritten in place
// like any bytes, and its CRC becomes stale: `unzip -t` and Java reject
// the member. [Fix] gives every such member whose CRC was right before the
// rewrite the CRC of its new bytes, in all three places. A stored member
// that is itself a zip archive (a jar in a jar) is fixed first, through
// the callback the caller passes.
//
// # Caveats
//
//   - Compressed members are not touched: a store path inside deflated data
//     cannot be rewritten exactly, and pkg/storepath reports it.
//   - A signed jar (META-INF/*.SF) whose stored members changed is refused
//     with [ErrSigned]: the member digests in its manifest and its
//     signature cannot be made again.
//   - Zip64 archives (more than 65,535 members, or sizes or offsets of 4 GiB
//     and more) are refused with [ErrZip64] when a member needs a new CRC.
//   - Only an archive that starts with a local file header is read;
//     an archive appended to another file (self-extracting) is located by
//     its end record, its offsets taken relative to where its central
//     directory really starts.
package zipcrc
