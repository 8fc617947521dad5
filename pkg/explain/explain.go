package explain

import (
	"fmt"
	"slices"

	"github.com/nix-vanilla/nix-vanilla/pkg/cachekey"
	"github.com/nix-vanilla/nix-vanilla/pkg/derivation"
)

// The stages of a split package, in build order, as their derivations'
// vanillaStage names them.
const (
	Vanilla   = "vanilla"   // unpack to buildPhase; its output is the checkpoint
	Unwrapped = "unwrapped" // postBuild to installPhase
	Final     = "final"     // fixupPhase on
)

// Stages lists the stages in build order.
var Stages = []string{Vanilla, Unwrapped, Final}

// Report explains what building NEW costs after OLD was built.
type Report struct {
	Old  string `json:"old"`
	New  string `json:"new"`
	Name string `json:"name"`
	// Split says both are split packages (vanillaPackage = true): their
	// final stages.
	Split bool `json:"split"`
	// Rebuild is, for a split pair, the first stage that rebuilds:
	// Vanilla (everything), Unwrapped (the checkpoint is reused) or
	// Final; "" when OLD and NEW are the same derivation. An unsplit
	// derivation rebuilds whole whenever it differs: Rebuild is Vanilla.
	Rebuild string `json:"rebuild"`
	// WouldRebuild is, for an unsplit pair, where the build would start
	// with vanillaPackage = true, by the classification the hook's cache
	// keys use (package cachekey): Unwrapped when only attributes of
	// postBuild to installPhase changed, Final when only later ones did.
	WouldRebuild string `json:"wouldRebuild,omitempty"`
	// Stages are the stages of a split pair, each with the differences
	// that first appear in it (an attribute every stage has is listed
	// once, in the earliest).
	Stages []StageDiff `json:"stages,omitempty"`
	// Diff is, for an unsplit pair, what differs; each change's Stage is
	// the stage it would rebuild from with vanillaPackage = true.
	Diff *Diff `json:"diff,omitempty"`
	// Mixed says one of the two is split and the other is not, or they
	// are different stages: nothing is reused.
	Mixed string `json:"mixed,omitempty"`
	// Stage is set when both are the same earlier stage of a split
	// package (pkg.vanilla, pkg.unwrapped): Diff says how they differ, as
	// for unsplit derivations, without WouldRebuild.
	Stage string `json:"stage,omitempty"`
	// Hook says both unsplit derivations use vanillaHook (an input
	// derivation named HookName): hook mode, where a build resumes from
	// the local cache at the point WouldRebuild names, if the cache holds
	// OLD's entry (Unwrapped: after buildPhase; Final: after
	// installPhase).
	Hook bool `json:"hook,omitempty"`
}

// HookName is the name of the setup hook's derivation (nix/hook.nix).
const HookName = "vanilla-hook"

// StageDiff is one stage of a split pair.
type StageDiff struct {
	Stage string `json:"stage"`
	Old   string `json:"old"`
	New   string `json:"new"`
	// Same says the stage's derivation is the same: it is not rebuilt.
	Same bool  `json:"same"`
	Diff *Diff `json:"diff,omitempty"`
}

// Explain compares the derivations at oldPath and newPath: for split
// packages stage by stage, for others attribute by attribute.
func Explain(oldPath, newPath string, opts Options) (*Report, error) {
	c := newComparer(opts)
	old, err := c.load(oldPath)
	if err != nil {
		return nil, err
	}
	nw, err := c.load(newPath)
	if err != nil {
		return nil, err
	}
	oa, err := Attrs(old)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", oldPath, err)
	}
	na, err := Attrs(nw)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", newPath, err)
	}
	r := &Report{Old: oldPath, New: newPath, Name: drvName(newPath, na)}
	os, ns := stageOf(oa), stageOf(na)
	switch {
	case os == Final && ns == Final:
		r.Split = true
		return r, c.explainSplit(r, old, nw)
	case os == ns && os != "":
		r.Stage = os
	case os != "" || ns != "":
		r.Mixed = fmt.Sprintf("OLD is %s, NEW is %s", describe(os), describe(ns))
	}
	if oldPath == newPath {
		return r, nil
	}
	r.Rebuild = Vanilla
	r.Diff, err = c.compare(oldPath, newPath, old, nw, c.depth, nil)
	if err != nil {
		return nil, err
	}
	if r.Mixed == "" && r.Stage == "" {
		r.Hook = hasHook(old) && hasHook(nw)
		if err := wouldRebuild(r, old, nw); err != nil {
			return nil, err
		}
	}
	return r, nil
}

func hasHook(d *derivation.Derivation) bool {
	return slices.ContainsFunc(d.InputDrvs, func(in derivation.InputDrv) bool { return pathName(in.Path) == HookName })
}

func describe(stage string) string {
	switch stage {
	case "":
		return "not split"
	case Final:
		return "a split package"
	}
	return "the " + stage + " stage of a split package"
}

