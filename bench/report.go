package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"time"
)

// summary is the median and spread of some samples.
type summary struct{ median, min, max float64 }

func summarize(xs []float64) summary {
	if len(xs) == 0 {
		return summary{}
	}
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	m := s[len(s)/2]
	if len(s)%2 == 0 {
		m = (s[len(s)/2-1] + s[len(s)/2]) / 2
	}
	return summary{m, s[0], s[len(s)-1]}
}

func (s summary) seconds() string {
	if s.min == s.max {
		return fmt.Sprintf("%.1f s", s.median)
	}
	return fmt.Sprintf("%.1f s (%.1f–%.1f)", s.median, s.min, s.max)
}

// times formats a/b of two medians of short durations as a factor.
func times(a, b summary) string {
	if b.median == 0 {
		return fmt.Sprintf("%.2f s / –", a.median)
	}
	return fmt.Sprintf("%.2f s / %.2f s = %.2f×", a.median, b.median, a.median/b.median)
}

// ratio formats a/b as a percentage.
func ratio(a, b float64) string {
	if b == 0 {
		return "–"
	}
	return fmt.Sprintf("%.1f %%", 100*a/b)
}

func mb(n int64) string {
	if n < 10e6 {
		return fmt.Sprintf("%.2f MB", float64(n)/1e6)
	}
	return fmt.Sprintf("%.0f MB", float64(n)/1e6)
}

// report renders the results as Markdown.
func report(results []*result, reps int, took time.Duration) string {
	var b strings.Builder
	fmt.Fprintf(&b, "# nix-vanilla bench\n\n%s. %d repetition(s) of each build, median and (min–max); the whole run took %s.\n\n",
		machine(), reps, took.Round(time.Second))
	b.WriteString("A *plain* build has no checkpoint: a late change rebuilds it whole, so its late-change cells repeat its clean build. " +
		"*checkpointBuildTools* is nixpkgs' `prepareCheckpointBuild` (clean) and `mkCheckpointBuild` (changes), which reruns every phase on the saved build tree. " +
		"*-unwrapped + symlinkJoin* is the split nixpkgs writes by hand: the workload without its wrapper as `NAME-unwrapped`, and a derivation that links it and wraps the program (the postFixup change goes to that wrapper). " +
		"*vanillaHook (hook mode)* is the package with `vanillaHook` in nativeBuildInputs and a local cache (`vanillaCacheDir`, docs/cache.md), new and empty for each repetition, in TMPDIR: its clean build is the first (a miss that stores both resume points), its late changes resume from it; its first build is paired with the plain build (alternate order) and its ratios are over the plain build of the same repetition. " +
		"Every workload wraps one of its programs with a small Python library on PYTHONPATH (propagated, declared in `vanillaLateInputs`); *wrapping dependency changed* bumps that library's version.\n\n")
	for _, r := range results {
		fmt.Fprintf(&b, "## %s\n\n%s.\n\n", r.workload.name, r.workload.what)
		if r.done > 0 && r.done < reps {
			fmt.Fprintf(&b, "**%d of %d repetitions** (written before the run ended).\n\n", r.done, reps)
		}
		if len(r.load) > 0 {
			fmt.Fprintf(&b, "Load average (1, 5, 15 min) at the start of each repetition: %s.\n\n", strings.Join(r.load, "; "))
		}
		scenarioTable(&b, r, reps)
		measures(&b, r)
		stageSection(&b, r)
		hookSection(&b, r)
	}
	b.WriteString("Not measured yet: P6 (a one-file source change, incremental against checkpointBuildTools), which waits for the issue that adds it.\n\n![rebuild times](results.png)\n")
	return b.String()
}

// measured reports whether any tool has a time or a failure for s.
func measured(r *result, s string) bool {
	for _, t := range tools[1:] {
		if len(r.times[s][t]) > 0 || r.failed[s][t] != "" {
			return true
		}
	}
	return false
}

// toolMeasured reports whether tool t has a time or a failure in any
// scenario of r.
func toolMeasured(r *result, t string) bool {
	for _, s := range scenarios {
		if len(r.times[s][t]) > 0 || r.failed[s][t] != "" {
			return true
		}
	}
	return false
}

// shownTools are the plain build and the tools measured in r: a table's
// columns.
func shownTools(r *result) []string {
	shown := []string{plain}
	for _, t := range tools[1:] {
		if toolMeasured(r, t) {
			shown = append(shown, t)
		}
	}
	return shown
}

