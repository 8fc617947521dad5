package checkpoint

import (
	"context"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/nix-vanilla/nix-vanilla/pkg/storepath"
)

// StaleError reports output files that still hold an earlier stage's store
// hashes: where no rewrite reaches (inside compressed data), or raw.
type StaleError struct {
	// Files are the files, each with where the hashes are.
	Files []*LeftoverError
}

func (e *StaleError) Error() string {
	var b strings.Builder
	for i, f := range e.Files {
		if i > 0 {
			b.WriteString("\n")
		}
		b.WriteString(f.Error())
	}
	return b.String()
}

// EarlierHashes returns the store hashes of the outputs that the
// checkpoint in dir recorded: those of the stage that wrote it, which a
// later stage's outputs must not contain.
func EarlierHashes(dir string) ([]string, error) {
	m, err := ReadManifest(dir)
	if err != nil {
		return nil, err
	}
	var hs []string
	for _, p := range m.Outputs {
		if b := filepath.Base(p); len(b) >= storepath.HashLen && storepath.IsHash(b[:storepath.HashLen]) {
			hs = append(hs, b[:storepath.HashLen])
		}
	}
	slices.Sort(hs)
	return hs, nil
}

// Scan looks in every regular file under roots (a stage's outputs) for the
// old store hashes: in its bytes, and inside compressed data (compressed
// files, zip and jar members, static library members, compressed ELF
// sections, GCC LTO sections). It returns a *StaleError naming every file
// that holds one, and other errors for files it cannot read. A stage calls
// it on its outputs before saving them, with the hashes of the stage
// before (EarlierHashes of the checkpoint it restored): a build-tree file
// that Restore could not rewrite (Result.Unrewritable) is harmless until
// an output contains it.
func Scan(ctx context.Context, roots []string, old []string) error {
	m := map[string]string{}
	for _, h := range old {
		// A rewriter to nowhere in particular: only its search is used.
		m[h] = strings.Repeat("0", storepath.HashLen)
	}
	rw, err := storepath.NewRewriter(m)
	if err != nil || rw.Len() == 0 {
		return err
	}
	// First the files and their sizes, which bound the scan's work.
	var files []string
	var total int64
	for _, root := range roots {
		err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if err := ctx.Err(); err != nil {
				return err
			}
			if !d.Type().IsRegular() {
				return nil
			}
			fi, err := d.Info()
			if err != nil {
				return err
			}
			files = append(files, p)
			total += fi.Size()
			return nil
		})
		if err != nil && !os.IsNotExist(err) {
			return fmt.Errorf("scan %s: %w", root, err)
		}
	}
	rw = rw.WithBudget(storepath.NewBudget(storepath.ScanBound(total)))
	stale := &StaleError{}
	for _, p := range files {
		if err := ctx.Err(); err != nil {
			return err
		}
		if e := scanFile(rw, p); e != nil {
			stale.Files = append(stale.Files, e)
		}
	}
	if len(stale.Files) > 0 {
		return stale
	}
	return nil
}

func scanFile(rw *storepath.Rewriter, p string) *LeftoverError {
	e := &LeftoverError{Path: p}
	f, err := os.Open(p)
	if err != nil {
		e.Err = err
		return e
	}
	defer f.Close()
	// Counting what a rewrite would replace finds raw hashes in a stream.
	w := rw.Writer(io.Discard)
	_, err = io.Copy(w, f)
	if err == nil {
		err = w.Close()
	}
	if err != nil {
		e.Err = err
		return e
	}
	if w.Count() > 0 {
		e.Hashes = append(e.Hashes, fmt.Sprintf("%d in its own bytes, not rewritten", w.Count()))
	}
	left, err := rw.Leftovers(p)
	for _, l := range left {
		e.Hashes = append(e.Hashes, l.String())
	}
	e.Err = err
	if len(e.Hashes) == 0 && e.Err == nil {
		return nil
	}
	return e
}
