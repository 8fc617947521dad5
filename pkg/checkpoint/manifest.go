package checkpoint

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/google/renameio/v2"
)

// Version is the checkpoint format this package writes and reads.
const Version = 3

// Names of the files in a checkpoint directory.
const (
	ManifestFile = "manifest.json"
	PristineFile = "pristine.zst"
	ArchiveFile  = "tree.tar.zst"
	OrderFile    = "order.zst"
)

// Manifest describes a checkpoint.
type Manifest struct {
	Version int `json:"version"`
	// Name is the name of the derivation that saved it.
	Name string `json:"name"`
	// BuildTop is the build directory of the build that saved it.
	BuildTop string `json:"buildTop"`
	// Tree says whether the checkpoint holds a build tree.
	Tree bool `json:"tree"`
	// Outputs maps output names to the store paths they had when saved.
	Outputs map[string]string `json:"outputs"`
	// Deleted lists paths (relative to BuildTop) that the unpacked source
	// had and the build removed.
	Deleted []string `json:"deleted,omitempty"`
	// PristineSize and OrderSize are the uncompressed sizes of
	// pristine.zst and order.zst, which bound reading them back.
	PristineSize int64 `json:"pristineSize"`
	OrderSize    int64 `json:"orderSize"`
	// Archive is the SHA-256 of tree.tar.zst, hex-encoded.
	Archive string `json:"archive"`
	// OutputsPart, in a checkpoint with a build tree, is where the
	// outputs' entries start in tree.tar.zst, after the tree's: a restore
	// of the outputs alone decodes from there. Nil in a checkpoint without
	// a tree, whose archive holds the outputs alone.
	OutputsPart *Part `json:"outputsPart,omitempty"`
	// Stats summarise what was saved.
	Stats Stats `json:"stats"`
}

// Stats count what a checkpoint holds.
type Stats struct {
	// Entries counts the archive's entries of every type: it bounds the
	// directories, links and pipes a restore creates.
	Entries int `json:"entries"`
	// Files and Bytes count regular files and their sizes in the archive.
	Files int   `json:"files"`
	Bytes int64 `json:"bytes"`
	// Pristine and PristineBytes count files left to the source.
	Pristine      int   `json:"pristine"`
	PristineBytes int64 `json:"pristineBytes"`
	// Sparse and SparseSize count sparse files and their sizes with
	// the holes (Bytes counts their data alone).
	Sparse     int   `json:"sparse,omitempty"`
	SparseSize int64 `json:"sparseSize,omitempty"`
	// Compressed is the size of tree.tar.zst.
	Compressed int64 `json:"compressed"`
	// SourceCopy is the size of the source copy, if there is one
	// ([SourceCopyFile]).
	SourceCopy int64 `json:"sourceCopy,omitempty"`
	// PreparedGroups and CopyGroups count the groups of the source copy
	// whose frames Save took from [Prepare], and all of them. They are
	// not recorded: a checkpoint is the same with or without Prepare.
	PreparedGroups int `json:"-"`
	CopyGroups     int `json:"-"`
}

// A Part is the end of tree.tar.zst from the start of one of its zstd
// frames: a tar stream of its own, whose entries it counts.
type Part struct {
	// Offset is where its first frame starts in tree.tar.zst.
	Offset int64 `json:"offset"`
	// Entries, Files, Bytes and SparseSize count what it holds, as
	// Stats count the whole archive.
	Entries    int   `json:"entries"`
	Files      int   `json:"files"`
	Bytes      int64 `json:"bytes"`
	SparseSize int64 `json:"sparseSize,omitempty"`
}

// CorruptError reports a checkpoint that cannot be read back: missing,
// truncated or altered files.
type CorruptError struct {
	Dir string
	Err error
}

func (e *CorruptError) Error() string {
	return fmt.Sprintf("checkpoint %s is corrupt or incomplete: %v", e.Dir, e.Err)
}

func (e *CorruptError) Unwrap() error { return e.Err }

// IsCorrupt reports whether err says a checkpoint is corrupt or incomplete.
func IsCorrupt(err error) bool {
	var c *CorruptError
	return errors.As(err, &c)
}

// ReadManifest reads the manifest of the checkpoint in dir.
func ReadManifest(dir string) (*Manifest, error) {
	data, err := ReadBounded(filepath.Join(dir, ManifestFile), maxManifest)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, &CorruptError{Dir: dir, Err: fmt.Errorf("no %s", ManifestFile)}
	}
	var nr *NotRegularError
	if errors.As(err, &nr) || errors.Is(err, errTooLarge) {
		return nil, &CorruptError{Dir: dir, Err: err}
	}
	if err != nil {
		return nil, fmt.Errorf("read checkpoint: %w", err)
	}
	var m Manifest
	if err := json.Unmarshal(data, &m); err != nil {
		return nil, &CorruptError{Dir: dir, Err: fmt.Errorf("%s: %w", ManifestFile, err)}
	}
	if m.Stats.Entries < 0 || m.Stats.Files < 0 || m.Stats.Bytes < 0 || m.Stats.Pristine < 0 || m.Stats.SparseSize < 0 || m.Stats.PristineBytes < 0 || m.Stats.SourceCopy < 0 || m.PristineSize < 0 || m.OrderSize < 0 {
		return nil, &CorruptError{Dir: dir, Err: fmt.Errorf("%s declares negative sizes", ManifestFile)}
	}
	if p := m.OutputsPart; p != nil && (!m.Tree || p.Offset < 0 || p.Offset >= m.Stats.Compressed || p.Entries < 0 || p.Entries > m.Stats.Entries ||
		p.Files < 0 || p.Files > m.Stats.Files || p.Bytes < 0 || p.Bytes > m.Stats.Bytes || p.SparseSize < 0 || p.SparseSize > m.Stats.SparseSize) {
		return nil, &CorruptError{Dir: dir, Err: fmt.Errorf("%s declares an outputs part that is not inside the archive it describes", ManifestFile)}
	}
	if m.Version != Version {
		return nil, fmt.Errorf("checkpoint %s has format version %d; this nix-vanilla reads version %d", dir, m.Version, Version)
	}
	return &m, nil
}

func writeManifest(dir string, m *Manifest) error {
	data, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	return renameio.WriteFile(filepath.Join(dir, ManifestFile), append(data, '\n'), 0o644)
}

var errTooLarge = errors.New("larger than such a file may be")

// ReadBounded reads the regular file p, of at most limit bytes, without
// following a symlink or blocking on a FIFO (a *NotRegularError for
// anything but a regular file): how a checkpoint's, or a cache entry's,
// small files are read.
func ReadBounded(p string, limit int64) ([]byte, error) {
	f, err := os.OpenFile(p, os.O_RDONLY|openFlags, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, &NotRegularError{Path: p, Mode: fi.Mode()}
	}
	if fi.Size() > limit {
		return nil, fmt.Errorf("%s: %d bytes, %w (%d)", p, fi.Size(), errTooLarge, limit)
	}
	data := make([]byte, fi.Size())
	if _, err := io.ReadFull(f, data); err != nil {
		return nil, err
	}
	return data, nil
}
