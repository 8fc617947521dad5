// Package tarsum keeps the header checksums of an uncompressed tar archive
// valid after its bytes were rewritten at equal length.
//
// Every tar member starts with a 512-byte header whose chksum field (8
// bytes at offset 148, octal) is the sum of the header's bytes, the field
// taken as spaces. A member name, link name or prefix that names a store
// path is rewritten in place like any bytes, and the checksum becomes
// stale: GNU tar and Python's tarfile reject the header. PAX extended
// headers (x, g) and GNU long names (L, K) keep the path in their data,
// which has no checksum, and record lengths do not change at equal length.
// [Fix] walks the archive as the checkpoint held it, gives every header
// whose checksum was right before the rewrite the checksum of its new
// bytes (in the field's own width), and calls back for the data of each
// regular member, so that a PNG or zip archive inside the tar is fixed too.
//
// # Caveats
//
//   - Only ustar, POSIX and GNU archives (with the "ustar" magic) are
//     recognised; old V7 archives are not.
//   - Member data has no checksum in tar; compressed archives (.tar.gz, …)
//     are compressed data, refused by the restore when they name a path.
//   - A header whose checksum was already wrong ends the walk: what follows
//     is left as it was.
package tarsum
