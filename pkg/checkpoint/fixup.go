package checkpoint

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"

	"golang.org/x/sync/errgroup"

	"github.com/nix-vanilla/nix-vanilla/pkg/elfid"
	"github.com/nix-vanilla/nix-vanilla/pkg/ninjalog"
)

// fixup recomputes build-ids of rewritten ELF files, looks for hashes left
// inside compressed files, and rehashes ninja logs, in parallel.
func (x *extractor) fixup(ctx context.Context) error {
	g, _ := errgroup.WithContext(ctx)
	g.SetLimit(runtime.GOMAXPROCS(0))
	ids := make([]bool, len(x.written))
	for i, w := range x.written {
		switch {
		case w.rewritten && string(w.magic[:]) == "\x7fELF":
			g.Go(func() error {
				changed, err := x.buildID(w.path)
				ids[i] = changed
				return err
			})
		case compressed(w.magic) && x.rw.Len() > 0:
			g.Go(func() error {
				left, err := x.rw.Leftovers(w.path)
				if len(left) > 0 {
					var where []string
					for _, l := range left {
						where = append(where, l.String())
					}
					return &LeftoverError{Path: w.path, Hashes: where}
				}
				if err != nil {
					return fmt.Errorf("restore: checking %s for store hashes inside compressed data: %w", w.path, err)
				}
				return nil
			})
		}
	}
	if err := g.Wait(); err != nil {
		return err
	}
	for _, changed := range ids {
		if changed {
			x.res.BuildIDs++
		}
	}
	if !x.opts.Tree || x.res.Rewritten == 0 {
		return nil
	}
	for _, w := range x.written {
		if filepath.Base(w.path) != ".ninja_log" {
			continue
		}
		st, err := ninjalog.Fix(ctx, filepath.Dir(w.path))
		if err != nil {
			return fmt.Errorf("restore: %w", err)
		}
		x.res.NinjaLogs += st.Changed
		if len(st.Untouched) > 0 {
			x.warn(fmt.Sprintf("%s: %d entries have no known command and keep their old hash (ninja may rebuild them)", w.path, len(st.Untouched)))
		}
	}
	return nil
}

// buildID recomputes the GNU build-id of an ELF file whose store hashes
// were rewritten, if the id was the one ld computed before the rewrite: a
// binary stripped or patched during the build keeps its id, with a warning.
func (x *extractor) buildID(path string) (bool, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return false, fmt.Errorf("restore: %w", err)
	}
	x.reverse.Bytes(data)
	stale, err := elfid.Recompute(data)
	var unsupported *elfid.UnsupportedError
	switch {
	case errors.Is(err, elfid.ErrNoBuildID) || errors.Is(err, elfid.ErrNotELF):
		return false, nil
	case errors.As(err, &unsupported):
		x.warn(fmt.Sprintf("%s: %s; its build-id names the old store paths", path, unsupported.Reason))
		return false, nil
	case err != nil:
		return false, fmt.Errorf("restore: build-id of %s: %w", path, err)
	case stale:
		x.warn(fmt.Sprintf("%s: its build-id was not the one ld computed (stripped or patched during the build); left as it was", path))
		return false, nil
	}
	changed, err := elfid.File(path)
	if err != nil {
		return false, fmt.Errorf("restore: %w", err)
	}
	return changed, nil
}

func compressed(magic [4]byte) bool {
	switch {
	case magic[0] == 0x1f && magic[1] == 0x8b, // gzip
		string(magic[:3]) == "BZh",             // bzip2
		string(magic[:]) == "\xfd7zX",          // xz
		string(magic[:]) == "\x28\xb5\x2f\xfd", // zstd
		string(magic[:]) == "PK\x03\x04":       // zip, jar
		return true
	}
	return false
}
