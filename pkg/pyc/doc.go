// Package pyc keeps hash-based Python bytecode valid for its source.
//
// Since PEP 552 (Python 3.7) a .pyc file may record, instead of its
// source's modification time and size, a 64-bit SipHash of the source's
// bytes, keyed with the .pyc magic number. py_compile writes such files by
// default when SOURCE_DATE_EPOCH is set, as in every Nix build. When the
// source's store hashes are rewritten, the recorded hash is stale:
// `--check-hash-based-pycs always` (and, for flag 0b11, the default) makes
// Python ignore the file. [Fix] gives the .pyc the hash of the new source,
// after checking that the recorded one was the hash of the old source.
//
// The 16-byte header is: magic (4 bytes), flags (4, little endian: bit 0
// hash-based, bit 1 check the source), then either mtime and size or the
// 8-byte source hash. The hash is CPython's _Py_KeyedHash: SipHash-1-3
// from Python 3.11 on, SipHash-2-4 before; [Fix] tries both on the old
// source and keeps the variant that reproduces the recorded hash.
//
// # Caveats
//
//   - Timestamp-based .pyc files (flags 0) record the source's size and
//     modification time; rewriting keeps both, so they stay valid and are
//     left alone.
//   - The source is found where Python looks for it: NAME.py next to
//     __pycache__/NAME.TAG.pyc, or next to a legacy NAME.pyc. Bytecode
//     compiled from a source elsewhere is not matched.
package pyc
