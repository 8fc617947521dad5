// Package cache stores the checkpoints of hook-mode builds (builds with
// vanillaHook) in a local directory outside the Nix store, so that a later
// build whose early part is the same resumes from one, as ccache resumes
// compilations.
//
// # Layout
//
//	DIR/vanilla-cache        marker: magic and format version ([Open] refuses a directory without it)
//	DIR/CACHEDIR.TAG         tells backup tools the directory is a cache
//	DIR/max-size             the size limit, "10G" or bytes (optional; [Cache.SetMaxSize])
//	DIR/stats.log            one JSON line per hit, miss or save ([Cache.Record])
//	DIR/tmp/                 entries being written or removed, renameio's temporary files
//	DIR/entries/KEY/         one entry: the checkpoint's files, and
//	DIR/entries/KEY/entry.json   its header: magic, version, [Info], size and SHA-256 of every file
//	DIR/entries/KEY/use.json     last use and hits (replaced atomically, not covered by the header)
//	DIR/entries/KEY/lock         flock(2)ed shared by readers, exclusively by removers
//
// KEY is 64 lower-case hexadecimal digits. [Cache.Put] fills a fresh
// directory under tmp/, writes the header last and renames the directory
// into entries/: an entry is visible whole or not at all, and a writer
// killed at any point leaves only a directory under tmp/, which
// [Cache.GC] removes once it is an hour old and no process holds its lock.
// [Cache.Get] checks the header (magic, version, key, names, sizes) and
// the SHA-256 of every file but the ones [DeferredDigest] names (the
// archive, whose digest the checkpoint's own manifest records and
// checkpoint.Restore checks before it writes anything; [Cache.Verify]
// checks it too), and that the entry holds nothing the header does not
// list. A damaged entry is removed and reported as a [*DamagedError].
// Removing an entry ([Cache.Remove], [Cache.GC]) takes its lock
// exclusively without waiting and moves the directory to tmp/ first, so
// an entry that a build is restoring is never removed under it.
//
// # Sharing
//
// Builds run as the nixbld users, so the directory must be writable by
// group nixbld and pass the group on to what is created in it:
//
//	sudo mkdir -p /nix/var/cache/vanilla
//	sudo chgrp nixbld /nix/var/cache/vanilla
//	sudo chmod 2775 /nix/var/cache/vanilla
//
// The package creates directories with mode 0775 and files with 0664
// whatever the umask.
//
// # Testing hook
//
// With VANILLA_CACHE_FAULT=exit-in-put in its environment, [Cache.Put]
// exits the process (status 75) once fill has written the entry's files
// and half of the header: tests use it to check that a writer killed mid-Put
// leaves no visible entry. Nothing else reads the variable.
//
// # Caveats
//
// The cache is trusted as much as its least trusted writer: any build on
// the machine can write entries, as with ccache, and an entry whose
// header, digests and checkpoint manifest agree is restored as it is.
// Verification catches torn writes, truncation and bit flips, not a
// writer that lies consistently; the checkpoint's own restore confines
// what it writes to the build directory and the outputs. Keys are not
// checked against the content (the cache cannot recompute them), so an
// entry stored under a wrong key by a buggy or malicious writer is served
// for that key.
//
// Get waits for its shared lock while a remover or a Put finishing its
// size check holds the lock exclusively (moments, not a build's length),
// and removes a damaged entry only when no other process holds it. Put
// keeps an existing entry for its key without looking at it: if that
// one is damaged, the next Get removes it and the next Put stores again.
//
// Locks are flock(2) locks, which NFS may not honour between machines;
// put the directory on a local filesystem. Renames within the directory
// must be atomic (so DIR/tmp and DIR/entries are on one filesystem).
// Hits and last-use times are updated by replacing use.json: two builds
// using an entry at once may count one hit. The size limit is enforced
// after each Put, so the cache may exceed it by one entry while that
// entry is written; Put never removes the entry it stored, even one larger
// than the limit (the next Put does). An entry in use is never removed, so the cache can stay
// above its limit until the builds using it end. stats.log grows by
// about 200 bytes per build and is never truncated by this package.
package cache
