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
	"syscall"
)

// faultExitInPut is the value of VANILLA_CACHE_FAULT that makes Put exit
// the process half-way (see the package documentation).
const faultExitInPut = "exit-in-put"

// Put stores an entry for info.Key: fill writes the checkpoint's files
// into dir, a fresh directory inside the cache; Put then records their
// sizes and digests in the entry's header and renames the directory into
// place. Only info's Key, Name, Point, Attrs are used; Created is now.
// When the cache already holds an entry for the key (a concurrent build
// stored it first), Put keeps that one and returns nil, without calling
// fill if it was there before. On any error nothing of the new entry
// remains. Once stored, Put enforces the size limit ([Cache.MaxSize]) with
// GC; an error of that step says the entry was stored.
func (c *Cache) Put(info Info, fill func(dir string) error) error {
	if err := checkInfo(info.Key, info.Name, info.Point, info.Attrs); err != nil {
		return fmt.Errorf("cache put: %w", err)
	}
	if _, err := os.Lstat(c.entryDir(info.Key)); err == nil {
		return nil
	}
	tmp, err := os.MkdirTemp(c.path(TmpDir), "put-"+info.Key[:12]+"-")
	if err != nil {
		return fmt.Errorf("cache put: %w", err)
	}
	defer os.RemoveAll(tmp) // nothing left after a rename
	if err := os.Chmod(tmp, dirMode); err != nil {
		return fmt.Errorf("cache put: %w", err)
	}
	lock, err := os.OpenFile(filepath.Join(tmp, LockFile), os.O_RDWR|os.O_CREATE|os.O_EXCL, fileMode)
	if err != nil {
		return fmt.Errorf("cache put: %w", err)
	}
	defer lock.Close()
	if err := lock.Chmod(fileMode); err != nil {
		return fmt.Errorf("cache put: %w", err)
	}
	// GC removes a temporary directory whose lock it can take.
	if err := flock(lock, syscall.LOCK_EX); err != nil {
		return fmt.Errorf("cache put: %w", err)
	}
	if err := fill(tmp); err != nil {
		return fmt.Errorf("cache put %s: %w", info.Name, err)
	}
	if err := c.seal(tmp, info); err != nil {
		return fmt.Errorf("cache put %s: %w", info.Name, err)
	}
	err = os.Rename(tmp, c.entryDir(info.Key))
	if errors.Is(err, fs.ErrExist) || errors.Is(err, syscall.ENOTEMPTY) {
		return nil // another build stored it first; ours is removed
	}
	if err != nil {
		return fmt.Errorf("cache put %s: %w", info.Name, err)
	}
	if err := syncDir(c.path(EntriesDir)); err != nil {
		return fmt.Errorf("cache put %s: %w", info.Name, err)
	}
	max, err := c.MaxSize()
	if err == nil && max > 0 {
		_, err = c.GC(max)
	}
	if err != nil {
		return fmt.Errorf("cache put %s: stored, but enforcing the size limit failed: %w", info.Name, err)
	}
	return nil
}

// seal writes the header and use file of the entry filled into dir.
func (c *Cache) seal(dir string, info Info) error {
	for _, n := range []string{HeaderFile, UseFile} {
		if _, err := os.Lstat(filepath.Join(dir, n)); err == nil {
			return fmt.Errorf("the checkpoint holds %s, a name the cache uses", n)
		}
	}
	h := &header{Magic: headerMagic, Version: Version, Key: info.Key, Name: info.Name, Point: info.Point,
		Attrs: info.Attrs, Created: now().UTC().Round(0)}
	if err := sums(dir, h); err != nil {
		return err
	}
	data, err := json.MarshalIndent(h, "", "\t")
	if err != nil {
		return err
	}
	data = append(data, '\n')
	if err := c.writeUse(dir, &use{LastUsed: h.Created}); err != nil {
		return err
	}
	f, err := os.OpenFile(filepath.Join(dir, HeaderFile), os.O_WRONLY|os.O_CREATE|os.O_EXCL, fileMode)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := f.Chmod(fileMode); err != nil {
		return err
	}
	if os.Getenv("VANILLA_CACHE_FAULT") == faultExitInPut {
		f.Write(data[:len(data)/2])
		os.Exit(75)
	}
	if _, err := f.Write(data); err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return syncDir(dir)
}

// sums lists the files and directories under dir in h, with the files'
// sizes and digests, makes them readable and writable by the group, and
// syncs them to disk.
func sums(dir string, h *header) error {
	return filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		if rel == "." || rel == LockFile {
			return nil
		}
		if err := checkName(rel); err != nil {
			return err
		}
		if len(h.Files)+len(h.Dirs) >= maxFiles {
			return fmt.Errorf("more than %d files", maxFiles)
		}
		switch {
		case d.IsDir():
			h.Dirs = append(h.Dirs, rel)
			return os.Chmod(p, dirMode)
		case d.Type().IsRegular():
			sum, err := sumFile(p, !DeferredDigest(rel))
			if err != nil {
				return err
			}
			sum.Name = rel
			h.Files = append(h.Files, sum)
			h.Size += sum.Size
			return os.Chmod(p, fileMode)
		}
		return fmt.Errorf("%s is a %v: an entry holds regular files and directories only", rel, d.Type())
	})
}

// sumFile returns the size and, if digest, the SHA-256 of file p, and
// syncs it.
func sumFile(p string, digest bool) (fileSum, error) {
	f, err := os.Open(p)
	if err != nil {
		return fileSum{}, err
	}
	defer f.Close()
	var sum fileSum
	if digest {
		s := sha256.New()
		if sum.Size, err = io.Copy(s, f); err != nil {
			return fileSum{}, err
		}
		sum.SHA256 = hex.EncodeToString(s.Sum(nil))
	} else {
		fi, err := f.Stat()
		if err != nil {
			return fileSum{}, err
		}
		sum.Size = fi.Size()
	}
	return sum, f.Sync()
}

func syncDir(dir string) error {
	f, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer f.Close()
	return f.Sync()
}
