// Package inplace edits files so that, to everything but their content,
// they look untouched: they keep their mode and modification time.
//
// Two ways are offered, which differ in what a hard link sees:
//
//   - [Open] writes into the file itself, at the offsets the caller
//     chooses. The file keeps its inode, so every hard link to it sees the
//     change. A file its owner cannot write is given u+w for the time of
//     the edit, and [File.Close] gives back the mode (with the set-user-ID,
//     set-group-ID and sticky bits, which the kernel clears on a write)
//     and the modification time the file had when it was opened.
//   - [Replace] and [ReplaceIn] write a new file next to the old one and
//     rename it over the old name, with the old file's mode and
//     modification time: a reader sees the old content or the new, never
//     a mix. The name gets a new inode, so hard links to the old file keep
//     the old content.
//
// Caveats:
//
//   - An edit through Open is not atomic: if it fails part way, the file
//     is left partly written, and the caller should treat it as lost.
//   - Replace renames within the file's directory, so it never crosses a
//     filesystem; but a rename is only as atomic as the filesystem makes
//     it (not on NFS; see package renameio, which Replace uses).
//   - Access times are not kept: Open leaves them to the kernel, Replace
//     leaves the new file's, and ReplaceIn sets them to the modification
//     time.
//   - Owner, group and extended attributes (ACLs, capabilities) of a
//     replaced file are not copied: the new file is the caller's.
package inplace
