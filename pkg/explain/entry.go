package explain

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/nix-vanilla/nix-vanilla/pkg/cache"
	"github.com/nix-vanilla/nix-vanilla/pkg/cachekey"
	"github.com/nix-vanilla/nix-vanilla/pkg/drvattrs"
)

// EntryReport explains a hook-mode cache entry against the nearest other
// entry of the same package and resume point: why a build that made the
// one did not find the other.
type EntryReport struct {
	Entry cache.Info `json:"entry"`
	// Nearest is the entry whose attributes differ in the fewest, the
	// most recently used of those; nil when the cache holds no other
	// entry of the package at that point.
	Nearest *cache.Info `json:"nearest"`
	// Attrs are the attributes whose digests differ, Old being the
	// nearest entry's value and New the entry's, as the key covers them
	// (cachekey.Values: output paths stand for their names, late inputs
	// are left out). Without the recorded attributes (Note says why)
	// only Name and Change are set.
	Attrs []AttrChange `json:"attrs"`
	// Note says why the values could not be shown.
	Note string `json:"note,omitempty"`
}

// Entry explains the entry of c whose key is or starts with key against
// its nearest neighbour. readAttrs reads the derivation attributes an
// entry's checkpoint recorded, given the entry's directory.
func Entry(c *cache.Cache, key string, readAttrs func(dir string) (drvattrs.Attrs, error)) (*EntryReport, error) {
	infos, _, err := c.List()
	if err != nil {
		return nil, err
	}
	var matches []cache.Info
	for _, in := range infos {
		if strings.HasPrefix(in.Key, key) {
			matches = append(matches, in)
		}
	}
	switch {
	case key == "" || len(matches) == 0:
		return nil, fmt.Errorf("cache %s: key %q: %w", c.Path(), key, cache.ErrNotFound)
	case len(matches) > 1:
		return nil, fmt.Errorf("cache %s: key %q is the start of %d keys; give more of it", c.Path(), key, len(matches))
	}
	r := &EntryReport{Entry: matches[0]}
	var bestDiff []string
	for i, in := range infos {
		if in.Key == r.Entry.Key || in.Name != r.Entry.Name || in.Point != r.Entry.Point {
			continue
		}
		d := differing(in.Attrs, r.Entry.Attrs)
		if r.Nearest == nil || len(d) < len(bestDiff) {
			r.Nearest, bestDiff = &infos[i], d
		}
	}
	if r.Nearest == nil {
		return r, nil
	}
	oldVals, newVals, err := entryValues(c, r.Nearest, &r.Entry, readAttrs)
	if err != nil {
		r.Note = err.Error()
	}
	for _, name := range bestDiff {
		_, inOld := r.Nearest.Attrs[name]
		_, inNew := r.Entry.Attrs[name]
		a := AttrChange{Name: name, Change: "changed"}
		switch {
		case !inOld:
			a.Change = "added"
		case !inNew:
			a.Change = "removed"
		}
		if err == nil {
			a.Old, a.New = oldVals[name], newVals[name]
			switch a.Change {
			case "added":
				a.Summary = whole(a.New)
			case "removed":
				a.Summary = whole(a.Old)
			default:
				a.Summary = summarize(a.Old, a.New, isCode(name))
			}
		}
		r.Attrs = append(r.Attrs, a)
	}
	return r, nil
}

// entryValues reads the covered values of two entries.
func entryValues(c *cache.Cache, old, nw *cache.Info, readAttrs func(string) (drvattrs.Attrs, error)) (drvattrs.Attrs, drvattrs.Attrs, error) {
	var vals [2]drvattrs.Attrs
	for i, in := range []*cache.Info{old, nw} {
		e, err := c.Get(in.Key)
		if err != nil {
			return nil, nil, err
		}
		a, err := readAttrs(e.Dir)
		e.Close()
		if err != nil {
			return nil, nil, fmt.Errorf("entry %s: %w", in.Key[:12], err)
		}
		if vals[i], err = cachekey.Values(a, cachekey.Point(in.Point)); err != nil {
			return nil, nil, err
		}
	}
	return vals[0], vals[1], nil
}

// differing returns the sorted names of the attributes present in one
// map only or with other digests.
func differing(a, b map[string]string) []string {
	var d []string
	for _, k := range slices.Sorted(maps.Keys(a)) {
		if w, ok := b[k]; !ok || w != a[k] {
			d = append(d, k)
		}
	}
	for k := range b {
		if _, ok := a[k]; !ok {
			d = append(d, k)
		}
	}
	slices.Sort(d)
	return d
}
