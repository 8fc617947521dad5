// Package pngcrc keeps the chunk CRCs of a PNG file valid after its bytes
// were rewritten at equal length.
//
// A PNG file is an 8-byte signature followed by chunks: a 4-byte
// big-endian length, a 4-byte type, the data, and a CRC-32 (IEEE) of the
// type and the data. A tEXt chunk, or the uncompressed text of an iTXt
// chunk, that names a store path is rewritten in place like any bytes;
// its CRC is then stale and libpng rejects the file. [Fix] gives every
// chunk whose CRC was right before the rewrite the CRC of its new bytes.
//
// # Caveats
//
//   - Compressed chunks (IDAT, zTXt, iCCP, compressed iTXt) hold zlib
//     streams: a store path inside them is not reachable by rewriting
//     bytes. pkg/storepath looks into them and the restore refuses such a
//     file; Fix only recomputes CRCs.
//   - A chunk whose CRC was already wrong before the rewrite keeps it.
//   - APNG's extra chunks and private chunks are chunks like the others.
package pngcrc
