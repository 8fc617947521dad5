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
// Caveats: hashes inside compressed data (gzip, xz, zstd, bzip2, zip
// members) cannot be rewritten; Restore finds them and fails naming the file.
// A build directory that moved to a path of another length can only be
// rewritten in text files; binaries that embed it keep the old path and are
// counted. Modification times of symlinks are not restored. The archive holds
// modification times, so a checkpoint is not bit-for-bit reproducible.
package checkpoint
