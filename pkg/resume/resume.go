package resume

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/nix-vanilla/nix-vanilla/internal/stage"
	"github.com/nix-vanilla/nix-vanilla/pkg/cache"
	"github.com/nix-vanilla/nix-vanilla/pkg/cachekey"
	"github.com/nix-vanilla/nix-vanilla/pkg/checkpoint"
	"github.com/nix-vanilla/nix-vanilla/pkg/drvattrs"
)

// Points are the resume points, latest first: the order Lookup tries them.
var Points = []cachekey.Point{cachekey.Install, cachekey.Build}

// Decision is what Lookup found.
type Decision struct {
	// Hit says an entry was found, at Point under Key.
	Hit   bool
	Point cachekey.Point
	Key   string
	// Keys are the build's keys at every point.
	Keys map[cachekey.Point]*cachekey.Key
	// Reason says, for a miss, why: no entry of the package, or the
	// attributes in which the nearest entry differs.
	Reason string
	// Category is Reason as stats count it.
	Category string
}

// LookupOptions say what to look up.
type LookupOptions struct {
	Cache *cache.Cache
	// Attrs are the build's derivation attributes.
	Attrs drvattrs.Attrs
	// Name is the derivation's name.
	Name string
	// Log receives one line per damaged entry found and removed.
	Log io.Writer
}

// Lookup computes the build's keys and finds the latest resume point
// the cache holds. A damaged entry is removed, reported to Log and counts
// as a miss.
func Lookup(opts LookupOptions) (*Decision, error) {
	d := &Decision{Keys: map[cachekey.Point]*cachekey.Key{}}
	for _, p := range Points {
		k, err := cachekey.Compute(opts.Attrs, p)
		if err != nil {
			return nil, err
		}
		d.Keys[p] = k
	}
	for _, p := range Points {
		e, err := opts.Cache.Get(d.Keys[p].Sum)
		var damaged *cache.DamagedError
		switch {
		case err == nil:
			e.Close()
			d.Hit, d.Point, d.Key = true, p, d.Keys[p].Sum
			return d, nil
		case errors.As(err, &damaged):
			fmt.Fprintf(logOrDiscard(opts.Log), "vanilla: cache entry %s was damaged (%s); removed\n", short(d.Keys[p].Sum), damaged.Reason)
		case !errors.Is(err, cache.ErrNotFound):
			return nil, err
		}
	}
	k := d.Keys[cachekey.Build]
	d.Point, d.Key = cachekey.Build, k.Sum
	near, differ, err := opts.Cache.Nearest(opts.Name, string(cachekey.Build), k.Attrs)
	switch {
	case err != nil:
		return nil, err
	case near == nil:
		d.Reason = "no entry of " + opts.Name
		d.Category = "no entry"
	case len(differ) == 0:
		d.Reason = "the nearest entry has the same attributes (another helper version, or the input lists changed)"
		d.Category = "input lists or version differ"
	default:
		d.Reason = "nearest entry differs in " + strings.Join(differ, ", ")
		d.Category = "differs in " + strings.Join(differ, ", ")
	}
	return d, nil
}

// StoreOptions say what to store at a resume point.
type StoreOptions struct {
	Cache *cache.Cache
	Point cachekey.Point
	// Attrs are the build's derivation attributes; the key is computed
	// from them.
	Attrs drvattrs.Attrs
	// Name is the derivation's name.
	Name string
	// Top, Snapshot, Fresh, End and Outputs are as in stage.SaveOptions.
	Top, Snapshot, Fresh, End string
	Outputs                   map[string]string
	// SourceCopy and Prepared are as in stage.SaveOptions.
	SourceCopy func(files int, bytes int64) bool
	Prepared   string
	// MaxSize, if not zero, is the cache's size limit for this build (the
	// vanillaCacheMaxSize attribute), enforced after the entry is stored.
	MaxSize int64
	// Log receives one line saying what was stored.
	Log io.Writer
}

// Store saves the build at a resume point into the cache.
func Store(opts StoreOptions) error {
	k, err := cachekey.Compute(opts.Attrs, opts.Point)
	if err != nil {
		return err
	}
	var m *checkpoint.Manifest
	info := cache.Info{Key: k.Sum, Name: opts.Name, Point: string(opts.Point), Attrs: k.Attrs}
	err = opts.Cache.Put(info, func(dir string) error {
		var err error
		m, err = stage.Save(stage.SaveOptions{
			Stage: stage.Vanilla, Dir: dir, Name: opts.Name, Top: opts.Top, Snapshot: opts.Snapshot,
			Fresh: opts.Fresh, End: opts.End, Outputs: opts.Outputs, Tree: true, Attrs: opts.Attrs,
			SourceCopy: opts.SourceCopy, Prepared: opts.Prepared,
		})
		return err
	})
	if err != nil {
		return fmt.Errorf("store %s: %w", short(k.Sum), err)
	}
	if m != nil {
		_ = opts.Cache.Record(cache.Event{Kind: cache.Save, Key: k.Sum, Name: opts.Name, Bytes: m.Stats.Compressed})
	}
	if opts.MaxSize > 0 {
		if _, err := opts.Cache.GC(opts.MaxSize); err != nil {
			return err
		}
	}
	if opts.Log != nil && m != nil {
		fmt.Fprintf(opts.Log, "vanilla: cache: stored %s as %s (%s in %d files, %s compressed)\n",
			what(opts.Point), short(k.Sum), stage.Size(m.Stats.Bytes), m.Stats.Files, stage.Size(m.Stats.Compressed))
	}
	return nil
}