// scenarioTable writes the times of each scenario and tool, as a share of
// the plain clean build, and the failures under it.
func scenarioTable(b *strings.Builder, r *result, reps int) {
	plainClean := summarize(r.times[clean][plain]).median
	shown := shownTools(r)
	fmt.Fprintf(b, "| scenario | %s |\n| --- |%s\n", strings.Join(shown, " | "), strings.Repeat(" --- |", len(shown)))
	var notes []string
	note := func(n string) string {
		for i, x := range notes {
			if x == n {
				return fmt.Sprintf("(%d)", i+1)
			}
		}
		notes = append(notes, n)
		return fmt.Sprintf("(%d)", len(notes))
	}
	for _, s := range scenarios {
		if s != clean && !measured(r, s) {
			continue
		}
		cells := []string{s, summarize(r.times[clean][plain]).seconds()}
		for _, t := range shown[1:] {
			xs := r.times[s][t]
			if t == join && s == postInstall {
				xs = r.times[clean][join]
			}
			c := summarize(xs)
			cell := fmt.Sprintf("%s = %s", c.seconds(), ratio(c.median, plainClean))
			switch why := r.failed[s][t]; {
			case why != "" && len(xs) > 0:
				cell = fmt.Sprintf("%s; fails %d of %d times %s", cell, reps-len(xs), reps, note(fmt.Sprintf("%s, %s: `%s`", t, s, why)))
			case why != "":
				cell = "fails " + note(fmt.Sprintf("%s, %s: `%s`", t, s, why))
			case len(xs) == 0:
				cell = "–"
			case t == join && s == postInstall:
				cell += " " + note("-unwrapped + symlinkJoin, postInstall changed: its clean build, not built again: postInstall is part of the unwrapped derivation, so a change to it rebuilds both derivations")
			}
			cells = append(cells, cell)
		}
		fmt.Fprintf(b, "| %s |\n", strings.Join(cells, " | "))
	}
	for i, n := range notes {
		fmt.Fprintf(b, "\n(%d) %s", i+1, n)
	}
	if len(notes) > 0 {
		b.WriteString("\n")
	}
}

// share formats the median of a scenario of nix-vanilla over the plain
// clean build, or says that it was not measured.
func share(r *result, s string, plainClean float64) string {
	if len(r.times[s][vanilla]) == 0 {
		return "not measured"
	}
	return ratio(summarize(r.times[s][vanilla]).median, plainClean)
}

// measures writes the goals' measures and the checkpoint's figures, for
// nix-vanilla's split if it was measured.
func measures(b *strings.Builder, r *result) {
	if !toolMeasured(r, vanilla) {
		return
	}
	plainClean := summarize(r.times[clean][plain]).median
	st := r.stats
	tree := st.Bytes + st.PristineBytes
	save, restore, unpack := summarize(r.saveSec), summarize(r.restoreSec), summarize(r.unpackSec)
	tarS, cpS, untarS := summarize(r.tarSec), summarize(r.cpSec), summarize(r.untarSec)
	fmt.Fprintf(b, "\n| measure | value | goal |\n| --- | --- | --- |\n")
	fmt.Fprintf(b, "| P1 postFixup change / plain build | %s | ≤ 2 %% |\n", share(r, postFixup, plainClean))
	fmt.Fprintf(b, "| P2 postInstall change / plain build | %s | ≤ 10 %% |\n", share(r, postInstall, plainClean))
	fmt.Fprintf(b, "| P3 clean split build / plain build | %s | ≤ 105 %% |\n", share(r, clean, plainClean))
	fmt.Fprintf(b, "| P3 per repetition: clean split / plain build of the same repetition, wall | %s | ≤ 105 %% |\n", paired(r.times[clean][plain], r.times[clean][vanilla]))
	fmt.Fprintf(b, "| P3 per repetition, CPU time (user + system) | %s | |\n", paired(r.cpu[clean][plain], r.cpu[clean][vanilla]))
	fmt.Fprintf(b, "| wrapping dependency change / plain build | %s | |\n", share(r, wrapDep, plainClean))
	fmt.Fprintf(b, "| P4 checkpoint / build tree (%s in %d files) | %s / %s = %s | |\n", mb(tree), st.Files+st.Pristine, mb(st.Compressed), mb(tree), ratio(float64(st.Compressed), float64(tree)))
	fmt.Fprintf(b, "| P4 checkpoint / generated bytes (%d files) | %s / %s = %s | |\n", st.Files, mb(st.Compressed), mb(st.Bytes), ratio(float64(st.Compressed), float64(st.Bytes)))
	fmt.Fprintf(b, "| P5 checkpoint write / `tar \\| zstd -T0` of the same files | %s | ≤ 1.0× |\n", times(save, tarS))
	fmt.Fprintf(b, "| P5 checkpoint restore / `zstd -d \\| tar -x` of the same files | %s | ≤ 1.2× |\n", times(restore, untarS))
	fmt.Fprintf(b, "| checkpoint restore / `cp -a` of the same files | %s | |\n", times(restore, cpS))
	fmt.Fprintf(b, "| unpacking the source again (unwrapped stage) | %s | |\n", unpack.seconds())
	fmt.Fprintf(b, "| store-hash rewrite throughput / plain read of the same files | %.0f MB/s / %.0f MB/s | |\n\n", r.rewriteMBs, r.readMBs)
}

