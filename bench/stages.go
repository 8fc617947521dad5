package main

import (
	"fmt"
	"strconv"
	"strings"
)

// Where a split build's time goes: the log of a nix-build of the final
// stage holds the three stages' logs one after the other, each starting
// with the hook's "vanilla: STAGE stage:" line.

var stageMarkers = []struct{ prefix, stage string }{
	{"vanilla: vanilla stage:", "checkpoint"},
	{"vanilla: checkpoint stage:", "checkpoint"}, // the hook's line before it was renamed
	{"vanilla: unwrapped stage:", "unwrapped"},
	{"vanilla: final stage:", "final"},
}

// helperSteps are the helper's lines that log their own duration, and
// the row each goes to.
var helperSteps = []struct{ prefix, row string }{
	{"vanilla: unpacked the source again", "unpack again"},
	{"vanilla: restored ", "restore"},
	{"vanilla: saved ", "save"},
}

// endRow is the row of what comes after a stage's save.
const endRow = "(end)"

// stageTimes splits a split build's log into rows "STAGE: ROW": each
// phase from its "Running phase:" line to the next line that starts a
// phase or a stage or to the stage's save, less the helper steps logged
// inside it, which get rows of their own; "(start)" is what comes before
// the first stage (evaluation, instantiation); "STAGE: (setup)" what
// comes between a stage's first line and its first phase, less its
// helper steps (the shell state replayed, the snapshot); "STAGE: (end)"
// what comes after its save until the next stage's first line (the
// builder's exit, Nix registering the outputs, removing the build
// directory, the next sandbox).
func stageTimes(lines []timedLine, total float64) (phaseTimes, []string) {
	t := phaseTimes{}
	var order []string
	add := func(name string, sec float64) {
		if _, ok := t[name]; !ok {
			order = append(order, name)
		}
		t[name] += sec
	}
	stage, row, from, inside := "", startPhase, 0.0, 0.0
	closeRow := func(at float64) {
		name := row
		if stage != "" {
			name = stage + ": " + row
		}
		add(name, at-from-inside)
	}
	for _, l := range lines {
		for _, m := range stageMarkers {
			if strings.HasPrefix(l.text, m.prefix) {
				closeRow(l.at)
				stage, row, from, inside = m.stage, "(setup)", l.at, 0
			}
		}
		if n, ok := strings.CutPrefix(l.text, "Running phase: "); ok && stage != "" {
			closeRow(l.at)
			row, from, inside = strings.TrimSpace(n), l.at, 0
		}
		for _, h := range helperSteps {
			if !strings.HasPrefix(l.text, h.prefix) || stage == "" {
				continue
			}
			sec := lineSeconds(l.text)
			inside += sec
			if h.row == "save" {
				// A stage's last step: the phase it ends is closed
				// first, so that the rows keep the build's order, and
				// what follows until the next stage is Nix's.
				closeRow(l.at)
				row, from, inside = endRow, l.at, 0
			}
			if sec > 0 {
				add(stage+": "+h.row, sec)
			}
		}
	}
	closeRow(total)
	return t, order
}

// lineSeconds is the "N s" a helper line ends with, or 0.
func lineSeconds(line string) float64 {
	f := strings.Fields(line)
	if len(f) < 2 || f[len(f)-1] != "s" {
		return 0
	}
	v, _ := strconv.ParseFloat(f[len(f)-2], 64)
	return v
}

// stageOrder lists the rows by stage, each stage's rows in the order
// the build ran them.
func stageOrder(ts []phaseTimes, lines [][]string) []string {
	var out []string
	for _, ls := range lines {
		for _, n := range ls {
			if !contains(out, n) {
				out = append(out, n)
			}
		}
	}
	for _, p := range ts {
		for n := range p {
			if !contains(out, n) {
				out = append(out, n)
			}
		}
	}
	return out
}

// stageSection renders the split's breakdown for the scenarios the
// vanilla tool was measured in.
func stageSection(b *strings.Builder, r *result) {
	var cols []column
	for _, s := range []string{clean, postInstall, postFixup} {
		if len(r.phases[phaseKey(s, vanilla)]) > 0 {
			cols = append(cols, column{s, phaseKey(s, vanilla)})
		}
	}
	if len(cols) == 0 {
		return
	}
	var all []phaseTimes
	for _, c := range cols {
		all = append(all, r.phases[c.key]...)
	}
	order := stageOrder(all, r.stageRows)
	var whole []float64
	if ps := r.phases[phaseKey(clean, plain)]; len(ps) > 0 {
		key := phaseKey(clean, plain) + "/stages"
		r.phases[key] = nil
		for _, p := range ps {
			r.phases[key] = append(r.phases[key], plainAsStages(p))
		}
		cols = append([]column{{"plain, clean build", key}}, cols...)
		whole = append(whole, summarize(r.times[clean][plain]).median)
	}
	fmt.Fprintf(b, "\nWhere a split build's time goes (nix-vanilla, `vanillaPackage = true`): each row's median seconds. A phase runs from its `Running phase:` line to the next phase or stage, less the helper's own steps inside it (unpack again, restore, save: the seconds each logs), which have rows of their own; *(setup)* is the rest of a stage before its first phase (replaying the shell state, the snapshots); *(end)* runs from a stage's save to the next stage's first line: the builder's exit, Nix hashing and registering the stage's outputs (the checkpoint, with its source copy), removing the build directory, setting up the next sandbox; *(start)* is evaluation and instantiation. The unpack runs while the restore verifies the checkpoint; the restore's row is its time after the unpack. The plain build's phases stand in the rows of the stage that runs them in the split, for comparison.\n\n")
	for _, c := range cols[len(whole):] {
		s, _, _ := strings.Cut(c.key, "/")
		whole = append(whole, summarize(r.times[s][vanilla]).median)
	}
	phaseTable(b, r, "stage: step", order, cols, whole)
}

// plainAsStages names a plain build's phases as the rows of the split
// stage that runs them: stdenv's phases up to buildPhase in the vanilla
// stage ("checkpoint"), checkPhase and installPhase in the unwrapped
// stage, the rest in the final stage. A phase of the package's own
// (preBuildPhases and the like) counts as the vanilla stage's.
func plainAsStages(p phaseTimes) phaseTimes {
	out := phaseTimes{}
	for name, sec := range p {
		switch name {
		case startPhase:
			out[name] += sec
		case "checkPhase", "installPhase":
			out["unwrapped: "+name] += sec
		case "fixupPhase", "installCheckPhase", "distPhase":
			out["final: "+name] += sec
		default:
			out["checkpoint: "+name] += sec
		}
	}
	return out
}
