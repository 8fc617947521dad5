package checkpoint

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/nix-vanilla/nix-vanilla/pkg/storepath"
)

// target maps an archive name to the root it goes into and the path
// relative to that root; ok is false for entries this restore skips. An
// output's own entry (outputs/NAME) is the output's name in the store
// directory's root; what is inside it goes through the output's own root,
// opened without following a symlink.
func (x *extractor) target(name string) (r *os.Root, rel string, ok bool, err error) {
	name = strings.TrimSuffix(name, "/")
	if err := cleanName(name); err != nil {
		return nil, "", false, err
	}
	first, rest, _ := strings.Cut(name, "/")
	switch first {
	case "tree":
		if !x.opts.Tree || rest == "" || NixFile(rest) {
			return nil, "", false, nil
		}
		r, err := x.root(x.opts.Top)
		return r, rest, true, err
	case "outputs":
		out, inner, _ := strings.Cut(rest, "/")
		p, found := x.opts.Outputs[out]
		if !found {
			return nil, "", false, fmt.Errorf("archive entry %s names output %q, which this build does not have", quoteName(name), out)
		}
		if inner == "" {
			r, err := x.root(filepath.Dir(p))
			return r, filepath.Base(p), true, err
		}
		r, err := x.outputRoot(out, p)
		if err != nil {
			return nil, "", false, fmt.Errorf("restore %s: %w", quoteName(name), err)
		}
		return r, inner, true, nil
	}
	return nil, "", false, fmt.Errorf("archive entry %s is neither tree/ nor outputs/", quoteName(name))
}

// cleanName refuses archive names that are not clean relative paths.
func cleanName(name string) error {
	if name == "" || name != path.Clean(name) || path.IsAbs(name) || name == ".." || strings.HasPrefix(name, "../") || strings.Contains(name, "/../") || strings.ContainsRune(name, 0) {
		return fmt.Errorf("archive entry %s is not a clean relative path", quoteName(name))
	}
	return nil
}

// outputRoot opens the output p (named out) as a root, once: it must be
// a directory, not a symlink to one.
func (x *extractor) outputRoot(out, p string) (*os.Root, error) {
	if r, ok := x.outRoots[out]; ok {
		return r, nil
	}
	store, err := x.root(filepath.Dir(p))
	if err != nil {
		return nil, err
	}
	r, err := openDirNoFollow(store, filepath.Base(p))
	if err != nil {
		return nil, fmt.Errorf("output %s is not a directory the restore made: %w", p, err)
	}
	x.outRoots[out] = r
	return r, nil
}

// forgetOutput drops the output root of an output whose own entry is
// being replaced.
func (x *extractor) forgetOutput(name string) {
	out, inner, _ := strings.Cut(strings.TrimPrefix(strings.TrimSuffix(name, "/"), "outputs/"), "/")
	if !strings.HasPrefix(name, "outputs/") || inner != "" {
		return
	}
	if r, ok := x.outRoots[out]; ok {
		x.forgetBelow(r, "")
		r.Close()
		delete(x.outRoots, out)
	}
}

func (x *extractor) extract(ctx context.Context) error {
	if x.decoded != nil {
		// precheck kept the stream, checked to its end.
		if err := x.extractFrom(ctx, tar.NewReader(x.decoded.reader()), nil); err != nil {
			return err
		}
		return x.extractTreeLinks(ctx)
	}
	tr, done, err := x.openArchive(nil)
	if err != nil {
		return err
	}
	defer done()
	if err := x.extractFrom(ctx, tr, x.tail); err != nil {
		return err
	}
	return x.extractTreeLinks(ctx)
}

// extractTreeLinks gives the outputs that are hard links of build-tree
// files, in a restore without the tree, the content of those files: the
// archive holds it under the tree's name only, so it is read through once
// more. The first output linking to a file gets the content, and the
// others are linked to that one.
func (x *extractor) extractTreeLinks(ctx context.Context) error {
	if len(x.treeLinks) == 0 {
		return nil
	}
	// The archive was read to its end twice already: this pass stops at
	// the last file it needs.
	var tr *tar.Reader
	if x.decoded != nil {
		tr = tar.NewReader(x.decoded.reader())
	} else {
		var done func()
		var err error
		if tr, done, err = x.openArchive(nil); err != nil {
			return err
		}
		defer done()
	}
	for len(x.treeLinks) > 0 {
		hdr, err := x.next(ctx, tr)
		if err != nil {
			return err
		}
		if hdr == nil {
			break
		}
		name, _ := x.rw.Replace(hdr.Name)
		links, ok := x.treeLinks[name]
		if !ok || hdr.Typeflag != tar.TypeReg {
			continue
		}
		delete(x.treeLinks, name)
		r, rel, _, err := x.target(links[0])
		if err != nil {
			return err
		}
		if err := x.regular(r, rel, hdr.FileInfo().Mode(), hdr, tr); err != nil {
			if corruptArchive(err) {
				return &CorruptError{Dir: x.opts.Dir, Err: err}
			}
			return err
		}
		for _, other := range links[1:] {
			lr, lrel, _, err := x.target(other)
			if err != nil {
				return err
			}
			if err := x.linkAcross(r, rel, lr, lrel); err != nil {
				return err
			}
		}
	}
	for name, links := range x.treeLinks {
		return &CorruptError{Dir: x.opts.Dir, Err: fmt.Errorf("archive entry %s is a hard link to %s, which the archive does not hold as a file", quoteName(links[0]), quoteName(name))}
	}
	return nil
}