// RestoreOptions say which entry to restore into the build.
type RestoreOptions struct {
	Cache *cache.Cache
	Key   string
	Point cachekey.Point
	// Top, Fresh, Script, Outputs and Attrs are as in stage.RestoreOptions.
	Top, Fresh, Script string
	// Earlier, if set, is where to write the store hashes of the entry's
	// outputs, one a line, for Check at the end of the build.
	Earlier string
	Outputs map[string]string
	Attrs   drvattrs.Attrs
	Log     io.Writer
	// Sources and SourceThreads are as in stage.RestoreOptions: the
	// restore unpacks the source itself.
	Sources       []string
	SourceThreads int
	// SourceCopy is as in stage.RestoreOptions: the entry's source copy,
	// if it has one, in place of Sources.
	SourceCopy bool
}

// Restore brings the entry back: the build tree over the unpacked source,
// the outputs with this invocation's store paths, and the script that
// replays the shell state. It records the hit.
func Restore(ctx context.Context, opts RestoreOptions) error {
	if opts.Log == nil {
		opts.Log = io.Discard
	}
	e, err := opts.Cache.Get(opts.Key)
	if err != nil {
		return err
	}
	defer e.Close()
	st, tree := stage.Unwrapped, false
	if opts.Point == cachekey.Install {
		st, tree = stage.Final, true
	}
	if opts.Earlier != "" {
		hs, err := checkpoint.EarlierHashes(e.Dir)
		if err != nil {
			return err
		}
		if err := os.WriteFile(opts.Earlier, []byte(strings.Join(hs, "\n")+"\n"), 0o644); err != nil {
			return err
		}
	}
	ro := stage.RestoreOptions{
		Stage: st, From: e.Dir, Top: opts.Top, Tree: tree, Fresh: opts.Fresh,
		Outputs: opts.Outputs, Script: opts.Script, Attrs: opts.Attrs,
		Sources: opts.Sources, SourceThreads: opts.SourceThreads, SourceCopy: opts.SourceCopy,
	}
	if opts.Point == cachekey.Install && opts.SourceCopy {
		// One copy per build: the entry after buildPhase holds it.
		if b := buildEntry(opts.Cache, opts.Attrs); b != nil {
			defer b.Close()
			ro.SourceCopyDir = b.Dir
		}
	}
	res, err := stage.Restore(ctx, ro)
	res.WriteLog(opts.Log)
	if err != nil {
		return err
	}
	age := time.Since(e.Info.Created).Round(time.Second)
	fmt.Fprintf(opts.Log, "vanilla: cache hit %s (%s, stored %s ago)\n", short(opts.Key), what(opts.Point), age)
	if err := opts.Cache.Used(opts.Key); err != nil {
		fmt.Fprintf(opts.Log, "vanilla: warning: cache: %v\n", err)
	}
	_ = opts.Cache.Record(cache.Event{Kind: cache.Hit, Key: opts.Key, Name: e.Info.Name, Bytes: e.Info.Size})
	return nil
}

// buildEntry is the cache's entry after buildPhase for attrs when it has
// a source copy, locked; nil when there is none or it cannot be read
// (a restore then unpacks the sources). Most entries have no copy (small
// sources): looking first spares those a failed attempt and its warning.
func buildEntry(c *cache.Cache, attrs drvattrs.Attrs) *cache.Entry {
	k, err := cachekey.Compute(attrs, cachekey.Build)
	if err != nil {
		return nil
	}
	e, err := c.Get(k.Sum)
	if err != nil {
		return nil
	}
	if m, err := checkpoint.ReadManifest(e.Dir); err != nil || m.Stats.SourceCopy == 0 {
		e.Close()
		return nil
	}
	return e
}

// Check fails with a *checkpoint.StaleError when the outputs of a build
// that resumed still hold an earlier invocation's store hashes (earlier,
// as Restore wrote them): a build-tree file the restore left as the entry
// held it, because the hashes are inside compressed data, that a phase
// after the resume point installed.
func Check(ctx context.Context, earlier []string, outputs map[string]string) error {
	roots := make([]string, 0, len(outputs))
	for _, p := range outputs {
		roots = append(roots, p)
	}
	return checkpoint.Scan(ctx, roots, earlier)
}

// Clean empties the build directory top, but for Nix's own files, and
// removes the outputs: what a build that starts again from scratch needs.
func Clean(top string, outputs map[string]string) error {
	entries, err := os.ReadDir(top)
	if err != nil {
		return err
	}
	for _, e := range entries {
		if checkpoint.NixFile(e.Name()) {
			continue
		}
		p := filepath.Join(top, e.Name())
		_ = makeWritable(p)
		if err := os.RemoveAll(p); err != nil {
			return err
		}
	}
	for _, p := range outputs {
		_ = makeWritable(p)
		if err := os.RemoveAll(p); err != nil {
			return err
		}
	}
	return nil
}

// makeWritable gives write permission to every directory under p, so that
// RemoveAll can empty it (a build may leave 0555 directories).
func makeWritable(p string) error {
	return filepath.WalkDir(p, func(q string, d os.DirEntry, err error) error {
		if err == nil && d.IsDir() {
			_ = os.Chmod(q, 0o755)
		}
		return nil
	})
}

func what(p cachekey.Point) string {
	if p == cachekey.Install {
		return "the build tree and outputs after installPhase"
	}
	return "the build tree and outputs after buildPhase"
}

// short is a key's first 12 digits, as logs print it.
func short(key string) string {
	if len(key) > 12 {
		return key[:12]
	}
	return key
}

func logOrDiscard(w io.Writer) io.Writer {
	if w == nil {
		return io.Discard
	}
	return w
}
