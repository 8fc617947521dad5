package cache

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/google/renameio/v2"
	"github.com/nix-vanilla/nix-vanilla/pkg/checkpoint"
)

// Names inside an entry directory that are the cache's, not the
// checkpoint's.
const (
	HeaderFile = "entry.json"
	UseFile    = "use.json"
	LockFile   = "lock"
)

const (
	headerMagic = "nix-vanilla cache entry"
	maxHeader   = 16 << 20
	maxUse      = 4 << 10
	maxFiles    = 1 << 16
)

// ErrNotFound is returned (wrapped) by Get, Used and Remove for a key
// the cache has no entry for.
var ErrNotFound = errors.New("no such cache entry")

// ErrBusy is returned (wrapped) by Remove for an entry a build is using.
var ErrBusy = errors.New("cache entry in use")

// Info describes an entry.
type Info struct {
	Key   string            `json:"key"`   // 64 lower-case hex digits
	Name  string            `json:"name"`  // the derivation's name, e.g. "hello-2.12"
	Point string            `json:"point"` // the resume point, e.g. "build" or "install"
	Attrs map[string]string `json:"attrs"` // attribute name -> digest (hex), to explain misses
	// Created is when Put stored it; LastUsed when Used last recorded
	// a hit (Created until then); Hits counts them.
	Created  time.Time `json:"created"`
	LastUsed time.Time `json:"lastUsed"`
	Hits     int       `json:"hits"`
	// Size is the bytes of the checkpoint's files (the cache's own few
	// hundred bytes aside).
	Size int64 `json:"size"`
}

// DamagedError reports an entry that failed verification.
type DamagedError struct {
	Key    string
	Reason string
}

func (e *DamagedError) Error() string {
	return fmt.Sprintf("cache entry %s is damaged: %s", e.Key, e.Reason)
}

// DeferredDigest reports whether Get leaves the SHA-256 of an entry's
// file name unchecked (it checks its size): only the checkpoint's archive,
// checkpoint.ArchiveFile, whose digest the checkpoint's manifest records
// and checkpoint.Restore verifies before writing anything. The header
// records no digest for it; Verify checks it against the manifest.
func DeferredDigest(name string) bool {
	return name == checkpoint.ArchiveFile
}

// header is an entry's entry.json.
type header struct {
	Magic   string            `json:"magic"`
	Version int               `json:"version"`
	Key     string            `json:"key"`
	Name    string            `json:"name"`
	Point   string            `json:"point"`
	Attrs   map[string]string `json:"attrs"`
	Created time.Time         `json:"created"`
	Size    int64             `json:"size"`
	Dirs    []string          `json:"dirs"`
	Files   []fileSum         `json:"files"`
}

type fileSum struct {
	Name   string `json:"name"`
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256,omitempty"`
}

// use is an entry's use.json.
type use struct {
	LastUsed time.Time `json:"lastUsed"`
	Hits     int       `json:"hits"`
}

// ValidKey reports whether key is 64 lower-case hexadecimal digits.
func ValidKey(key string) bool {
	return len(key) == 64 && isHex(key)
}