// next reads the archive's next header: nil at its end, a CorruptError
// for what does not parse.
func (x *extractor) next(ctx context.Context, tr *tar.Reader) (*tar.Header, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	hdr, err := tr.Next()
	if err == io.EOF {
		return nil, nil
	}
	if err != nil {
		return nil, &CorruptError{Dir: x.opts.Dir, Err: fmt.Errorf("%s: %w", ArchiveFile, err)}
	}
	return hdr, nil
}

// extractFrom extracts every entry of tr, then calls tail if not nil.
func (x *extractor) extractFrom(ctx context.Context, tr *tar.Reader, tail func() error) error {
	for {
		hdr, err := x.next(ctx, tr)
		if err != nil {
			return err
		}
		if hdr == nil {
			break
		}
		if err := x.entry(hdr, tr); err != nil {
			if corruptArchive(err) {
				return &CorruptError{Dir: x.opts.Dir, Err: err}
			}
			return err
		}
	}
	if tail != nil {
		return tail()
	}
	return nil
}

func (x *extractor) entry(hdr *tar.Header, tr *tar.Reader) error {
	// A file named after a store hash (stamp-HASH-pkg) is renamed too.
	hdr.Name, _ = x.rw.Replace(hdr.Name)
	if hdr.Typeflag == tar.TypeLink {
		hdr.Linkname, _ = x.rw.Replace(hdr.Linkname)
	}
	x.forgetOutput(hdr.Name)
	r, rel, ok, err := x.target(hdr.Name)
	if err != nil || !ok {
		return err
	}
	mode := hdr.FileInfo().Mode()
	if hdr.Typeflag == tar.TypeDir {
		return x.directory(r, rel, mode, hdr.ModTime)
	}
	if hdr.Typeflag == tar.TypeReg {
		return x.regular(r, rel, mode, hdr, tr)
	}
	dir, base, err := x.clear(r, rel)
	if err != nil {
		return fmt.Errorf("restore %s: %w", quoteName(rel), err)
	}
	switch hdr.Typeflag {
	case tar.TypeFifo:
		if err := mkfifo(dir, base, mode, hdr.ModTime); err != nil {
			return fmt.Errorf("restore %s: %w", quoteName(rel), err)
		}
	case tar.TypeSymlink:
		target, _ := x.rw.Replace(hdr.Linkname)
		if err := dir.Symlink(target, base); err != nil {
			return fmt.Errorf("restore %s: %w", quoteName(rel), err)
		}
		// As tar -x leaves it: a tarball's symlinks keep their times,
		// which find -newer, tar -c and rsync read.
		if err := symlinkTimes(dir, base, hdr.ModTime); err != nil {
			return fmt.Errorf("restore %s: %w", quoteName(rel), err)
		}
	case tar.TypeLink:
		lr, lrel, ok, err := x.target(hdr.Linkname)
		if err != nil {
			return fmt.Errorf("restore %s: hard link to %s: %w", quoteName(rel), quoteName(hdr.Linkname), err)
		}
		if !ok && !x.opts.Tree && strings.HasPrefix(hdr.Linkname, "tree/") {
			// A build-tree file this restore does not write: its
			// content is extracted here after the archive's end.
			if x.treeLinks == nil {
				x.treeLinks = map[string][]string{}
			}
			x.treeLinks[hdr.Linkname] = append(x.treeLinks[hdr.Linkname], hdr.Name)
			return nil
		}
		if !ok {
			return fmt.Errorf("restore %s: hard link to %s, which this restore does not write", quoteName(rel), quoteName(hdr.Linkname))
		}
		if err := x.linkAcross(lr, lrel, r, rel); err != nil {
			return err
		}
		if first, _, _ := strings.Cut(hdr.Name, "/"); first == "tree" {
			x.treeLinked = append(x.treeLinked, rel)
		}
		return nil
	default:
		return fmt.Errorf("restore %s: unsupported archive entry type %q", quoteName(rel), hdr.Typeflag)
	}
	return nil
}

