// Package checkpoint writes and restores nix-vanilla checkpoints: what a
// build generated or changed in its build directory and wrote into its
// outputs, with the metadata needed to bring them back exactly.
//
// A checkpoint is a directory:
//
//	manifest.json   what was saved, from where, and a digest of the archive
//	pristine.zst    files that came from the source unchanged (size, mode, mtime, SHA-256)
//	order.zst       the order in which each directory listed its entries
//	tree.tar.zst    the generated files (tree/…) and the outputs (outputs/NAME/…)
//
// Files identical to the unpacked source are not stored: restoring unpacks
// the source again first, checks by content (size and SHA-256) that it
// gave the recorded files, gives them back the recorded modification times
// and modes (an unpacker such as cp -r sets new ones), and lays the archive
// over it. With RestoreOptions.Sources, Restore unpacks them itself (only
// those files, checked as they are written; package unpack) while it
// verifies the archive. Entries are written with nanosecond modification times, modes
// (unreadable files too), symlinks, hard links (also between the build
// tree and an output), named pipes (created, never opened) and sparse
// files (holes left unwritten), and store hashes of the saved outputs are
// rewritten to the restoring build's while extracting. Where the
// filesystem lists a directory's entries in creation order (tmpfs: newest
// first), the restored directory is made to list them as the saved one
// did. The files Nix writes into the build directory (env-vars, .attrs.*,
// .attr-HASH of passAsFile; see NixFile) belong to each stage and are
// neither saved nor restored.
//
// [Prepare] does the part of a save that depends only on files the build
// may leave alone (their digests, the frames of a source copy) ahead of
// it, in the background; [SaveOptions.Prepared] takes what still holds,
// and the checkpoint is the same bytes with or without it.
//
// After the rewrite, Restore keeps valid what covers rewritten bytes:
// GNU build-ids, PNG chunk CRCs, tar header checksums, the CRC-32 of
// stored zip members and the page hashes of ad-hoc Mach-O code signatures
// (before any digest is compared), hash-based .pyc files, .gnu_debuglink
// CRCs, digests of rewritten files written in other files (SHA256SUMS,
// RECORD) and ninja logs; and it rewrites nixpkgs' -frandom-seed= values.
// A PNG, tar, zip or Mach-O file whose checksums cannot be recomputed (a
// zip64 archive, a signed jar, a Mach-O file signed with a certificate, a
// file it cannot read) fails the restore with a *ChecksumError naming it. RestoreOptions.Skip turns
// single fix-ups off ([Fixups]), at the price of outputs that differ from
// the plain build's where they apply; the check for hashes inside
// compressed data always runs.
//
// Caveats: hashes inside compressed data (whole compressed files, zip and
// static library members, compressed and LTO ELF sections) cannot be
// rewritten exactly; Restore fails naming an output that holds one, and
// gives a build-tree file its original bytes back and lists it in
// Result.Unrewritable; [Scan] then fails a stage whose outputs contain
// one. Digests stored as raw bytes (other than .gnu_debuglink CRCs and the
// PNG, tar and zip checksums above) are not updated; compressed members of
// an uncompressed tar and a PNG's zlib chunks are not looked into. Fix-ups read every restored file again when something changed.
// A build directory that moved to a path of another length can only be
// rewritten in text files; binaries that embed it keep the old path and are
// counted. Symlinks get their modification times back on Linux and darwin
// only (elsewhere the syscall package has no utimensat). Sockets and
// device nodes are not saved (one warning each). Checking the source by
// content reads every pristine file twice, once when saving (or in
// Prepare) and once when restoring (or when unpacking it, with Sources): on Linux's source tree (1.3 GB in 78,579 files) that took
// about 5 s of CPU time each way on these machines (docs/design.md). Sparse files use this package's own PAX
// records (SparseMapKey), which other tar readers ignore: they extract the
// data extents one after the other. On a filesystem that orders entries by
// a hash of their names (ext4), a directory lists its entries as that
// filesystem orders them, whatever order the checkpoint recorded. The
// archive holds modification times, so a checkpoint is not bit-for-bit
// reproducible. A checkpoint is untrusted input (docs/security.md): every
// file operation of Restore goes through an os.Root of the build directory
// or of an output itself, never follows a symlink out, never opens a FIFO
// or device; the archive is verified before the first write, and a failed
// restore removes the outputs it created and empties the build directory
// but for Nix's files. But a checkpoint whose manifest and archive agree
// is restored as it is: its content is as trustworthy as whoever could
// write it. Setuid and setgid bits are dropped.
package checkpoint
