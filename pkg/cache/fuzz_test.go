package cache

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// FuzzGet reads forged entry headers: Get must return the entry or a
// DamagedError (and then have removed it), never panic or read outside
// the entry.
func FuzzGet(f *testing.F) {
	seed := newCacheF(f)
	k := key("seed")
	if err := seed.Put(Info{Key: k, Name: "pkg-1.0", Point: "build", Attrs: map[string]string{"src": "0123456789abcdef"}}, fill(k, 300)); err != nil {
		f.Fatal(err)
	}
	good, err := os.ReadFile(filepath.Join(seed.entryDir(k), HeaderFile))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good)
	f.Add([]byte(`{"magic":"nix-vanilla cache entry","version":1,"files":[{"name":"../x","size":1}]}`))
	f.Add([]byte(`{}`))
	f.Fuzz(func(t *testing.T, header []byte) {
		c := newCache(t)
		if err := c.Put(Info{Key: k, Name: "pkg-1.0", Point: "build"}, fill(k, 300)); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(c.entryDir(k), HeaderFile), header, 0o664); err != nil {
			t.Fatal(err)
		}
		e, err := c.Get(k)
		var d *DamagedError
		switch {
		case err == nil:
			e.Close()
		case errors.As(err, &d):
			if _, serr := os.Lstat(c.entryDir(k)); serr == nil {
				t.Fatalf("a damaged entry was left: %v", err)
			}
		default:
			t.Fatalf("Get: %v (want the entry or a DamagedError)", err)
		}
		if _, _, err := c.List(); err != nil {
			t.Fatalf("List: %v", err)
		}
	})
}

// newCacheF is newCache for a fuzz target's setup.
func newCacheF(f *testing.F) *Cache {
	c, err := Open(f.TempDir())
	if err != nil {
		f.Fatal(err)
	}
	return c
}