// directory restores a directory entry: made (0700 for now) unless one is
// there, given its mode and time at the end (see times).
func (x *extractor) directory(r *os.Root, rel string, mode fs.FileMode, mtime time.Time) error {
	dir, base, err := x.dir(r, rel)
	if err != nil {
		return fmt.Errorf("restore %s: %w", quoteName(rel), err)
	}
	fi, err := dir.Lstat(base)
	if err == nil && !fi.IsDir() {
		if err := dir.Remove(base); err != nil {
			return fmt.Errorf("restore %s: %w", quoteName(rel), err)
		}
	}
	if err != nil || !fi.IsDir() {
		if err := dir.Mkdir(base, 0o700); err != nil {
			return fmt.Errorf("restore %s: %w", quoteName(rel), err)
		}
		if fi, err = dir.Lstat(base); err != nil {
			return fmt.Errorf("restore %s: %w", quoteName(rel), err)
		}
	}
	x.dirs = append(x.dirs, timedEntry{r, rel, mode, mtime, inodeOf(fi)})
	return nil
}

// smallFile is the size up to which a file is read whole, rewritten in
// place and written with one call; larger files stream through a
// storepath.Writer.
const smallFile = 1 << 20

var smallBufs = sync.Pool{New: func() any {
	b := make([]byte, smallFile)
	return &b
}}

// regular restores a regular file: contents with store hashes rewritten,
// mode and modification time.
func (x *extractor) regular(r *os.Root, rel string, mode fs.FileMode, hdr *tar.Header, tr io.Reader) error {
	size, extents, sparse, err := sparseMap(hdr, x.sparseLeft)
	if err != nil {
		return &CorruptError{Dir: x.opts.Dir, Err: err}
	}
	dir, base, err := x.dir(r, rel)
	if err != nil {
		return fmt.Errorf("restore %s: %w", rel, err)
	}
	// A file the build left unreadable or read-only is written, and read
	// by the passes after extraction, with owner read and write
	// permission; times gives it its mode. Setuid and setgid bits are
	// dropped (the store refuses them too).
	mode &^= fs.ModeSetuid | fs.ModeSetgid
	perm := mode.Perm()
	later := perm&0o600 != 0o600
	if later {
		perm |= 0o600
	}
	// Build trees mostly gain files, so create first and clear the way
	// only when something is there (a source file the build changed).
	f, err := dir.OpenFile(base, os.O_WRONLY|os.O_CREATE|os.O_EXCL|syscall.O_NOFOLLOW, perm)
	if errors.Is(err, fs.ErrExist) {
		if dir, base, err = x.clear(r, rel); err == nil {
			f, err = dir.OpenFile(base, os.O_WRONLY|os.O_CREATE|os.O_EXCL|syscall.O_NOFOLLOW, perm)
		}
	}
	if err != nil {
		return fmt.Errorf("restore %s: %w", quoteName(rel), err)
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return fmt.Errorf("restore %s: %w", quoteName(rel), err)
	}
	ino := inodeOf(fi)
	if later {
		x.modes = append(x.modes, timedEntry{r, rel, mode, hdr.ModTime, ino})
	}
	var magic [4]byte
	isTar := false
	rewritten := 0
	if sparse {
		x.sparseLeft -= size
		rewritten, err = x.writeSparse(f, tr, size, extents, &magic)
	} else if hdr.Size <= smallFile {
		bp := smallBufs.Get().(*[]byte)
		b := (*bp)[:hdr.Size]
		if _, err = io.ReadFull(tr, b); err == nil {
			copy(magic[:], b)
			isTar = storepath.IsTar(b)
			rewritten = x.rw.ReplaceBytes(b)
			_, err = f.Write(b)
		}
		smallBufs.Put(bp)
	} else {
		var head [512]byte
		if _, err = io.ReadFull(tr, head[:]); err == nil {
			copy(magic[:], head[:])
			isTar = storepath.IsTar(head[:])
			w := x.rw.Writer(f)
			if _, err = io.Copy(w, io.MultiReader(bytes.NewReader(head[:]), tr)); err == nil {
				err = w.Close()
			}
			rewritten = w.Count()
		}
	}
	// The umask may have taken bits off the mode the file was created
	// with, and creating never sets the setuid, setgid and sticky bits.
	if err == nil && (perm&x.umask != 0 || mode&fs.ModeSticky != 0) {
		err = f.Chmod(perm | mode&fs.ModeSticky)
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		// Later steps (build-ids, ninja logs) keep modification times.
		err = dir.Chtimes(base, hdr.ModTime, hdr.ModTime)
	}
	if err != nil {
		return fmt.Errorf("restore %s: %w", quoteName(rel), err)
	}
	x.res.Files++
	x.res.Bytes += hdr.Size
	apparent := hdr.Size // with a sparse file's holes
	if sparse {
		apparent = size
	}
	if rewritten > 0 {
		x.res.Rewritten++
	}
	x.written = append(x.written, writtenFile{root: r, rel: rel, path: filepath.Join(r.Name(), rel),
		rewritten: rewritten > 0, magic: magic, tar: isTar, sparse: sparse, inode: ino, tree: x.opts.Tree && r == x.roots[x.opts.Top], size: apparent})
	return nil
}

