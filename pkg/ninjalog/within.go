package ninjalog

import (
	"context"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"syscall"

	"github.com/nix-vanilla/nix-vanilla/pkg/inplace"
)

// MaxManifestBytes bounds what FixWithin reads of build.ninja and the
// files it includes, together.
const MaxManifestBytes = 256 << 20

// ConfinedError reports a manifest that names something outside the tree
// FixWithin may read, or something that is not a regular file.
type ConfinedError struct {
	Name   string
	Reason string
}

func (e *ConfinedError) Error() string {
	return fmt.Sprintf("ninja manifest: %s: %s", strconv.Quote(e.Name), e.Reason)
}

// FixWithin is [Fix] for the directory dir (slash-separated, relative to
// the root top) of a tree that may come from an untrusted checkpoint:
// every file it reads or writes is reached through top and must be inside
// it. build.ninja and the files it includes (include, subninja) must be
// regular files inside the tree, of at most MaxManifestBytes together;
// $builddir must be a relative path that stays inside it; dir itself must
// be reached without a symlink. Only once the manifest passed these checks
// does ninja run (ninja -t compdb, in dir), so that it reads nothing the
// checks did not see. The log is replaced through top, never through a
// symlink.
func FixWithin(ctx context.Context, top *os.Root, dir string) (Stats, error) {
	if err := realDir(top, dir); err != nil {
		return Stats{}, err
	}
	budget := int64(MaxManifestBytes)
	m, err := parseManifest(ManifestName, func(name string) ([]byte, error) {
		return readWithin(top, dir, name, &budget)
	})
	if err != nil {
		return Stats{}, fmt.Errorf("parse %s: %w", path.Join(dir, ManifestName), err)
	}
	cmds, builddir, err := commandsOf(ctx, filepath.Join(top.Name(), dir), m)
	if err != nil {
		return Stats{}, err
	}
	logRel := path.Join(dir, LogName)
	if builddir != "" {
		if path.IsAbs(builddir) || !filepath.IsLocal(path.Join(dir, builddir)) {
			return Stats{}, &ConfinedError{Name: builddir, Reason: "$builddir leaves the build tree"}
		}
		logRel = path.Join(dir, builddir, LogName)
	}
	data, fi, err := readRegular(top, logRel, -1)
	if err != nil {
		return Stats{}, fmt.Errorf("read ninja log: %w", err)
	}
	l, err := Parse(data)
	if err != nil {
		return Stats{}, fmt.Errorf("%s: %w", logRel, err)
	}
	inferred := infer(l, cmds)
	st := rehash(l, cmds)
	st.Inferred = inferred
	if st.Changed > 0 {
		if err := inplace.ReplaceIn(top, logRel, l.Bytes(), fi); err != nil {
			return st, fmt.Errorf("write ninja log %s: %w", logRel, err)
		}
	}
	return st, nil
}

// realDir checks that each component of dir is a directory, not a symlink.
func realDir(top *os.Root, dir string) error {
	if dir == "." || dir == "" {
		return nil
	}
	if !filepath.IsLocal(dir) {
		return &ConfinedError{Name: dir, Reason: "not inside the build tree"}
	}
	for p := dir; p != "."; p = path.Dir(p) {
		fi, err := top.Lstat(p)
		if err != nil {
			return err
		}
		if !fi.IsDir() {
			return &ConfinedError{Name: p, Reason: "a " + fi.Mode().Type().String() + ", not a directory"}
		}
	}
	return nil
}

// readWithin reads the manifest file name (relative to dir unless
// absolute) through top, taking its size off budget.
func readWithin(top *os.Root, dir, name string, budget *int64) ([]byte, error) {
	if filepath.IsAbs(name) {
		return nil, &ConfinedError{Name: name, Reason: "an absolute path, outside the build tree"}
	}
	rel := path.Join(dir, filepath.ToSlash(name))
	if !filepath.IsLocal(rel) {
		return nil, &ConfinedError{Name: name, Reason: "outside the build tree"}
	}
	data, _, err := readRegular(top, rel, *budget)
	if err != nil {
		return nil, err
	}
	*budget -= int64(len(data))
	return data, nil
}

// readRegular reads rel through top if it is a regular file of at most
// limit bytes (limit < 0: any size), without blocking on a FIFO.
func readRegular(top *os.Root, rel string, limit int64) ([]byte, fs.FileInfo, error) {
	f, err := top.OpenFile(rel, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, nil, &ConfinedError{Name: rel, Reason: "a " + fi.Mode().Type().String() + ", not a regular file"}
	}
	if limit >= 0 && fi.Size() > limit {
		return nil, nil, &ConfinedError{Name: rel, Reason: fmt.Sprintf("%d bytes, more than the %d left of the %d a manifest may take", fi.Size(), limit, MaxManifestBytes)}
	}
	data := make([]byte, fi.Size())
	if _, err := io.ReadFull(f, data); err != nil {
		return nil, nil, err
	}
	return data, fi, nil
}
