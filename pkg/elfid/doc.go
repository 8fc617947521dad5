// Package elfid recomputes the GNU build-id of an ELF file after its
// contents were edited in place.
//
// A tool that replaces bytes in a linked file without moving anything, such
// as one rewriting the 32-character hashes of Nix store paths, leaves the
// file's build-id note describing the old contents. [Recompute] and [File]
// compute the id again as GNU ld (BFD, binutils 2.40) computes it for
// --build-id=sha1, so that the edited file is byte for byte the file ld
// would have written had it linked the edited contents directly.
//
// GNU ld hashes, with SHA-1:
//
//   - the ELF header, with e_phoff and e_shoff set to zero;
//   - every program header, as stored;
//   - every section header in index order, with sh_offset set to zero,
//     each followed by the bytes of its section.
//
// Section bytes are left out for the null section, SHT_NOBITS sections and
// the sections ld makes itself rather than from input sections: the section
// name table, the symbol table, its string table and SHT_SYMTAB_SHNDX. The
// build-id note itself is hashed as zeros, and so is a packaging metadata
// note (ld --package-metadata), which ld also fills in only after it has
// computed the id.
//
// Caveats:
//
//   - Only the sha1 style, with its 20-byte descriptor, can be recomputed.
//     md5 and uuid ids (16 bytes) are reported as an [UnsupportedError]. An
//     explicit --build-id=0x… of exactly 20 bytes cannot be told from sha1
//     and would be replaced.
//   - Only GNU ld's algorithm is implemented. gold, lld, mold and the Go
//     linker make their ids differently; files that carry their marks (a
//     gold version note, a Go build ID note, lld or mold in .comment) are
//     reported as an [UnsupportedError].
//   - strip, objcopy and patchelf keep the id but change what it covers
//     (debug sections, the symbol table's header, section names, dynamic
//     section), so an id is only reproducible in a file as ld wrote it. A
//     file without section headers is reported as an [UnsupportedError];
//     other stripped or patched files cannot be recognized: their new id
//     would be a valid hash of the file, not the one ld would have given.
//     A caller that must know asks [Reproducible] before editing: it
//     reports whether the stored id is the one ld computes for the file.
package elfid
