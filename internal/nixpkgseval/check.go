package nixpkgseval

import (
	"fmt"
	"reflect"
	"sort"
	"strings"
)

// Counts summarises a run.
type Counts struct {
	Attributes  int // names asked for
	Derivations int // evaluated to a derivation without the overlay
	Throws      int // threw an error tryEval catches, without the overlay
	Crashed     int // failed with an error tryEval cannot catch, without the overlay
	Changed     int // differ with the overlay (ZeroCostProblems)
	Split       int // split with the flag
	Unsplit     int // not split with the flag, with a reason
	Reasons     map[string]int
}

func (c Counts) String() string {
	var reasons []string
	for r, n := range c.Reasons {
		reasons = append(reasons, fmt.Sprintf("%d %s", n, r))
	}
	sort.Strings(reasons)
	s := fmt.Sprintf("%d attributes, %d derivations (%d throw, %d crash the evaluation), %d changed by the overlay",
		c.Attributes, c.Derivations, c.Throws, c.Crashed, c.Changed)
	if c.Split+c.Unsplit > 0 {
		s += fmt.Sprintf("; with the flag %d split, %d unsplit (%s)", c.Split, c.Unsplit, strings.Join(reasons, "; "))
	}
	return s
}

// Count tallies records (ZeroCostProblems gives Changed).
func Count(recs []Record) Counts {
	c := Counts{Attributes: len(recs), Reasons: map[string]int{}, Changed: len(ZeroCostProblems(recs))}
	for _, r := range recs {
		switch {
		case r.Crashed[PartPlain] != "":
			c.Crashed++
		case r.Plain != nil && r.Plain.Throws:
			c.Throws++
		case r.Plain != nil:
			c.Derivations++
		}
		if r.Flag == nil || r.Flag.Flagged.Throws {
			continue
		}
		if f := r.Flag.Flagged; f.Split {
			c.Split++
		} else if f.Unsplit != "" {
			c.Unsplit++
			c.Reasons[f.Unsplit]++
		}
	}
	return c
}

// ZeroCostProblems lists the attributes whose derivations (every output,
// and the output selected) differ with the overlay, or that evaluate
// without it and crash with it. An attribute whose evaluation crashes
// without the overlay has nothing to compare.
func ZeroCostProblems(recs []Record) []string {
	var problems []string
	for _, r := range recs {
		switch {
		case r.Crashed[PartPlain] != "":
			// It does not evaluate without the overlay: nothing to compare.
		case r.Crashed[PartOverlaid] != "":
			problems = append(problems, fmt.Sprintf("%s: evaluates without the overlay, crashes with it: %s", r.Name, r.Crashed[PartOverlaid]))
		case !reflect.DeepEqual(r.Plain, r.Overlaid):
			problems = append(problems, fmt.Sprintf("%s: %s without the overlay, %s with it", r.Name, describe(r.Plain), describe(r.Overlaid)))
		}
	}
	return problems
}

func describe(d *Drvs) string {
	switch {
	case d == nil:
		return "not a derivation"
	case d.Throws:
		return "throws"
	}
	return fmt.Sprintf("%s of %v", d.OutputName, d.Drvs)
}

// FlagProblems checks each derivation with overrideAttrs: with the flag it
// is split (the output the attribute selects, with stages of their own) or
// not split with an evaluation warning giving the reason; the stages have
// the final's values of the attributes stdenv adapters set; a postFixup
// change keeps both earlier stages; a postInstall change keeps the
// vanilla stage and changes the unwrapped one.
func FlagProblems(recs []Record) []string {
	var problems []string
	for _, r := range recs {
		if r.Crashed[PartFlag] != "" {
			problems = append(problems, fmt.Sprintf("%s: the flag crashes the evaluation: %s", r.Name, r.Crashed[PartFlag]))
			continue
		}
		if r.Flag == nil || r.Overlaid == nil || r.Overlaid.Throws {
			continue
		}
		for _, p := range flagProblems(r) {
			problems = append(problems, r.Name+": "+p)
		}
	}
	return problems
}

func flagProblems(r Record) []string {
	f, fix, inst := r.Flag.Flagged, r.Flag.Fixup, r.Flag.Install
	switch {
	case f.Throws || fix.Throws || inst.Throws:
		return []string{fmt.Sprintf("throws with the flag (flagged %v, postFixup %v, postInstall %v)", f.Throws, fix.Throws, inst.Throws)}
	case !f.Split && f.Unsplit == "":
		return []string{"the flag neither splits it nor warns why not"}
	case !f.Split:
		return warned(r, f)
	}
	var p []string
	if f.OutputName != r.Overlaid.OutputName {
		p = append(p, fmt.Sprintf("selects %s, with the flag %s", r.Overlaid.OutputName, f.OutputName))
	}
	if f.Vanilla == f.Final || f.Unwrapped == f.Final || f.Vanilla == f.Unwrapped || f.Vanilla == "" || f.Unwrapped == "" {
		p = append(p, fmt.Sprintf("stages are not distinct derivations: %s, %s, %s", f.Vanilla, f.Unwrapped, f.Final))
	}
	if len(f.Differ) > 0 {
		p = append(p, fmt.Sprintf("the stages' %v differ from the final's (a stdenv adapter applied twice?)", f.Differ))
	}
	if !fix.Split || fix.Vanilla != f.Vanilla || fix.Unwrapped != f.Unwrapped || fix.Final == f.Final {
		p = append(p, fmt.Sprintf("a postFixup change must change only the final stage: %+v, then %+v", f, fix))
	}
	if !inst.Split || inst.Vanilla != f.Vanilla || inst.Unwrapped == f.Unwrapped {
		p = append(p, fmt.Sprintf("a postInstall change must keep the vanilla stage and change the unwrapped one: %+v, then %+v", f, inst))
	}
	return p
}

// warned checks that an unsplit package printed the overlay's warning.
func warned(r Record, f Stages) []string {
	want := fmt.Sprintf("nix-vanilla: building %s unsplit: %s", f.Name, f.Unsplit)
	for _, w := range r.Warnings {
		if strings.Contains(w, want) {
			return nil
		}
	}
	return []string{fmt.Sprintf("not split (%s) and no warning %q among %q", f.Unsplit, want, r.Warnings)}
}
