// Package checkpoint writes and restores nix-vanilla checkpoints: what a
// build generated or changed in its build directory and wrote into its
// outputs, with the metadata needed to bring them back exactly.
//
// A checkpoint is a directory:
//
//	manifest.json   what was saved, from where, and a digest of the archive
//	pristine.zst    files that came from the source unchanged (size, mode, mtime)
//	tree.tar.zst    the generated files (tree/…) and the outputs (outputs/NAME/…)
//
// Files identical to the unpacked source are not stored: restoring unpacks
// the source again first, checks that it gave the recorded files, and lays
// the archive over it. Entries are written with nanosecond modification
// times, modes, symlinks and hard links, and store hashes of the saved
// outputs are rewritten to the restoring build's while extracting.
//
// After the rewrite, Restore keeps valid what covers rewritten bytes:
// GNU build-ids, hash-based .pyc files, .gnu_debuglink CRCs, digests of
// rewritten files written in other files (SHA256SUMS, RECORD) and ninja
// logs; and it rewrites nixpkgs' -frandom-seed= values.
//
// Caveats: hashes inside compressed data (whole compressed files, zip and
// static library members, compressed and LTO ELF sections) cannot be
// rewritten exactly; Restore fails naming an output that holds one, and
// gives a build-tree file its original bytes back and lists it in
// Result.Unrewritable; [Scan] then fails a stage whose outputs contain
// one. Digests stored as raw bytes (other than .gnu_debuglink CRCs) are not
// updated. Fix-ups read every restored file again when something changed.
// A build directory that moved to a path of another length can only be
// rewritten in text files; binaries that embed it keep the old path and are
// counted. Modification times of symlinks are not restored. The archive holds
// modification times, so a checkpoint is not bit-for-bit reproducible.
package checkpoint