// machine describes where the bench ran.
func machine() string {
	mem := ""
	if data, err := os.ReadFile("/proc/meminfo"); err == nil {
		var kb int64
		fmt.Sscanf(strings.SplitN(string(data), "\n", 2)[0], "MemTotal: %d kB", &kb)
		mem = fmt.Sprintf(", %.0f GiB", float64(kb)/(1<<20))
	}
	tmp := os.Getenv("TMPDIR")
	if tmp == "" {
		tmp = "/tmp"
	}
	fs := "?"
	if out, err := exec.Command("df", "--output=fstype", tmp).Output(); err == nil {
		if f := strings.Fields(string(out)); len(f) > 1 {
			fs = f[1]
		}
	}
	nix, _ := exec.Command("nix-build", "--version").Output()
	return fmt.Sprintf("Measured %s on %d cores%s, build directories in %s (%s), %s",
		time.Now().UTC().Format("2006-01-02"), runtime.NumCPU(), mem, tmp, fs, strings.TrimSpace(string(nix)))
}

// plot draws the rebuild times with gnuplot: one group of bars per
// workload and scenario, one bar per tool, seconds on a log scale.
func plot(results []*result, dir string) error {
	var data strings.Builder
	groups := 0
	var plotted []string
	for _, t := range tools {
		for _, r := range results {
			if t == plain || toolMeasured(r, t) {
				plotted = append(plotted, t)
				break
			}
		}
	}
	var labels strings.Builder
	for _, r := range results {
		for _, s := range scenarios {
			if s != clean && !measured(r, s) {
				continue
			}
			labels.WriteString(failedLabels(r, s, groups, plotted))
			groups++
			fmt.Fprintf(&data, "\"%s\\n%s\"", r.workload.name, strings.Replace(s, " changed", "\\nchanged", 1))
			for _, t := range plotted {
				xs := r.times[s][t]
				if t == plain || (t == join && s == postInstall) {
					xs = r.times[clean][t]
				}
				fmt.Fprintf(&data, " %.2f", max(summarize(xs).median, 0.01))
			}
			data.WriteString("\n")
		}
	}
	datFile := filepath.Join(dir, "results.dat")
	if err := os.WriteFile(datFile, []byte(data.String()), 0o644); err != nil {
		return err
	}
	width := 300 + 150*groups
	script := fmt.Sprintf(`set terminal pngcairo size %d,520 font ",10"
set output %q
set title "Rebuild time per scenario (median, log scale)"
set ylabel "seconds"
set logscale y
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.85 border -1
set boxwidth 0.9
set key top right
set xtics rotate by 0 font ",8"
set bmargin 5
set grid ytics
%splot %s
`, width, filepath.Join(dir, "results.png"), labels.String(), plotColumns(datFile, plotted))
	cmd := exec.Command("gnuplot")
	cmd.Stdin = strings.NewReader(script)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("gnuplot: %v\n%s", err, out)
	}
	return os.Remove(datFile)
}

// failedLabels returns gnuplot commands that write "failed" where the bar
// of a tool whose build failed in scenario s would stand (its height is
// the plot's floor): group is the bar group's index, in a clustered
// histogram with one bar per plotted tool and a gap of one.
func failedLabels(r *result, s string, group int, plotted []string) string {
	var b strings.Builder
	n := float64(len(plotted))
	for i, t := range plotted {
		if r.failed[s][t] == "" || len(r.times[s][t]) > 0 {
			continue
		}
		x := float64(group) + (float64(i)-(n-1)/2)/(n+1)
		fmt.Fprintf(&b, "set label \"failed\" at %.3f,0.012 left rotate by 90 font \",8\" textcolor rgb %q\n", x, plotColors[t])
	}
	return b.String()
}