// explainSplit finds the stages of both packages and compares them in
// build order.
func (c *comparer) explainSplit(r *Report, old, nw *derivation.Derivation) error {
	oldChain, err := c.chain(r.Old, old)
	if err != nil {
		return err
	}
	newChain, err := c.chain(r.New, nw)
	if err != nil {
		return err
	}
	stages := map[string]string{} // stage derivations -> stage name
	for i, st := range Stages {
		stages[oldChain[i]], stages[newChain[i]] = st, st
	}
	seenAttrs := map[string]bool{}
	seenInputs := map[[2]string]bool{}
	for i, st := range Stages {
		sd := StageDiff{Stage: st, Old: oldChain[i], New: newChain[i], Same: oldChain[i] == newChain[i]}
		if !sd.Same {
			od, err := c.load(sd.Old)
			if err != nil {
				return err
			}
			nd, err := c.load(sd.New)
			if err != nil {
				return err
			}
			d, err := c.compare(sd.Old, sd.New, od, nd, c.depth, stages)
			if err != nil {
				return err
			}
			d.Attrs = slices.DeleteFunc(d.Attrs, func(a AttrChange) bool { return seenAttrs[a.Name] })
			d.Inputs = slices.DeleteFunc(d.Inputs, func(in InputChange) bool { return seenInputs[[2]string{in.Old, in.New}] })
			for j := range d.Attrs {
				d.Attrs[j].Stage = st
				seenAttrs[d.Attrs[j].Name] = true
			}
			for j := range d.Inputs {
				d.Inputs[j].Stage = st
				seenInputs[[2]string{d.Inputs[j].Old, d.Inputs[j].New}] = true
			}
			sd.Diff = d
			if r.Rebuild == "" {
				r.Rebuild = st
			}
		}
		r.Stages = append(r.Stages, sd)
	}
	return nil
}

// chain returns the paths of the vanilla, unwrapped and final stages of
// the split package whose final stage is final: each stage names the
// previous one's checkpoint in vanillaFrom, an output of one of its input
// derivations.
func (c *comparer) chain(path string, final *derivation.Derivation) ([]string, error) {
	paths := []string{path}
	d := final
	for _, want := range []string{Unwrapped, Vanilla} {
		attrs, err := Attrs(d)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", paths[0], err)
		}
		from := attrs["vanillaFrom"]
		if from == "" {
			return nil, fmt.Errorf("%s: a %s stage without vanillaFrom", paths[0], attrs["vanillaStage"])
		}
		prev, pd, err := c.producer(d, from)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", paths[0], err)
		}
		pa, err := Attrs(pd)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", prev, err)
		}
		if got := stageOf(pa); got != want {
			return nil, fmt.Errorf("%s: vanillaFrom %s is an output of %s, whose vanillaStage is %q, not %q", paths[0], from, prev, got, want)
		}
		paths = append([]string{prev}, paths...)
		d = pd
	}
	return paths, nil
}

// producer returns the input derivation of d that has output path out.
func (c *comparer) producer(d *derivation.Derivation, out string) (string, *derivation.Derivation, error) {
	for _, in := range d.InputDrvs {
		if !slices.Contains(in.Outputs, "checkpoint") {
			continue
		}
		id, err := c.load(in.Path)
		if err != nil {
			return "", nil, err
		}
		for _, o := range id.Outputs {
			if o.Path == out {
				return in.Path, id, nil
			}
		}
	}
	return "", nil, fmt.Errorf("no input derivation has the output vanillaFrom names, %s", out)
}

// wouldRebuild fills in, for an unsplit pair, where a split build would
// start and each change's stage, from the keys of the hook's resume
// points: an attribute the build point's key covers is the vanilla
// stage's, one only the install point's covers the unwrapped stage's,
// the others the final stage's.
func wouldRebuild(r *Report, old, nw *derivation.Derivation) error {
	keys := map[cachekey.Point][2]*cachekey.Key{}
	for _, p := range []cachekey.Point{cachekey.Build, cachekey.Install} {
		var pair [2]*cachekey.Key
		for i, d := range []*derivation.Derivation{old, nw} {
			a, err := BuildAttrs(d)
			if err != nil {
				return err
			}
			if pair[i], err = cachekey.Compute(a, p); err != nil {
				return err
			}
		}
		keys[p] = pair
	}
	differs := func(p cachekey.Point, name string) bool {
		k := keys[p]
		o, inOld := k[0].Attrs[name]
		n, inNew := k[1].Attrs[name]
		return o != n || inOld != inNew
	}
	stageOf := func(name string) string {
		switch {
		case differs(cachekey.Build, name):
			return Vanilla
		case differs(cachekey.Install, name):
			return Unwrapped
		}
		return Final
	}
	switch {
	case keys[cachekey.Install][0].Sum == keys[cachekey.Install][1].Sum:
		r.WouldRebuild = Final
	case keys[cachekey.Build][0].Sum == keys[cachekey.Build][1].Sum:
		r.WouldRebuild = Unwrapped
	default:
		r.WouldRebuild = Vanilla
	}
	for i := range r.Diff.Attrs {
		r.Diff.Attrs[i].Stage = stageOf(r.Diff.Attrs[i].Name)
	}
	for i := range r.Diff.Inputs {
		in := &r.Diff.Inputs[i]
		in.Stage = Final
		for _, a := range in.UsedBy {
			if s := stageOf(a); slices.Index(Stages, s) < slices.Index(Stages, in.Stage) {
				in.Stage = s
			}
		}
	}
	return nil
}
