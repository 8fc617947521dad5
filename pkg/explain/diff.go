package explain

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/nix-vanilla/nix-vanilla/pkg/derivation"
	"github.com/nix-vanilla/nix-vanilla/pkg/storepath"
)

// Diff is what differs between two derivations, less what only follows
// from other differences.
type Diff struct {
	Old  string `json:"old"`  // the old derivation's path
	New  string `json:"new"`  // the new one's
	Name string `json:"name"` // the new one's name, e.g. "hello-2.12"
	// Attrs are the attributes whose values differ other than by the
	// store paths of changed inputs and of the derivation's own outputs.
	Attrs []AttrChange `json:"attrs,omitempty"`
	// Inputs are the input derivations and sources added, removed or
	// changed; a stage of the same split package is not among them (see
	// Because).
	Inputs []InputChange `json:"inputs,omitempty"`
	// Fields are the other parts of the derivation that differ: "system",
	// "builder", "args", "outputs".
	Fields []FieldChange `json:"fields,omitempty"`
	// Consequences are the attributes whose values differ only by such
	// store paths: the outputs (out, dev…), vanillaFrom, a list naming a
	// changed input. They are not causes.
	Consequences []string `json:"consequences,omitempty"`
	// Because names the earlier stage of the same split package that
	// changed ("vanilla", "unwrapped"), when it is an input.
	Because string `json:"because,omitempty"`
}

// Empty reports whether the diff names no cause at all.
func (d *Diff) Empty() bool {
	return len(d.Attrs) == 0 && len(d.Inputs) == 0 && len(d.Fields) == 0 && d.Because == ""
}

// AttrChange is an attribute that changed.
type AttrChange struct {
	Name string `json:"name"`
	// Change is "changed", "added" or "removed".
	Change string `json:"change"`
	// Old and New are the values (one is empty when added or removed).
	Old string `json:"old,omitempty"`
	New string `json:"new,omitempty"`
	// Summary says briefly how it changed (see Summarize), or shows the
	// value added or removed (see Brief; quoted when it has spaces).
	Summary string `json:"summary"`
	// Stage is the earliest stage of the split the change rebuilds:
	// "vanilla" (everything), "unwrapped" or "final".
	Stage string `json:"stage,omitempty"`
}

// InputChange is an input derivation or source that changed.
type InputChange struct {
	// Kind is "derivation" or "source".
	Kind string `json:"kind"`
	// Name is the input's name (of the new one, when it changed).
	Name string `json:"name"`
	// OldName is the old one's name, when it differs ("zlib-1.3" for
	// Name "zlib-1.3.1").
	OldName string `json:"oldName,omitempty"`
	// Change is "changed", "added" or "removed".
	Change string `json:"change"`
	// Old and New are the paths (the .drv for a derivation).
	Old string `json:"old,omitempty"`
	New string `json:"new,omitempty"`
	// UsedBy are the attributes whose values name the input's outputs.
	UsedBy []string `json:"usedBy,omitempty"`
	// Stage is as AttrChange's.
	Stage string `json:"stage,omitempty"`
	// Why says why a changed input derivation changed, down to the depth
	// of the comparison; nil beyond it, for a source, or where Note says
	// why.
	Why *Diff `json:"why,omitempty"`
	// Note is NoteSeen, NoteDepth or why the derivations could not be
	// read.
	Note string `json:"note,omitempty"`
}

// Notes of an InputChange without Why.
const (
	// NoteSeen: the same pair of derivations was explained earlier in
	// the report.
	NoteSeen = "explained above"
	// NoteDepth: the comparison's depth was reached.
	NoteDepth = "not followed further (depth limit)"
)

// FieldChange is a part of the derivation other than its attributes and
// inputs that differs.
type FieldChange struct {
	Field string `json:"field"`
	Old   string `json:"old"`
	New   string `json:"new"`
}

// Options say how to compare.
type Options struct {
	// Read reads a derivation from its path; derivation.ReadFile if nil.
	Read func(path string) (*derivation.Derivation, error)
	// Depth is how many levels of changed input derivations are explained
	// below the derivations compared: 0 names them without saying why.
	Depth int
}

// comparer compares derivations, each pair once.
type comparer struct {
	read  func(string) (*derivation.Derivation, error)
	depth int
	seen  map[[2]string]bool
	cache map[string]*derivation.Derivation
}

func newComparer(opts Options) *comparer {
	c := &comparer{read: opts.Read, depth: opts.Depth, seen: map[[2]string]bool{}, cache: map[string]*derivation.Derivation{}}
	if c.read == nil {
		c.read = derivation.ReadFile
	}
	return c
}

func (c *comparer) load(p string) (*derivation.Derivation, error) {
	if d, ok := c.cache[p]; ok {
		return d, nil
	}
	d, err := c.read(p)
	if err != nil {
		return nil, err
	}
	c.cache[p] = d
	return d, nil
}