func isHex(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// checkInfo checks what Put stores and what a header claims.
func checkInfo(key, name, point string, attrs map[string]string) error {
	switch {
	case !ValidKey(key):
		return fmt.Errorf("key %q is not 64 lower-case hex digits", key)
	case name == "" || len(name) > 255 || strings.ContainsAny(name, "/\x00\n"):
		return fmt.Errorf("derivation name %q is not a store name", name)
	case !word(point):
		return fmt.Errorf("resume point %q is not a word", point)
	case len(attrs) > maxFiles:
		return fmt.Errorf("%d attributes", len(attrs))
	}
	for a, d := range attrs {
		if a == "" || len(a) > 1024 || strings.ContainsAny(a, "\x00\n") || d == "" || len(d) > 128 || !isHex(d) {
			return fmt.Errorf("attribute %q has digest %q (expected hex)", a, d)
		}
	}
	return nil
}

func word(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for _, r := range s {
		if !('a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9' || strings.ContainsRune("-_.+", r)) {
			return false
		}
	}
	return true
}

// checkName checks a path read from a header or written by fill: clean,
// relative, inside the entry, and none of the cache's own names.
func checkName(name string) error {
	if name == "" || len(name) > 4096 || strings.ContainsRune(name, 0) || filepath.IsAbs(name) ||
		filepath.Clean(name) != name || name == ".." || strings.HasPrefix(name, "../") {
		return fmt.Errorf("invalid file name %q", name)
	}
	switch name {
	case HeaderFile, UseFile, LockFile:
		return fmt.Errorf("file name %q is reserved for the cache", name)
	}
	return nil
}

func (c *Cache) entryDir(key string) string { return c.path(EntriesDir, key) }

// lockEntry opens the lock of entry key and flocks it (how: LOCK_SH or
// LOCK_EX, maybe with LOCK_NB), then checks that the entry was not
// removed or replaced meanwhile. It returns ErrNotFound when there is no
// entry, errNoLock for an entry directory without a lock file.
func (c *Cache) lockEntry(key string, how int) (*os.File, error) {
	p := filepath.Join(c.entryDir(key), LockFile)
	for range 3 {
		// A symlink in entries/ could make the entry any directory.
		fi, err := os.Lstat(c.entryDir(key))
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("%s: %w", key, ErrNotFound)
		}
		if err != nil {
			return nil, err
		}
		if !fi.IsDir() {
			return nil, errNoLock
		}
		f, err := os.OpenFile(p, os.O_RDONLY|syscall.O_NOFOLLOW|syscall.O_NONBLOCK, 0)
		if errors.Is(err, fs.ErrNotExist) {
			if _, err := os.Lstat(c.entryDir(key)); err == nil {
				return nil, errNoLock
			}
			return nil, fmt.Errorf("%s: %w", key, ErrNotFound)
		}
		if err != nil {
			return nil, err
		}
		if err := flock(f, how); err != nil {
			f.Close()
			return nil, err
		}
		if same(f, p) {
			return f, nil
		}
		f.Close() // removed, maybe stored again: try again
	}
	return nil, fmt.Errorf("%s: %w", key, ErrNotFound)
}

var errNoLock = errors.New("no lock file")

func flock(f *os.File, how int) error {
	for {
		err := syscall.Flock(int(f.Fd()), how)
		if err == syscall.EINTR {
			continue
		}
		if err == syscall.EWOULDBLOCK {
			return ErrBusy
		}
		if err != nil {
			return &fs.PathError{Op: "flock", Path: f.Name(), Err: err}
		}
		return nil
	}
}

// same reports whether the open file f is still the file at p.
func same(f *os.File, p string) bool {
	a, err1 := f.Stat()
	b, err2 := os.Lstat(p)
	return err1 == nil && err2 == nil && os.SameFile(a, b)
}

// Entry is an entry found by Get. It holds a shared lock on the entry,
// which Remove and GC respect, until Close.
type Entry struct {
	Dir  string // the entry's directory: the checkpoint; do not modify it
	Info Info
	lock *os.File
}

// Close releases the entry's lock.
func (e *Entry) Close() error {
	if e.lock == nil {
		return nil
	}
	err := e.lock.Close()
	e.lock = nil
	return err
}

// Get returns the entry for key, verified (see the package
// documentation). It returns an error wrapping ErrNotFound when there is
// none, and removes a damaged entry and returns a *DamagedError. The
// entry stays locked until its Close.
func (c *Cache) Get(key string) (*Entry, error) {
	if !ValidKey(key) {
		return nil, fmt.Errorf("cache get: key %q is not 64 lower-case hex digits", key)
	}
	lock, err := c.lockEntry(key, syscall.LOCK_SH)
	if errors.Is(err, errNoLock) {
		c.removeDamaged(key, nil)
		return nil, &DamagedError{Key: key, Reason: "not a directory with a lock file"}
	}
	if err != nil {
		return nil, err
	}
	h, err := c.check(key)
	var d *DamagedError
	if errors.As(err, &d) {
		c.removeDamaged(key, lock)
		return nil, err
	}
	if err != nil {
		lock.Close()
		return nil, err
	}
	return &Entry{Dir: c.entryDir(key), Info: c.info(h), lock: lock}, nil
}

// removeDamaged removes entry key if no other process uses it; lock, if
// not nil, is the caller's shared lock on it, which it upgrades.
func (c *Cache) removeDamaged(key string, lock *os.File) {
	if lock == nil {
		_ = c.remove(key)
		return
	}
	defer lock.Close()
	if flock(lock, syscall.LOCK_EX|syscall.LOCK_NB) == nil && same(lock, filepath.Join(c.entryDir(key), LockFile)) {
		_ = c.discard(key)
	}
}

