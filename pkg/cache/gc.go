package cache

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"
)

// staleAge is how old a temporary directory must be before GC removes it;
// a build's work directory (WorkDir) lives as long as the build, so it is
// removed only after workAge.
const (
	staleAge = time.Hour
	workAge  = 7 * 24 * time.Hour
)

// Remove removes entry key. It returns an error wrapping ErrNotFound if
// there is none, and one wrapping ErrBusy if a build is using it.
func (c *Cache) Remove(key string) error {
	if !ValidKey(key) {
		return fmt.Errorf("cache remove: key %q is not 64 lower-case hex digits", key)
	}
	return c.remove(key)
}

func (c *Cache) remove(key string) error {
	lock, err := c.lockEntry(key, syscall.LOCK_EX|syscall.LOCK_NB)
	if errors.Is(err, errNoLock) {
		return c.discard(key) // nobody can lock it: nobody uses it
	}
	if errors.Is(err, ErrBusy) {
		return fmt.Errorf("%s: %w", key, ErrBusy)
	}
	if err != nil {
		return err
	}
	defer lock.Close()
	return c.discard(key)
}

// discard moves entry key out of entries/ (its caller holds its lock
// exclusively) and deletes it.
func (c *Cache) discard(key string) error {
	trash := c.path(TmpDir, "rm-"+key[:12]+"-"+random())
	err := os.Rename(c.entryDir(key), trash)
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("%s: %w", key, ErrNotFound) // removed meanwhile
	}
	if err != nil {
		return err
	}
	return removeAll(trash)
}

// removeAll removes a directory that a late writer (Used, renaming its
// use file into place) may still add to.
func removeAll(p string) error {
	err := os.RemoveAll(p)
	if err != nil {
		err = os.RemoveAll(p)
	}
	return err
}

// random returns a name part for temporary names; tests may replace it.
var random = func() string {
	b := make([]byte, 8)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// List returns the entries, most recently used first, from their headers
// (their files are not verified), and the entries whose header is
// damaged or whose name is not a key.
func (c *Cache) List() ([]Info, []*DamagedError, error) {
	names, err := readDirNames(c.path(EntriesDir))
	if err != nil {
		return nil, nil, fmt.Errorf("cache list: %w", err)
	}
	slices.Sort(names)
	var infos []Info
	var damaged []*DamagedError
	for _, n := range names {
		if !ValidKey(n) {
			damaged = append(damaged, &DamagedError{Key: n, Reason: "not a key"})
			continue
		}
		h, err := c.readHeader(n)
		var d *DamagedError
		switch {
		case errors.As(err, &d):
			if _, err := os.Lstat(c.entryDir(n)); err == nil {
				damaged = append(damaged, d)
			} // else removed while listing
		case err != nil:
			return nil, nil, fmt.Errorf("cache list: %w", err)
		default:
			infos = append(infos, c.info(h))
		}
	}
	slices.SortStableFunc(infos, func(a, b Info) int { return b.LastUsed.Compare(a.LastUsed) })
	return infos, damaged, nil
}

// GC removes entries, least recently used first, until they add up to
// maxSize bytes or less (0: none is removed for size), skipping entries
// in use. It also removes entries with a damaged header (returned with
// their Key alone) and what dead writers left in tmp/ (directories of
// a Put older than an hour whose lock is free). It returns the entries
// it removed.
func (c *Cache) GC(maxSize int64) ([]Info, error) {
	if err := c.sweep(); err != nil {
		return nil, fmt.Errorf("cache gc: %w", err)
	}
	infos, damaged, err := c.List()
	if err != nil {
		return nil, err
	}
	var removed []Info
	for _, d := range damaged {
		if ValidKey(d.Key) && c.remove(d.Key) == nil {
			removed = append(removed, Info{Key: d.Key})
		}
	}
	if maxSize <= 0 {
		return removed, nil
	}
	var total int64
	for _, in := range infos {
		total += in.Size
	}
	for i := len(infos) - 1; i >= 0 && total > maxSize; i-- {
		err := c.remove(infos[i].Key)
		switch {
		case errors.Is(err, ErrBusy):
			continue
		case errors.Is(err, ErrNotFound):
			// another GC or rm was first
		case err != nil:
			return removed, fmt.Errorf("cache gc: %w", err)
		default:
			removed = append(removed, infos[i])
		}
		total -= infos[i].Size
	}
	return removed, nil
}

// sweep removes what dead processes left in tmp/.
func (c *Cache) sweep() error {
	tmp := c.path(TmpDir)
	names, err := readDirNames(tmp)
	if err != nil {
		return err
	}
	for _, n := range names {
		p := filepath.Join(tmp, n)
		fi, err := os.Lstat(p)
		if err != nil {
			continue // removed meanwhile
		}
		switch {
		case strings.HasPrefix(n, "rm-"):
			// an interrupted removal (or one under way: both remove it)
		case strings.HasPrefix(n, workPrefix) && now().Sub(fi.ModTime()) < workAge:
			continue
		case now().Sub(fi.ModTime()) < staleAge:
			continue
		case fi.IsDir() && !unlocked(filepath.Join(p, LockFile)):
			continue // a slow Put
		}
		if err := os.RemoveAll(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
	}
	return nil
}

// workPrefix starts the names of WorkDir's directories.
const workPrefix = "work-"

// WorkDir makes a directory in the cache for a build's own files (the
// hook's state dumps and snapshot), outside the build directory where the
// package's phases would see them. The build removes it when it ends; GC
// removes one left by a build that was killed a week later.
func (c *Cache) WorkDir() (string, error) {
	d, err := os.MkdirTemp(c.path(TmpDir), workPrefix)
	if err != nil {
		return "", fmt.Errorf("cache: %w", err)
	}
	return d, nil
}

// unlocked reports whether no process holds the lock at p (or there is
// none).
func unlocked(p string) bool {
	f, err := os.OpenFile(p, os.O_RDONLY|syscall.O_NOFOLLOW|syscall.O_NONBLOCK, 0)
	if err != nil {
		return errors.Is(err, fs.ErrNotExist)
	}
	defer f.Close()
	return flock(f, syscall.LOCK_EX|syscall.LOCK_NB) == nil
}

// Nearest returns the entry of the same name and point whose attributes
// differ from attrs in the fewest (the most recently used of those), and
// the sorted names of the attributes that differ: present in one only or
// with other digests. It returns nil when there is no such entry.
func (c *Cache) Nearest(name, point string, attrs map[string]string) (*Info, []string, error) {
	infos, _, err := c.List()
	if err != nil {
		return nil, nil, err
	}
	var best *Info
	var bestDiff []string
	for i, in := range infos {
		if in.Name != name || in.Point != point {
			continue
		}
		d := diff(attrs, in.Attrs)
		if best == nil || len(d) < len(bestDiff) {
			best, bestDiff = &infos[i], d
		}
	}
	return best, bestDiff, nil
}

func diff(a, b map[string]string) []string {
	var d []string
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			d = append(d, k)
		}
	}
	for k := range b {
		if _, ok := a[k]; !ok {
			d = append(d, k)
		}
	}
	slices.Sort(d)
	return d
}