// Compare explains how the derivation at newPath differs from the one at
// oldPath, and why their changed inputs differ, to opts.Depth levels.
func Compare(oldPath, newPath string, opts Options) (*Diff, error) {
	c := newComparer(opts)
	old, err := c.load(oldPath)
	if err != nil {
		return nil, err
	}
	nw, err := c.load(newPath)
	if err != nil {
		return nil, err
	}
	return c.compare(oldPath, newPath, old, nw, c.depth, nil)
}

// compare compares old and nw. stages maps the paths of input
// derivations that are earlier stages of the same split package to the
// stage's name: they are consequences, named in Because.
func (c *comparer) compare(oldPath, newPath string, old, nw *derivation.Derivation, depth int, stages map[string]string) (*Diff, error) {
	c.seen[[2]string{oldPath, newPath}] = true
	oldAttrs, err := Attrs(old)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", oldPath, err)
	}
	newAttrs, err := Attrs(nw)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", newPath, err)
	}
	d := &Diff{Old: oldPath, New: newPath, Name: drvName(newPath, newAttrs)}

	// Old hashes that become new ones through a changed input or the
	// derivation's own outputs: values differing only by them are
	// consequences.
	hashes, paths := map[string]string{}, map[string]string{}
	mapHash := func(o, n string) { mapPath(hashes, paths, o, n) }
	for _, o := range old.Outputs {
		if n, ok := nw.Output(o.Name); ok {
			mapHash(o.Path, n.Path)
		}
	}
	drvs := pair(inputPaths(old), inputPaths(nw))
	outputs := map[string][]string{} // input drv path -> its output paths
	for _, p := range drvs.changed {
		od, oerr := c.load(p[0])
		nd, nerr := c.load(p[1])
		if oerr != nil || nerr != nil {
			continue
		}
		for _, o := range od.Outputs {
			if n, ok := nd.Output(o.Name); ok {
				mapHash(o.Path, n.Path)
			}
		}
		outputs[p[0]], outputs[p[1]] = outputPaths(od), outputPaths(nd)
	}
	srcs := pair(old.InputSrcs, nw.InputSrcs)
	for _, p := range srcs.changed {
		mapHash(p[0], p[1])
	}
	// Whole paths first: a renamed input (zlib-1.3 → zlib-1.3.1) differs
	// in more than its hash.
	var pairs []string
	for _, o := range slices.Sorted(maps.Keys(paths)) {
		pairs = append(pairs, o, paths[o])
	}
	for _, o := range slices.Sorted(maps.Keys(hashes)) {
		pairs = append(pairs, o, hashes[o])
	}
	rewrite := strings.NewReplacer(pairs...)

	d.Attrs, d.Consequences = compareAttrs(oldAttrs, newAttrs, rewrite)
	d.Fields = compareFields(old, nw, rewrite)

	usedBy := func(paths []string, attrs map[string]string) []string {
		var names []string
		for _, name := range slices.Sorted(maps.Keys(attrs)) {
			for _, p := range paths {
				if sp, err := storepath.Parse(p); err == nil && strings.Contains(attrs[name], sp.Hash) {
					names = append(names, name)
					break
				}
			}
		}
		return names
	}
	for _, p := range drvs.changed {
		if st, ok := stages[p[0]]; ok {
			d.Because = st
			continue
		}
		in := InputChange{Kind: "derivation", Change: "changed", Old: p[0], New: p[1],
			Name: drvName(p[1], nil), UsedBy: usedBy(outputs[p[1]], newAttrs)}
		if on := drvName(p[0], nil); on != in.Name {
			in.OldName = on
		}
		if err := c.follow(&in, depth); err != nil {
			in.Note = err.Error()
		}
		d.Inputs = append(d.Inputs, in)
	}
	for _, p := range drvs.added {
		d.Inputs = append(d.Inputs, InputChange{Kind: "derivation", Change: "added", New: p, Name: drvName(p, nil),
			UsedBy: usedBy(c.outputsOf(p), newAttrs)})
	}
	for _, p := range drvs.removed {
		d.Inputs = append(d.Inputs, InputChange{Kind: "derivation", Change: "removed", Old: p, Name: drvName(p, nil),
			UsedBy: usedBy(c.outputsOf(p), oldAttrs)})
	}
	for _, p := range srcs.changed {
		in := InputChange{Kind: "source", Change: "changed", Old: p[0], New: p[1], Name: pathName(p[1]),
			UsedBy: usedBy([]string{p[1]}, newAttrs)}
		if on := pathName(p[0]); on != in.Name {
			in.OldName = on
		}
		d.Inputs = append(d.Inputs, in)
	}
	for _, p := range srcs.added {
		d.Inputs = append(d.Inputs, InputChange{Kind: "source", Change: "added", New: p, Name: pathName(p), UsedBy: usedBy([]string{p}, newAttrs)})
	}
	for _, p := range srcs.removed {
		d.Inputs = append(d.Inputs, InputChange{Kind: "source", Change: "removed", Old: p, Name: pathName(p), UsedBy: usedBy([]string{p}, oldAttrs)})
	}
	return d, nil
}

