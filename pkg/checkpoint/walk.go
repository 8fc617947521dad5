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
	"sync"
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
// The directories are listed and their entries lstat()ed first, on
// several goroutines (a Linux source tree has 5,000 directories and
// 80,000 files; one lstat after the other took twice as long), and then
// visited in order on the calling goroutine: fn and order are never
// called concurrently; skip may be, and is called under a lock.
//
// A directory the build left unreadable or untraversable (mode 000) is
// made readable while the tree is walked and then given its mode back,
// the deepest first: the build's user owns it, and a plain build's later
// phases could do the same.
func walkOrder(top string, skip func(rel string) bool, fn func(rel string, fi fs.FileInfo) error, order func(dir string, names []string)) (err error) {
	l := &lister{top: top, skip: skip, dirs: map[string]*dirListing{}, queue: []string{""}}
	l.cond = sync.NewCond(&l.mu)
	l.run(runtime.GOMAXPROCS(0))
	defer func() {
		if rerr := l.restoreGrants(); err == nil {
			err = rerr
		}
	}()
	var visit func(rel string) error
	visit = func(rel string) error {
		d := l.dirs[rel]
		if d.err != nil {
			return d.err
		}
		if order != nil {
			order(rel, slices.Clone(d.names))
		}
		idx := make([]int, len(d.names))
		for i := range idx {
			idx[i] = i
		}
		slices.SortFunc(idx, func(a, b int) int { return strings.Compare(d.names[a], d.names[b]) })
		for _, i := range idx {
			r, fi := path.Join(rel, d.names[i]), d.fis[i]
			if err := fn(r, fi); err != nil {
				return err
			}
			if fi.IsDir() {
				if err := visit(r); err != nil {
					return err
				}
			}
		}
		return nil
	}
	return visit("")
}

// A dirListing is one directory of a walk: its entries' names in the order
// the filesystem lists them (less the skipped ones) and their lstat, or
// the error that stopped listing it.
type dirListing struct {
	names []string
	fis   []fs.FileInfo
	err   error
}

// A lister lists the directories of a tree on several goroutines, each
// taking the next directory from a shared queue (subdirectories are
// queued as they are found).
type lister struct {
	top    string
	skip   func(rel string) bool
	skipMu sync.Mutex

	mu    sync.Mutex // guards the fields below
	cond  *sync.Cond // signalled when the queue grows or a worker ends
	queue []string
	busy  int
	dirs  map[string]*dirListing
	// grants are the modes to give back, with each directory's depth.
	grants []granted
}

type granted struct {
	depth   int
	restore func() error
}

func (l *lister) run(workers int) {
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				rel, ok := l.next()
				if !ok {
					return
				}
				d, subdirs := l.list(rel)
				l.done(rel, d, subdirs)
			}
		}()
	}
	wg.Wait()
}

// next takes a directory from the queue; false once the queue is empty
// and no worker can add to it.
func (l *lister) next() (string, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for len(l.queue) == 0 && l.busy > 0 {
		l.cond.Wait()
	}
	if len(l.queue) == 0 {
		return "", false
	}
	rel := l.queue[len(l.queue)-1]
	l.queue = l.queue[:len(l.queue)-1]
	l.busy++
	return rel, true
}

func (l *lister) done(rel string, d *dirListing, subdirs []string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.dirs[rel] = d
	l.queue = append(l.queue, subdirs...)
	l.busy--
	l.cond.Broadcast()
}

// list lists the directory rel and returns the subdirectories to list
// (granted the permissions a walk needs).
func (l *lister) list(rel string) (*dirListing, []string) {
	dir := filepath.Join(l.top, rel)
	names, err := readNames(dir)
	if err != nil {
		return &dirListing{err: err}, nil
	}
	if l.skip != nil {
		l.skipMu.Lock()
		names = slices.DeleteFunc(names, func(n string) bool { return l.skip(path.Join(rel, n)) })
		l.skipMu.Unlock()
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return &dirListing{err: err}, nil
	}
	defer root.Close()
	d := &dirListing{names: names, fis: make([]fs.FileInfo, len(names))}
	var subdirs []string
	for i, n := range names {
		fi, err := root.Lstat(n)
		if err != nil {
			var pe *fs.PathError
			if errors.As(err, &pe) {
				err = &fs.PathError{Op: "lstat", Path: filepath.Join(dir, n), Err: pe.Err}
			}
			return &dirListing{err: err}, nil
		}
		d.fis[i] = fi
		if !fi.IsDir() {
			continue
		}
		r := path.Join(rel, n)
		restore, err := grant(filepath.Join(l.top, r), fi.Mode(), 0o500)
		if err != nil {
			return &dirListing{err: err}, nil
		}
		l.mu.Lock()
		l.grants = append(l.grants, granted{depth: strings.Count(r, "/"), restore: restore})
		l.mu.Unlock()
		subdirs = append(subdirs, r)
	}
	return d, subdirs
}

// restoreGrants gives the directories granted permissions their modes
// back, the deepest first (a directory's mode can only be set while its
// parent can be searched).
func (l *lister) restoreGrants() error {
	slices.SortStableFunc(l.grants, func(a, b granted) int { return b.depth - a.depth })
	var errs []error
	for _, g := range l.grants {
		if err := g.restore(); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
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