// clear is dir, with whatever was at rel removed.
func (x *extractor) clear(r *os.Root, rel string) (*os.Root, string, error) {
	dir, base, err := x.dir(r, rel)
	if err != nil {
		return nil, "", err
	}
	// Whatever was there, the directory handles opened at or below it
	// must not be used again: an entry may put a symlink or another
	// directory in its place.
	x.forgetBelow(r, rel)
	err = dir.Remove(base)
	switch {
	case err == nil || errors.Is(err, fs.ErrNotExist):
		return dir, base, nil
	case errors.Is(err, syscall.ENOTEMPTY) || errors.Is(err, syscall.EEXIST):
		// A directory the archive replaces by a file.
		return dir, base, dir.RemoveAll(base)
	}
	return nil, "", err
}

// forgetBelow closes the directory handles of r at rel and below it (all
// of them for rel "").
func (x *extractor) forgetBelow(r *os.Root, rel string) {
	gone := false
	for _, key := range x.dirOrder {
		if key.root == r && (rel == "" || key.dir == rel || strings.HasPrefix(key.dir, rel+"/")) {
			x.dirRoots[key].Close()
			delete(x.dirRoots, key)
			gone = true
		}
	}
	if gone {
		x.dirOrder = slices.DeleteFunc(x.dirOrder, func(k dirKey) bool { _, ok := x.dirRoots[k]; return !ok })
	}
}

// dir returns the directory that holds rel, opened as a root of its own
// (so that opening files in it walks no path), and rel's base name. Each
// directory is opened from its parent's handle, one name at a time and
// never through a symlink, so that deep trees cost one open per
// directory.
func (x *extractor) dir(r *os.Root, rel string) (*os.Root, string, error) {
	d, base := path.Split(rel)
	if d = strings.TrimSuffix(d, "/"); d == "" {
		return r, base, nil
	}
	key := dirKey{r, d}
	if dir, ok := x.dirRoots[key]; ok {
		return dir, base, nil
	}
	parent, pbase, err := x.dir(r, d)
	if err != nil {
		return nil, "", err
	}
	dir, err := openDirNoFollow(parent, pbase)
	if err != nil {
		return nil, "", err
	}
	if len(x.dirOrder) == maxDirRoots {
		old := x.dirOrder[0]
		x.dirRoots[old].Close()
		delete(x.dirRoots, old)
		x.dirOrder = x.dirOrder[1:]
	}
	x.dirRoots[key] = dir
	x.dirOrder = append(x.dirOrder, key)
	return dir, base, nil
}

// maxDirRoots bounds the directories kept open while extracting; archive
// entries come directory by directory, and times walks them back.
const maxDirRoots = 256

type dirKey struct {
	root *os.Root
	dir  string
}

func (x *extractor) copyFile(fromRoot *os.Root, from string, dir *os.Root, base string) error {
	src, fi, err := openRegular(fromRoot, from, os.O_RDONLY)
	if err != nil {
		return fmt.Errorf("restore %s: %w", quoteName(base), err)
	}
	defer src.Close()
	dst, err := dir.OpenFile(base, os.O_WRONLY|os.O_CREATE|os.O_EXCL|syscall.O_NOFOLLOW, fi.Mode().Perm())
	if err != nil {
		return fmt.Errorf("restore %s: %w", quoteName(base), err)
	}
	if _, err := io.Copy(dst, io.LimitReader(src, fi.Size())); err != nil {
		dst.Close()
		return fmt.Errorf("restore %s: %w", quoteName(base), err)
	}
	if err := dst.Close(); err != nil {
		return err
	}
	return dir.Chtimes(base, fi.ModTime(), fi.ModTime())
}