// plotColors are the tools' colours in the plot.
var plotColors = map[string]string{plain: "#888888", vanilla: "#2a7ab0", cbt: "#d08030", join: "#60a050", hooked: "#a050a0"}

// plotColumns is gnuplot's plot command for the data file's columns, one
// per tool.
func plotColumns(datFile string, plotted []string) string {
	var cols []string
	for i, t := range plotted {
		src := "''"
		using := fmt.Sprintf("%d", i+2)
		if i == 0 {
			src, using = fmt.Sprintf("%q", datFile), using+":xtic(1)"
		}
		cols = append(cols, fmt.Sprintf("%s using %s title %q lc rgb %q", src, using, t, plotColors[t]))
	}
	return strings.Join(cols, ", ")
}

// pairedShare formats hook-mode build s over the plain clean build of the
// same repetition: the median of those ratios, their spread and how many.
func pairedShare(r *result, s string) string {
	return paired(r.times[clean][plain], r.times[s][hooked])
}

// paired formats the median, spread and number of the ratios h[i]/p[i]:
// the ratio per repetition, of builds that ran next to each other.
func paired(p, h []float64) string {
	var ratios []float64
	for i := 0; i < len(p) && i < len(h); i++ {
		ratios = append(ratios, 100*h[i]/p[i])
	}
	if len(ratios) == 0 {
		return "not measured"
	}
	sum := summarize(ratios)
	n := fmt.Sprintf("%d pairs", len(ratios))
	if len(ratios) == 1 {
		return fmt.Sprintf("%.1f %%, 1 pair", sum.median)
	}
	return fmt.Sprintf("%.1f %% (%.1f–%.1f), %s", sum.median, sum.min, sum.max, n)
}

// hookScenarios are the hook mode's builds in the order they run.
var hookScenarios = []string{clean, postInstall, postFixup, wrapDep}

// hookSection writes the hook mode's measures and where its time goes: the
// phases of its builds next to the plain build's, what it stored and
// restored, and what the cache decided.
func hookSection(b *strings.Builder, r *result) {
	if !toolMeasured(r, hooked) {
		return
	}
	fmt.Fprintf(b, "\n| hook mode, paired with the plain build of each repetition | median (min–max) of the ratios | goal |\n| --- | --- | --- |\n")
	fmt.Fprintf(b, "| H1 first hooked build (cold cache) / plain build | %s | ≤ 105 %% |\n", pairedShare(r, clean))
	fmt.Fprintf(b, "| H2 postInstall change, next invocation / plain build | %s | ≤ 10 %% |\n", pairedShare(r, postInstall))
	fmt.Fprintf(b, "| H3 postFixup change, next invocation / plain build | %s | ≤ 2 %% |\n", pairedShare(r, postFixup))
	if len(r.times[wrapDep][hooked]) > 0 {
		fmt.Fprintf(b, "| wrapping dependency change, next invocation / plain build | %s | |\n", pairedShare(r, wrapDep))
	}
	if len(r.cpu[clean][plain]) > 0 {
		var cells []string
		for _, s := range hookScenarios {
			if len(r.cpu[s][hooked]) > 0 {
				cells = append(cells, fmt.Sprintf("%s %s", orFirstBuild(s), paired(r.cpu[clean][plain], r.cpu[s][hooked])))
			}
		}
		fmt.Fprintf(b, "| CPU seconds (user + system), hooked / plain: %s; plain build %s CPU | | |\n",
			strings.Join(cells, "; "), summarize(r.cpu[clean][plain]).seconds())
	}

	// The phases, in the order they first appear.
	cols := []column{{"plain", phaseKey(clean, plain)}}
	for _, s := range hookScenarios {
		if len(r.phases[phaseKey(s, hooked)]) > 0 {
			title := "hooked, first build"
			if s != clean {
				title = "hooked, " + s
			}
			cols = append(cols, column{title, phaseKey(s, hooked)})
		}
	}
	var order []string
	for _, c := range cols {
		for _, p := range r.phases[c.key] {
			for _, name := range phaseOrder(p) {
				if !contains(order, name) {
					order = append(order, name)
				}
			}
		}
	}
	fmt.Fprintf(b, "\nWhere the time goes: each phase's median seconds, from its `Running phase:` log line to the next; *(start)* is evaluation, instantiation and the cache lookup; a resumed build's restore is in its unpackPhase.\n\n")
	whole := []float64{summarize(r.times[clean][plain]).median}
	for _, s := range hookScenarios {
		if len(r.phases[phaseKey(s, hooked)]) > 0 {
			whole = append(whole, summarize(r.times[s][hooked]).median)
		}
	}
	phaseTable(b, r, "phase", order, cols, whole)

	// What was stored, restored, decided.
	stored := map[string][]float64{}
	size := map[string]string{}
	var points []string
	restored := map[string][]float64{}
	decisions := map[string]map[string]int{}
	for _, h := range r.hook {
		for _, e := range h.stored {
			if !contains(points, e.point) {
				points = append(points, e.point)
			}
			stored[e.point] = append(stored[e.point], e.sec)
			size[e.point] = e.size
		}
		if strings.HasPrefix(h.decision, "hit") {
			restored[h.scenario] = append(restored[h.scenario], h.restoreSec)
		}
		if decisions[h.scenario] == nil {
			decisions[h.scenario] = map[string]int{}
		}
		d := h.decision
		if h.missWhy != "" {
			d += " (" + h.missWhy + ")"
		}
		decisions[h.scenario][d]++
	}
	for _, pt := range points {
		fmt.Fprintf(b, "- stored %s: %s; %s from the log line before it (the store, and what the phase did after its last line)\n",
			pt, size[pt], summarize(stored[pt]).seconds())
	}
	for _, s := range hookScenarios {
		if len(decisions[s]) == 0 {
			continue
		}
		var ds []string
		for d, n := range decisions[s] {
			ds = append(ds, fmt.Sprintf("%s ×%d", d, n))
		}
		sort.Strings(ds)
		line := fmt.Sprintf("- %s: %s", orFirstBuild(s), strings.Join(ds, ", "))
		if xs := restored[s]; len(xs) > 0 {
			line += fmt.Sprintf("; restore %s (as it logs it)", summarize(xs).seconds())
		}
		fmt.Fprintf(b, "%s\n", line)
	}
	b.WriteString("\n")
}

