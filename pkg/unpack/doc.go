// Package unpack brings back the source files a checkpoint left to the
// source (its pristine files) from the derivation's sources themselves,
// instead of running stdenv's unpackPhase a second time.
//
// A resumed build needs, before the checkpoint is laid over it, every
// file the first build's unpackPhase produced and the build then left
// alone. The checkpoint lists them (name, size, mode, modification time,
// SHA-256); [Unpack] finds each one in the sources as unpackPhase's
// default unpackers would have put it (a tarball extracted into the build
// directory, as `tar xf` does; a source directory copied to its name
// without the store hash, as `cp -pr` does), checks its size and SHA-256
// before writing it, and gives it the recorded mode and time. The other
// files of the sources (the ones the build changed or deleted) are not
// written at all.
//
// It is faster than unpackPhase because the decompressor runs on its own
// (xz with as many threads as the build has cores, zstd's decoder on
// several goroutines) while files are created on several goroutines, one
// per directory at a time so that each directory is filled in the order
// the tarball lists it; and because nothing is written twice.
//
// What cannot be reproduced exactly is never approximated: a source that
// is neither a directory nor a tarball (a zip, a single file for an
// unpackCmd), a listed file found in no source or with other content (a
// postUnpack or a custom unpackPhase changed it), a file listed twice, a
// hard link to a file this call did not write, a name already present:
// Unpack then removes everything it created and returns a
// *NotReproducedError, and the caller runs unpackPhase as before.
// The shell side of unpackPhase (sourceRoot, variables set by hooks) is
// not this package's business: a resumed build replays the shell state
// saved after the build.
//
// Caveats: xz and lzma data need the xz program on PATH, as stdenv's
// unpacker does; bzip2 uses the bzip2 program when there is one and Go's
// slower decoder otherwise; lzip, lz4, 7z, zip and rar sources are not
// understood. Directories are created with mode 0755 and their
// modification times left to the caller (a checkpoint restores every
// directory's). Files are read whole into memory before they are written,
// at most 64 MiB in flight besides the largest file. Hard links are
// created after every other file, so a directory holding one may list
// its entries in another order than tar would have left it (a
// checkpoint's restore puts the order right).
package unpack
