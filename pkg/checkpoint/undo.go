package checkpoint

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// A restore that fails after it started writing leaves nothing of what it
// wrote: the outputs it created are removed, and the build directory is
// emptied but for the files Nix put there (NixFile) and those
// RestoreOptions.Keep reserves, so that a build can
// start again from unpacking. Failures found before the first write (a
// damaged or forged archive, a changed source) leave everything as it was.

// absentOutputs lists the outputs of the checkpoint that do not exist yet:
// those a failed restore removes again.
func (x *extractor) absentOutputs() ([]string, error) {
	var absent []string
	for name := range x.res.Manifest.Outputs {
		// The restoring build's own output path, named by Nix.
		p := x.opts.Outputs[name]
		if _, err := os.Lstat(p); errors.Is(err, fs.ErrNotExist) {
			absent = append(absent, p)
		} else if err != nil {
			return nil, fmt.Errorf("restore: %w", err)
		}
	}
	return absent, nil
}

// undo removes what a failed restore wrote (see above).
func (x *extractor) undo(created []string) error {
	var errs []error
	for _, p := range created {
		errs = append(errs, removeIn(filepath.Dir(p), []string{filepath.Base(p)}))
	}
	if x.opts.Tree {
		names, err := readNames(x.opts.Top)
		if err != nil {
			return err
		}
		var doomed []string
		for _, n := range names {
			if !NixFile(n) && !x.kept(n) {
				doomed = append(doomed, n)
			}
		}
		errs = append(errs, removeIn(x.opts.Top, doomed))
	}
	return errors.Join(errs...)
}

// kept reports whether rel, a path under Top, is under a name that
// RestoreOptions.Keep reserves.
func (x *extractor) kept(rel string) bool {
	first, _, _ := strings.Cut(rel, "/")
	return x.opts.Keep != nil && x.opts.Keep(first)
}

// removeIn removes names from dir, through a root, giving directories
// that a restore left unwritable or untraversable their owner's
// permission first.
func removeIn(dir string, names []string) error {
	r, err := os.OpenRoot(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	defer r.Close()
	var errs []error
	for _, n := range names {
		if err := r.RemoveAll(n); err == nil {
			continue
		}
		_ = fs.WalkDir(r.FS(), n, func(p string, d fs.DirEntry, err error) error {
			if d != nil && d.IsDir() {
				_ = r.Chmod(p, 0o700)
			}
			return nil
		})
		errs = append(errs, r.RemoveAll(n))
	}
	return errors.Join(errs...)
}
