package checkpoint

import (
	"bytes"
	"encoding/gob"
	"fmt"
	"io/fs"
	"os"
	"syscall"

	"github.com/google/renameio/v2"
)

// A Snapshot identifies every entry of a build directory right after the
// source was unpacked, so that Save can tell the files the build left alone
// from the ones it generated or changed.
//
// A file counts as untouched when its inode, size and change time (ctime)
// are what they were: any write, chmod or rename updates the ctime, and no
// user-space call can set it back.
type Snapshot struct {
	Top     string
	Entries map[string]Identity
}

// Identity is what a snapshot records of one entry.
type Identity struct {
	Ino   uint64
	Ctime int64 // nanoseconds
	Size  int64
	Mode  fs.FileMode
	Mtime int64 // nanoseconds
}

// IdentityOf is what a snapshot records of the entry fi describes (an
// lstat's result).
func IdentityOf(fi fs.FileInfo) Identity { return identify(fi) }

func identify(fi fs.FileInfo) Identity {
	id := Identity{Size: fi.Size(), Mode: fi.Mode(), Mtime: fi.ModTime().UnixNano()}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		id.Ino = st.Ino
		id.Ctime = ctime(st)
	}
	return id
}

// Take snapshots the build directory top, leaving out the relative paths
// for which skip returns true (and everything below them) and the files
// Nix writes there (see [NixFile]).
func Take(top string, skip func(rel string) bool) (*Snapshot, error) {
	s := &Snapshot{Top: top, Entries: map[string]Identity{}}
	err := walk(top, treeSkip(skip), func(rel string, fi fs.FileInfo) error {
		s.Entries[rel] = identify(fi)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("snapshot %s: %w", top, err)
	}
	return s, nil
}

// WriteFile stores the snapshot at path.
func (s *Snapshot) WriteFile(path string) error {
	var buf bytes.Buffer
	if err := gob.NewEncoder(&buf).Encode(s); err != nil {
		return fmt.Errorf("write snapshot: %w", err)
	}
	return renameio.WriteFile(path, buf.Bytes(), 0o644)
}

// ReadSnapshot reads a snapshot stored by WriteFile.
func ReadSnapshot(path string) (*Snapshot, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read snapshot: %w", err)
	}
	defer f.Close()
	var s Snapshot
	if err := gob.NewDecoder(f).Decode(&s); err != nil {
		return nil, fmt.Errorf("read snapshot %s: %w", path, err)
	}
	return &s, nil
}
