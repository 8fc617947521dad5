// Package codesign keeps the ad-hoc code signature of a Mach-O file valid
// after its bytes were rewritten at equal length.
//
// On Apple silicon every executable and library carries a code signature,
// which ld64 and lld write at link time ("linker-signed", ad hoc: no
// certificate). It is a SuperBlob at the end of __LINKEDIT, named by the
// LC_CODE_SIGNATURE load command, holding one or more CodeDirectories:
// a hash of every page of the file up to the signature (the code limit;
// lld hashes pages of 4 KiB, and each CodeDirectory records its own page
// size), hashes of the signature's other blobs (requirements,
// entitlements) and of an embedded Info.plist in "special slots", and an
// identifier string. A store path rewritten in place leaves the
// page hashes of the pages it touched stale, and the kernel kills such a
// program when it maps the page. [Fix] gives every such page (and special
// slot) the hash of its new bytes: the page hashes are a function of the
// bytes alone, so the signature becomes the one the linker would have
// written for them. [Verify] checks every hash, as the loader would.
//
// Thin files of either byte order, 32- and 64-bit, and universal ("fat")
// files with 32- or 64-bit slice offsets (FAT_MAGIC, FAT_MAGIC_64) are
// read; every CodeDirectory (SHA-1, SHA-256, truncated SHA-256, SHA-384
// alternates), with the page size and code limit it records (codeLimit64
// when set). [Parse] gives the layout, for tools that compare files with
// the UUID left out.
//
// The layouts are those of Apple's cs_blobs.h (xnu osfmk/kern/cs_blobs.h),
// <mach-o/loader.h> and <mach-o/fat.h>, and of what lld writes
// (lld/MachO/SyntheticSections.cpp, CodeSignatureSection).
//
// # Caveats
//
//   - Only ad-hoc signatures can be made again. A slice whose bytes
//     changed and whose signature has a CMS signature with content, or a
//     CodeDirectory without the CS_ADHOC flag, is refused with a
//     [*SignedError]; nothing of the file is changed then.
//   - The identifier string and the other blobs of the signature lie past
//     the code limit, so no page hash covers them. A store path in the
//     identifier is rewritten like any bytes; the CodeDirectory's own hash
//     (the cdhash) then changes, which only a CMS signature records, and
//     a file with one is refused anyway. A rewritten requirements or
//     entitlements blob gets its special slot recomputed.
//   - The Info.plist slot is recomputed when the plist is embedded (a
//     __TEXT,__info_plist section) and changed. Special slots that hash
//     files outside the Mach-O file (a bundle's Info.plist and
//     _CodeSignature/CodeResources) are left as they are, and so is
//     CodeResources itself.
//   - LC_UUID is left as it is. ld64 derives it from the content, by
//     rules that cannot be checked here without ld64; lld-14 and lld-16
//     write a different one at every link of a signed file (and, unsigned,
//     one that depends on the number of threads), so no rewrite could
//     match them. The pages holding it are hashed like the others.
//   - A hash that was already wrong before the rewrite is left wrong.
//   - Scatter vectors (CodeDirectory version 0x20100 with a scatter
//     offset, never written for Mach-O files by ld64, lld or codesign) are
//     refused as a [*FormatError].
//   - Universal files are read big-endian, as lipo writes them; Java class
//     files, which share the 0xcafebabe magic, are told apart by their
//     version number, read as a count of at least 45 slices.
package codesign