// check verifies entry key's header and files but the deferred ones'
// digests, returning a *DamagedError for what is wrong with them.
func (c *Cache) check(key string) (*header, error) {
	h, err := c.readHeader(key)
	if err != nil {
		return nil, err
	}
	dir := c.entryDir(key)
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, &DamagedError{Key: key, Reason: err.Error()}
	}
	defer root.Close()
	if err := checkTree(dir, h); err != nil {
		return nil, &DamagedError{Key: key, Reason: err.Error()}
	}
	for _, f := range h.Files {
		if err := checkFile(root, f, !DeferredDigest(f.Name)); err != nil {
			if errors.Is(err, fs.ErrPermission) {
				return nil, err
			}
			return nil, &DamagedError{Key: key, Reason: err.Error()}
		}
	}
	return h, nil
}

// readHeader reads and checks entry key's header.
func (c *Cache) readHeader(key string) (*header, error) {
	data, err := checkpoint.ReadBounded(filepath.Join(c.entryDir(key), HeaderFile), maxHeader)
	if errors.Is(err, fs.ErrPermission) {
		return nil, err
	}
	if err != nil {
		return nil, &DamagedError{Key: key, Reason: err.Error()}
	}
	var h header
	if err := json.Unmarshal(data, &h); err != nil {
		return nil, &DamagedError{Key: key, Reason: fmt.Sprintf("%s: %v", HeaderFile, err)}
	}
	if err := h.validate(key); err != nil {
		return nil, &DamagedError{Key: key, Reason: fmt.Sprintf("%s: %v", HeaderFile, err)}
	}
	return &h, nil
}

func (h *header) validate(key string) error {
	switch {
	case h.Magic != headerMagic:
		return fmt.Errorf("magic %q, expected %q", h.Magic, headerMagic)
	case h.Version != Version:
		return fmt.Errorf("format version %d, expected %d", h.Version, Version)
	case h.Key != key:
		return fmt.Errorf("key %q in the entry of %s", h.Key, key)
	case len(h.Files)+len(h.Dirs) > maxFiles:
		return fmt.Errorf("%d files and directories", len(h.Files)+len(h.Dirs))
	}
	if err := checkInfo(h.Key, h.Name, h.Point, h.Attrs); err != nil {
		return err
	}
	seen := map[string]bool{}
	for _, d := range h.Dirs {
		if err := checkName(d); err != nil || seen[d] {
			return fmt.Errorf("invalid or repeated directory %q", d)
		}
		seen[d] = true
	}
	var total int64
	for _, f := range h.Files {
		if err := checkName(f.Name); err != nil || seen[f.Name] {
			return fmt.Errorf("invalid or repeated file %q", f.Name)
		}
		seen[f.Name] = true
		if dir := filepath.Dir(f.Name); dir != "." && !seen[dir] {
			return fmt.Errorf("file %q in an unlisted directory", f.Name)
		}
		want := 64
		if DeferredDigest(f.Name) {
			want = 0
		}
		if f.Size < 0 || f.Size > 1<<50 || len(f.SHA256) != want || !isHex(f.SHA256) {
			return fmt.Errorf("file %q: size %d, digest %q", f.Name, f.Size, f.SHA256)
		}
		total += f.Size
	}
	if h.Size != total {
		return fmt.Errorf("size %d, the files add up to %d", h.Size, total)
	}
	return nil
}

// checkTree checks that dir holds exactly the files and directories h
// lists (and the cache's own files).
func checkTree(dir string, h *header) error {
	want := map[string]bool{}
	for _, d := range h.Dirs {
		want[d] = true
	}
	for _, f := range h.Files {
		want[f.Name] = false
	}
	found := 0
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		switch rel {
		case ".", HeaderFile, UseFile, LockFile:
			return nil
		}
		isDir, listed := want[rel]
		if !listed {
			return fmt.Errorf("unlisted %q", rel)
		}
		if isDir != d.IsDir() || (!isDir && !d.Type().IsRegular()) {
			return fmt.Errorf("%q is a %v", rel, d.Type())
		}
		found++
		return nil
	})
	if err != nil {
		return err
	}
	if found != len(want) {
		return fmt.Errorf("%d of %d listed files and directories are missing", len(want)-found, len(want))
	}
	return nil
}

