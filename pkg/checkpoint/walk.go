package checkpoint

import (
	"errors"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"slices"
	"strings"

	"golang.org/x/sync/errgroup"
)

// NixFile reports whether rel, a path relative to the build directory, is
// one of the files Nix and setup.sh write there before the build runs:
// env-vars, .attrs.sh and .attrs.json (structured attributes) and the
// .attr-HASH files of passAsFile. They belong to the derivation, not to the
// tree: a later stage has its own, with other contents when a late
// attribute is passed as a file.
func NixFile(rel string) bool {
	switch {
	case strings.Contains(rel, "/"):
		return false
	case rel == "env-vars", strings.HasPrefix(rel, ".attrs."), strings.HasPrefix(rel, ".attr-"):
		return true
	}
	return false
}

// treeSkip adds Nix's own files to skip.
func treeSkip(skip func(rel string) bool) func(rel string) bool {
	return func(rel string) bool { return NixFile(rel) || skip != nil && skip(rel) }
}

// walk calls fn for every entry below top in lexical order, with paths
// relative to top ("" is never passed: top itself is not an entry).
func walk(top string, skip func(rel string) bool, fn func(rel string, fi fs.FileInfo) error) error {
	return walkOrder(top, skip, fn, nil)
}

// walkOrder is walk that also calls order, when not nil, with each
// directory's relative path ("" for top) and its entries' names in the
// order the filesystem lists them, before the directory's entries are
// visited.
//
// A directory the build left unreadable or untraversable (mode 000) is
// made readable while it is walked and then given its mode back: the
// build's user owns it, and a plain build's later phases could do the
// same.
func walkOrder(top string, skip func(rel string) bool, fn func(rel string, fi fs.FileInfo) error, order func(dir string, names []string)) error {
	var visit func(rel string) error
	visit = func(rel string) error {
		names, err := readNames(filepath.Join(top, rel))
		if err != nil {
			return err
		}
		if skip != nil {
			names = slices.DeleteFunc(names, func(n string) bool { return skip(path.Join(rel, n)) })
		}
		if order != nil {
			order(rel, slices.Clone(names))
		}
		slices.Sort(names)
		fis, err := lstatAll(filepath.Join(top, rel), names)
		if err != nil {
			return err
		}
		for i, name := range names {
			r := path.Join(rel, name)
			fi := fis[i]
			if err := fn(r, fi); err != nil {
				return err
			}
			if !fi.IsDir() {
				continue
			}
			restore, err := grant(filepath.Join(top, r), fi.Mode(), 0o500)
			if err != nil {
				return err
			}
			err = visit(r)
			if rerr := restore(); err == nil {
				err = rerr
			}
			if err != nil {
				return err
			}
		}
		return nil
	}
	return visit("")
}

// lstatAll returns the lstat of each name in dir, on several goroutines
// when there are many: a source tree's directories hold hundreds of files,
// and one lstat after the other leaves the other cores idle.
func lstatAll(dir string, names []string) ([]fs.FileInfo, error) {
	fis := make([]fs.FileInfo, len(names))
	if len(names) < 64 {
		for i, n := range names {
			fi, err := os.Lstat(filepath.Join(dir, n))
			if err != nil {
				return nil, err
			}
			fis[i] = fi
		}
		return fis, nil
	}
	workers := runtime.GOMAXPROCS(0)
	var g errgroup.Group
	for w := range workers {
		g.Go(func() error {
			for i := w; i < len(names); i += workers {
				fi, err := os.Lstat(filepath.Join(dir, names[i]))
				if err != nil {
					return err
				}
				fis[i] = fi
			}
			return nil
		})
	}
	return fis, g.Wait()
}

// readNames lists a directory in the order the filesystem gives.
func readNames(dir string) ([]string, error) {
	f, err := os.Open(dir)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return f.Readdirnames(-1)
}

// grant gives the owner the permission bits need on p (of mode mode) if
// it lacks some of them, and returns a function that gives the old mode
// back. Root needs none, and the mode is then left alone.
func grant(p string, mode fs.FileMode, need fs.FileMode) (restore func() error, err error) {
	nothing := func() error { return nil }
	if mode.Perm()&need == need || os.Geteuid() == 0 {
		return nothing, nil
	}
	old := mode.Perm() | mode&(fs.ModeSetuid|fs.ModeSetgid|fs.ModeSticky)
	if err := os.Chmod(p, old|need); err != nil {
		return nil, err
	}
	return func() error { return os.Chmod(p, old) }, nil
}

// openRead opens a regular file for reading, granting its owner read
// permission for the moment of the open if the build took it away.
func openRead(p string, mode fs.FileMode) (*os.File, error) {
	f, err := os.Open(p)
	if err == nil || !errors.Is(err, fs.ErrPermission) {
		return f, err
	}
	restore, gerr := grant(p, mode, 0o400)
	if gerr != nil {
		return nil, err
	}
	f, err = os.Open(p)
	if rerr := restore(); err == nil && rerr != nil {
		f.Close()
		return nil, rerr
	}
	return f, err
}