// phaseOrder lists a build's phases in the order they ran: the start first,
// then as they appear (phaseTimes keeps no order: by name, the usual ones
// in stdenv's order).
func phaseOrder(p phaseTimes) []string {
	known := []string{startPhase, "unpackPhase", "patchPhase", "updateAutotoolsGnuConfigScriptsPhase", "autoreconfPhase", "configurePhase", "buildPhase", "checkPhase", "installPhase", "fixupPhase", "installCheckPhase", "distPhase"}
	var out []string
	for _, k := range known {
		if _, ok := p[k]; ok {
			out = append(out, k)
		}
	}
	var rest []string
	for k := range p {
		if !contains(known, k) {
			rest = append(rest, k)
		}
	}
	sort.Strings(rest)
	return append(out, rest...)
}

// A column of a phase table: its title and the key of its builds in
// result.phases.
type column struct{ title, key string }

// phaseTable writes a table of each row's median seconds over the
// builds of each column, and a last row of the whole builds' medians.
func phaseTable(b *strings.Builder, r *result, first string, rows []string, cols []column, whole []float64) {
	titles := make([]string, len(cols))
	for i, c := range cols {
		titles[i] = c.title
	}
	fmt.Fprintf(b, "| %s | %s |\n| --- |%s\n", first, strings.Join(titles, " | "), strings.Repeat(" ---: |", len(cols)))
	for _, name := range rows {
		cells := []string{name}
		for _, c := range cols {
			var xs []float64
			for _, p := range r.phases[c.key] {
				if v, ok := p[name]; ok {
					xs = append(xs, v)
				}
			}
			if len(xs) == 0 {
				cells = append(cells, "–")
			} else {
				cells = append(cells, fmt.Sprintf("%.1f", summarize(xs).median))
			}
		}
		fmt.Fprintf(b, "| %s |\n", strings.Join(cells, " | "))
	}
	cells := []string{"nix-build, whole"}
	for _, w := range whole {
		cells = append(cells, fmt.Sprintf("%.1f", w))
	}
	fmt.Fprintf(b, "| %s |\n\n", strings.Join(cells, " | "))
}

func orFirstBuild(s string) string {
	if s == clean {
		return "first build"
	}
	return s
}