// checkFile checks a file's size and, if digest, its SHA-256.
func checkFile(root *os.Root, f fileSum, digest bool) error {
	fd, err := root.OpenFile(f.Name, os.O_RDONLY|syscall.O_NOFOLLOW|syscall.O_NONBLOCK, 0)
	if err != nil {
		return err
	}
	defer fd.Close()
	fi, err := fd.Stat()
	if err != nil {
		return err
	}
	if !fi.Mode().IsRegular() {
		return fmt.Errorf("%s is not a regular file (%v)", f.Name, fi.Mode().Type())
	}
	if fi.Size() != f.Size {
		return fmt.Errorf("%s: %d bytes, the header says %d", f.Name, fi.Size(), f.Size)
	}
	if !digest {
		return nil
	}
	sum := sha256.New()
	if n, err := io.Copy(sum, io.LimitReader(fd, f.Size+1)); err != nil {
		return err
	} else if n != f.Size {
		return fmt.Errorf("%s: read %d bytes, the header says %d", f.Name, n, f.Size)
	}
	if got := hex.EncodeToString(sum.Sum(nil)); got != f.SHA256 {
		return fmt.Errorf("%s: SHA-256 %s, the header says %s", f.Name, got, f.SHA256)
	}
	return nil
}

// info returns the Info of a checked header, with its use file's.
func (c *Cache) info(h *header) Info {
	in := Info{Key: h.Key, Name: h.Name, Point: h.Point, Attrs: h.Attrs, Created: h.Created, LastUsed: h.Created, Size: h.Size}
	if u, err := c.readUse(h.Key); err == nil {
		in.LastUsed, in.Hits = u.LastUsed, u.Hits
	}
	return in
}

func (c *Cache) readUse(key string) (*use, error) {
	data, err := checkpoint.ReadBounded(filepath.Join(c.entryDir(key), UseFile), maxUse)
	if err != nil {
		return nil, err
	}
	var u use
	if err := json.Unmarshal(data, &u); err != nil || u.Hits < 0 {
		return nil, fmt.Errorf("%s of %s: garbage", UseFile, key)
	}
	return &u, nil
}

// Used records a hit on entry key: its last use is now and its hits
// one more. Two processes recording at once may count one hit.
func (c *Cache) Used(key string) error {
	if !ValidKey(key) {
		return fmt.Errorf("cache used: key %q is not 64 lower-case hex digits", key)
	}
	if _, err := os.Lstat(c.entryDir(key)); errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("%s: %w", key, ErrNotFound)
	}
	u, err := c.readUse(key)
	if err != nil {
		u = &use{} // missing or garbage: start again
	}
	u.Hits++
	u.LastUsed = now().UTC()
	return c.writeUse(c.entryDir(key), u)
}

func (c *Cache) writeUse(dir string, u *use) error {
	data, err := json.Marshal(u)
	if err != nil {
		return err
	}
	err = renameio.WriteFile(filepath.Join(dir, UseFile), append(data, '\n'), fileMode,
		renameio.WithTempDir(c.path(TmpDir)), renameio.WithStaticPermissions(fileMode))
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("%s: %w", filepath.Base(dir), ErrNotFound)
	}
	return err
}

// Verify checks entry key as Get does and also the archive's SHA-256
// against the checkpoint's manifest. It returns a *DamagedError for a
// damaged entry and removes nothing.
func (c *Cache) Verify(key string) error {
	if !ValidKey(key) {
		return fmt.Errorf("cache verify: key %q is not 64 lower-case hex digits", key)
	}
	lock, err := c.lockEntry(key, syscall.LOCK_SH)
	if errors.Is(err, errNoLock) {
		return &DamagedError{Key: key, Reason: "not a directory with a lock file"}
	}
	if err != nil {
		return err
	}
	defer lock.Close()
	h, err := c.check(key)
	if err != nil {
		return err
	}
	if !slices.ContainsFunc(h.Files, func(f fileSum) bool { return f.Name == checkpoint.ManifestFile }) {
		return &DamagedError{Key: key, Reason: "no " + checkpoint.ManifestFile}
	}
	m, err := checkpoint.ReadManifest(c.entryDir(key))
	if err != nil {
		return &DamagedError{Key: key, Reason: err.Error()}
	}
	root, err := os.OpenRoot(c.entryDir(key))
	if err != nil {
		return err
	}
	defer root.Close()
	for _, f := range h.Files {
		if f.Name != checkpoint.ArchiveFile {
			continue
		}
		if m.Stats.Compressed != 0 && f.Size != m.Stats.Compressed {
			return &DamagedError{Key: key, Reason: fmt.Sprintf("%s: %d bytes, the manifest says %d", f.Name, f.Size, m.Stats.Compressed)}
		}
		f.SHA256 = m.Archive
		if err := checkFile(root, f, true); err != nil {
			return &DamagedError{Key: key, Reason: strings.Replace(err.Error(), "the header says", "the manifest says", 1)}
		}
	}
	return nil
}