// follow fills in why a changed input derivation changed, or a note.
func (c *comparer) follow(in *InputChange, depth int) error {
	switch {
	case c.seen[[2]string{in.Old, in.New}]:
		in.Note = NoteSeen
		return nil
	case depth <= 0:
		in.Note = NoteDepth
		return nil
	}
	od, err := c.load(in.Old)
	if err != nil {
		return err
	}
	nd, err := c.load(in.New)
	if err != nil {
		return err
	}
	in.Why, err = c.compare(in.Old, in.New, od, nd, depth-1, nil)
	return err
}

func (c *comparer) outputsOf(p string) []string {
	d, err := c.load(p)
	if err != nil {
		return nil
	}
	return outputPaths(d)
}

func outputPaths(d *derivation.Derivation) []string {
	var ps []string
	for _, o := range d.Outputs {
		ps = append(ps, o.Path)
	}
	return ps
}

func inputPaths(d *derivation.Derivation) []string {
	var ps []string
	for _, in := range d.InputDrvs {
		ps = append(ps, in.Path)
	}
	return ps
}

// mapPath records that store path old becomes nw, and its hash nw's.
func mapPath(hashes, paths map[string]string, old, nw string) {
	o, err1 := storepath.Parse(old)
	n, err2 := storepath.Parse(nw)
	if err1 == nil && err2 == nil && o.Hash != n.Hash {
		hashes[o.Hash] = n.Hash
		paths[old] = nw
	}
}

func compareAttrs(old, nw map[string]string, rewrite *strings.Replacer) (changes []AttrChange, consequences []string) {
	names := slices.Sorted(maps.Keys(old))
	for n := range nw {
		if _, ok := old[n]; !ok {
			names = append(names, n)
		}
	}
	slices.Sort(names)
	for _, n := range names {
		o, inOld := old[n]
		v, inNew := nw[n]
		switch {
		case !inOld:
			changes = append(changes, AttrChange{Name: n, Change: "added", New: v, Summary: whole(v)})
		case !inNew:
			changes = append(changes, AttrChange{Name: n, Change: "removed", Old: o, Summary: whole(o)})
		case o == v:
		case rewrite.Replace(o) == v:
			consequences = append(consequences, n)
		default:
			changes = append(changes, AttrChange{Name: n, Change: "changed", Old: o, New: v, Summary: summarize(rewrite.Replace(o), v, isCode(n))})
		}
	}
	return changes, consequences
}

func compareFields(old, nw *derivation.Derivation, rewrite *strings.Replacer) []FieldChange {
	var fs []FieldChange
	add := func(field, o, n string) {
		if rewrite.Replace(o) != n {
			fs = append(fs, FieldChange{Field: field, Old: o, New: n})
		}
	}
	add("system", old.System, nw.System)
	add("builder", old.Builder, nw.Builder)
	add("args", strings.Join(old.Args, " "), strings.Join(nw.Args, " "))
	outs := func(d *derivation.Derivation) string {
		var s []string
		for _, o := range d.Outputs {
			s = append(s, strings.TrimSuffix(strings.Join([]string{o.Name, o.HashAlgo, o.Hash}, ":"), "::"))
		}
		return strings.Join(s, " ")
	}
	add("outputs", outs(old), outs(nw))
	return fs
}

// pairing is two lists of store paths matched by name.
type pairing struct {
	changed        [][2]string
	added, removed []string
}

// pair matches old and new store paths: equal paths are unchanged; of
// the rest, those with the same name, then those whose names differ only
// in the version (zlib-1.3, zlib-1.3.1), are changed; the others were
// added or removed.
func pair(old, nw []string) pairing {
	var p pairing
	rest := func(a, b []string) []string {
		var r []string
		for _, x := range a {
			if !slices.Contains(b, x) {
				r = append(r, x)
			}
		}
		return r
	}
	o, n := rest(old, nw), rest(nw, old)
	for _, key := range []func(string) string{pathName, func(s string) string { return pname(pathName(s)) }} {
		var keptO []string
		for _, x := range o {
			i := slices.IndexFunc(n, func(y string) bool { return key(y) == key(x) })
			if i < 0 {
				keptO = append(keptO, x)
				continue
			}
			p.changed = append(p.changed, [2]string{x, n[i]})
			n = slices.Delete(n, i, i+1)
		}
		o = keptO
	}
	p.removed, p.added = o, n
	return p
}

// pathName is a store path's name, without .drv.
func pathName(p string) string {
	sp, err := storepath.Parse(p)
	if err != nil {
		return p
	}
	return strings.TrimSuffix(sp.Name, ".drv")
}

// drvName is a derivation's name: its name attribute, else its path's.
func drvName(p string, attrs map[string]string) string {
	if n := attrs["name"]; n != "" {
		return n
	}
	return pathName(p)
}

// pname is a name without its version, as nixpkgs' parseDrvName splits
// it: the version starts at the first dash followed by a digit.
func pname(name string) string {
	for i := 0; i+1 < len(name); i++ {
		if name[i] == '-' && name[i+1] >= '0' && name[i+1] <= '9' {
			return name[:i]
		}
	}
	return name
}
