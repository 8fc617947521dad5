package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestFailure(t *testing.T) {
	tests := []struct{ log, want string }{
		{"cc -c x.c\nmake[1]: *** No rule to make target 'x'.  Stop.\nmake: *** [all] Error 2\nerror: builder failed",
			"make[1]: *** No rule to make target 'x'.  Stop."},
		{"nix-build x: exit status 1\nerror: builder for 'y' failed with exit code 1", "error: builder for 'y' failed with exit code 1"},
		{"something\nlast words\n", "last words"},
	}
	for _, tt := range tests {
		if got := failure(tt.log); got != tt.want {
			t.Errorf("failure(%q) = %q, want %q", tt.log, got, tt.want)
		}
	}
}

// TestReportFailures checks that failed checkpointBuildTools builds show
// as failures with their reason, not as times.
func TestReportFailures(t *testing.T) {
	r := &result{
		workload: workload{name: "w", what: "a workload"},
		times: map[string]map[string][]float64{
			clean:       {plain: {10, 11, 12}, vanilla: {10, 10, 10}, cbt: {11, 11, 11}},
			postFixup:   {vanilla: {1, 1, 1}, cbt: {9}},
			postInstall: {vanilla: {2, 2, 2}},
		},
		failed: map[string]map[string]string{
			clean:       {},
			postFixup:   {cbt: "make: *** oops"},
			postInstall: {cbt: "make: *** again"},
		},
	}
	md := report([]*result{r}, 3, time.Minute)
	for _, want := range []string{
		"| postFixup changed | 11.0 s (10.0–12.0) | 1.0 s = 9.1 % | 9.0 s = 81.8 %; fails 2 of 3 times (1) |",
		"| postInstall changed | 11.0 s (10.0–12.0) | 2.0 s = 18.2 % | fails (2) |",
		"(1) checkpointBuildTools, postFixup changed: `make: *** oops`",
		"(2) checkpointBuildTools, postInstall changed: `make: *** again`",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("report lacks %q:\n%s", want, md)
		}
	}
}

// TestReportWrapping checks the hand-written split's column and the
// wrapping dependency's row: its postInstall cell is its clean build,
// marked so, and a scenario that was not run has no row.
func TestReportWrapping(t *testing.T) {
	r := &result{
		workload: workload{name: "w", what: "a workload"},
		times: map[string]map[string][]float64{
			clean:   {plain: {20}, vanilla: {21}, cbt: {22}, join: {20.5}},
			wrapDep: {vanilla: {1}, cbt: {15}, join: {0.5}},
		},
		failed: map[string]map[string]string{},
	}
	md := report([]*result{r}, 1, time.Minute)
	for _, want := range []string{
		"| scenario | plain | nix-vanilla | checkpointBuildTools | -unwrapped + symlinkJoin |",
		"| clean build | 20.0 s | 21.0 s = 105.0 % | 22.0 s = 110.0 % | 20.5 s = 102.5 % |",
		"| wrapping dependency changed | 20.0 s | 1.0 s = 5.0 % | 15.0 s = 75.0 % | 0.5 s = 2.5 % |",
		"| wrapping dependency change / plain build | 5.0 % | |",
		"| P1 postFixup change / plain build | not measured | ≤ 2 % |",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("report lacks %q:\n%s", want, md)
		}
	}
	if strings.Contains(md, "| postFixup changed |") {
		t.Errorf("report has a row for a scenario that was not run:\n%s", md)
	}

	r.times[postInstall] = map[string][]float64{vanilla: {2}, cbt: {16}}
	md = report([]*result{r}, 1, time.Minute)
	want := "| postInstall changed | 20.0 s | 2.0 s = 10.0 % | 16.0 s = 80.0 % | 20.5 s = 102.5 % (1) |"
	if !strings.Contains(md, want) || !strings.Contains(md, "(1) -unwrapped + symlinkJoin, postInstall changed: its clean build") {
		t.Errorf("report lacks %q and its note:\n%s", want, md)
	}
}

func TestChooseScenarios(t *testing.T) {
	tests := []struct {
		flag string
		want []string
		err  bool
	}{
		{"", []string{postFixup, postInstall, wrapDep}, false},
		{"wrapdep", []string{wrapDep}, false},
		{"fixup,install", []string{postFixup, postInstall}, false},
		{"clean", nil, true},
	}
	for _, tt := range tests {
		got, err := chooseScenarios(tt.flag)
		if (err != nil) != tt.err || strings.Join(got, ",") != strings.Join(tt.want, ",") {
			t.Errorf("chooseScenarios(%q) = %q, %v; want %q, error %v", tt.flag, got, err, tt.want, tt.err)
		}
	}
}

func TestSteps(t *testing.T) {
	var got []string
	for _, st := range steps([]string{wrapDep}, []string{plain, vanilla, cbt, join}, 1) {
		got = append(got, st.scenario+"/"+st.tool)
	}
	want := []string{
		clean + "/" + plain, clean + "/" + vanilla, wrapDep + "/" + vanilla,
		clean + "/" + cbt, wrapDep + "/" + cbt, clean + "/" + join, wrapDep + "/" + join,
	}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("steps(wrapdep) = %q, want %q", got, want)
	}
}

// TestStepsPaired: without the hook mode, the split's clean build is the
// one paired with the plain build, first in even repetitions.
func TestStepsPaired(t *testing.T) {
	for rep, want := range map[int]string{
		1: clean + "/" + plain + "," + clean + "/" + vanilla + "," + postInstall + "/" + vanilla,
		2: clean + "/" + vanilla + "," + clean + "/" + plain + "," + postInstall + "/" + vanilla,
	} {
		var got []string
		for _, st := range steps([]string{postInstall}, []string{plain, vanilla}, rep) {
			got = append(got, st.scenario+"/"+st.tool)
		}
		if strings.Join(got, ",") != want {
			t.Errorf("repetition %d: steps = %q, want %q", rep, got, want)
		}
	}
}

// TestStepsHook: the hook mode's builds, its first build paired with the
// plain build, first in even repetitions.
func TestStepsHook(t *testing.T) {
	for _, tt := range []struct {
		rep  int
		want []string
	}{
		{1, []string{clean + "/" + plain, clean + "/" + hooked, postInstall + "/" + hooked, postFixup + "/" + hooked}},
		{2, []string{clean + "/" + hooked, clean + "/" + plain, postInstall + "/" + hooked, postFixup + "/" + hooked}},
	} {
		var got []string
		for _, st := range steps([]string{postFixup, postInstall}, []string{plain, hooked}, tt.rep) {
			got = append(got, st.scenario+"/"+st.tool)
		}
		if strings.Join(got, ",") != strings.Join(tt.want, ",") {
			t.Errorf("repetition %d: steps = %q, want %q", tt.rep, got, tt.want)
		}
	}
}

func TestChooseTools(t *testing.T) {
	tests := []struct {
		flag string
		want []string
		err  bool
	}{
		{"", tools, false},
		{"hook", []string{plain, hooked}, false},
		{"hook,vanilla", []string{plain, vanilla, hooked}, false},
		{"plain", nil, true},
	}
	for _, tt := range tests {
		got, err := chooseTools(tt.flag)
		if (err != nil) != tt.err || strings.Join(got, ",") != strings.Join(tt.want, ",") {
			t.Errorf("chooseTools(%q) = %q, %v; want %q, error %v", tt.flag, got, err, tt.want, tt.err)
		}
	}
}

func TestReadHookLog(t *testing.T) {
	lines := []timedLine{
		{0.5, "vanilla: cache miss 9cb0280427ba: no entry of make-baked-1.0"},
		{0.6, "Running phase: unpackPhase"},
		{1.0, "Running phase: buildPhase"},
		{4.0, "cc -o greet greet.c"},
		{5.5, "vanilla: cache: stored the build tree and outputs after buildPhase as 9cb0280427ba (15.9 KiB in 2 files, 2.7 KiB compressed)"},
		{5.6, "Running phase: installPhase"},
		{6.0, "vanilla: cache: stored the build tree and outputs after installPhase as 32d3918411a5 (31.7 KiB in 4 files, 3.0 KiB compressed)"},
		{6.1, "Running phase: fixupPhase"},
	}
	h := readHookLog(lines)
	if h.decision != "miss" || h.missWhy != "no entry of make-baked-1.0" || len(h.stored) != 2 {
		t.Fatalf("readHookLog = %+v", h)
	}
	if e := h.stored[0]; e.point != "after buildPhase" || e.size != "15.9 KiB in 2 files, 2.7 KiB compressed" || e.sec < 1.49 || e.sec > 1.51 {
		t.Errorf("stored[0] = %+v", e)
	}
	p := phases(lines, 7)
	for name, want := range map[string]float64{startPhase: 0.6, "unpackPhase": 0.4, "buildPhase": 4.6, "installPhase": 0.5, "fixupPhase": 0.9} {
		if got := p[name]; got < want-0.01 || got > want+0.01 {
			t.Errorf("phases[%s] = %.2f, want %.2f", name, got, want)
		}
	}

	h = readHookLog([]timedLine{
		{0.2, "Running phase: unpackPhase"},
		{0.4, "vanilla: restored 16 kB in 2 files from /c/entries/2f02, store paths rewritten in 2, 1 build-ids recomputed, 0.25 s"},
		{0.5, "vanilla: cache hit 2f023def48cd (the build tree and outputs after buildPhase, stored 0s ago)"},
	})
	if h.decision != "hit after buildPhase" || h.restoreSec != 0.25 {
		t.Errorf("readHookLog of a hit = %+v", h)
	}
}

// TestReportHook: the hook mode's column, its paired ratios (the median of
// each repetition's ratio, not the ratio of medians), and its section.
func TestReportHook(t *testing.T) {
	r := &result{
		workload: workload{name: "w", what: "a workload"},
		times: map[string]map[string][]float64{
			clean:       {plain: {100, 110, 120}, hooked: {102, 121, 114}},
			postInstall: {hooked: {5, 5.5, 6}},
			postFixup:   {hooked: {1, 1.1, 1.2}},
		},
		failed: map[string]map[string]string{},
		phases: map[string][]phaseTimes{
			phaseKey(clean, plain):        {{startPhase: 1, "buildPhase": 90}},
			phaseKey(clean, hooked):       {{startPhase: 1, "buildPhase": 95}},
			phaseKey(postInstall, hooked): {{startPhase: 1, "installPhase": 3}},
			phaseKey(postFixup, hooked):   {{startPhase: 1, "fixupPhase": 0.1}},
		},
		hook: []hookBuild{
			{scenario: clean, decision: "miss", missWhy: "no entry of w", stored: []storedEntry{{"after buildPhase", "1 MiB in 3 files, 10 KiB compressed", 2}}},
			{scenario: postInstall, decision: "hit after buildPhase", restoreSec: 0.5},
		},
	}
	md := report([]*result{r}, 3, time.Minute)
	for _, want := range []string{
		"| scenario | plain | vanillaHook (hook mode) |",
		"| clean build | 110.0 s (100.0–120.0) | 114.0 s (102.0–121.0) = 103.6 % |",
		"| H1 first hooked build (cold cache) / plain build | 102.0 % (95.0–110.0), 3 pairs | ≤ 105 % |",
		"| H2 postInstall change, next invocation / plain build | 5.0 % (5.0–5.0), 3 pairs | ≤ 10 % |",
		"| phase | plain | hooked, first build | hooked, postInstall changed | hooked, postFixup changed |",
		"| buildPhase | 90.0 | 95.0 | – | – |",
		"| nix-build, whole | 110.0 | 114.0 | 5.5 | 1.1 |",
		"- stored after buildPhase: 1 MiB in 3 files, 10 KiB compressed; 2.0 s from the log line",
		"- first build: miss (no entry of w) ×1",
		"- postInstall changed: hit after buildPhase ×1; restore 0.5 s",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("report lacks %q:\n%s", want, md)
		}
	}
	if strings.Contains(md, "P1 postFixup") || strings.Contains(md, "checkpointBuildTools |") {
		t.Errorf("report has nix-vanilla's measures or columns without their builds:\n%s", md)
	}
}

// TestReportPairedSplit: P3 per repetition, over the plain build next to
// each split build, wall and CPU time.
func TestReportPairedSplit(t *testing.T) {
	r := &result{
		workload: workload{name: "w", what: "a workload"},
		times:    map[string]map[string][]float64{clean: {plain: {100, 120}, vanilla: {104, 117}}},
		cpu:      map[string]map[string][]float64{clean: {plain: {150, 160}, vanilla: {153, 168}}},
		failed:   map[string]map[string]string{},
		phases:   map[string][]phaseTimes{},
	}
	md := report([]*result{r}, 2, time.Minute)
	for _, want := range []string{
		"| P3 clean split build / plain build | 100.5 % | ≤ 105 % |",
		"| P3 per repetition: clean split / plain build of the same repetition, wall | 100.8 % (97.5–104.0), 2 pairs | ≤ 105 % |",
		"| P3 per repetition, CPU time (user + system) | 103.5 % (102.0–105.0), 2 pairs | |",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("report lacks %q:\n%s", want, md)
		}
	}
}

// TestFailedLabels: the plot labels a tool's bar "failed" where all its
// builds failed, not where some succeeded.
func TestFailedLabels(t *testing.T) {
	r := &result{
		times:  map[string]map[string][]float64{postFixup: {cbt: {9}}, postInstall: {}},
		failed: map[string]map[string]string{postFixup: {cbt: "oops"}, postInstall: {cbt: "again"}},
	}
	plotted := []string{plain, vanilla, cbt}
	if got := failedLabels(r, postFixup, 1, plotted); got != "" {
		t.Errorf("a tool that succeeded once is labelled failed: %q", got)
	}
	got := failedLabels(r, postInstall, 2, plotted)
	// Third of three bars in group 2: 2 + (2-1)/4.
	if !strings.Contains(got, `set label "failed" at 2.250,`) || strings.Count(got, "set label") != 1 {
		t.Errorf("labels = %q", got)
	}
}

// TestPlotFailed draws a plot with a failed bar, where gnuplot is
// installed: the labels must be gnuplot that it accepts.
func TestPlotFailed(t *testing.T) {
	if _, err := exec.LookPath("gnuplot"); err != nil {
		t.Skip("no gnuplot")
	}
	r := &result{
		workload: workload{name: "w"},
		times: map[string]map[string][]float64{
			clean:       {plain: {10}, vanilla: {10}, cbt: {11}},
			postInstall: {vanilla: {2}},
		},
		failed: map[string]map[string]string{clean: {}, postInstall: {cbt: "again"}},
	}
	dir := t.TempDir()
	if d := os.Getenv("BENCH_PLOT_DIR"); d != "" {
		dir = d // to look at it
	}
	if err := plot([]*result{r}, dir); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(filepath.Join(dir, "results.png")); err != nil || fi.Size() == 0 {
		t.Fatalf("results.png: %v", err)
	}
}

// TestStageTimes splits a split build's log by stage: phases less the
// helper steps inside them, the steps on rows of their own.
func TestStageTimes(t *testing.T) {
	lines := []timedLine{
		{0.5, "vanilla: vanilla stage: running the phases up to buildPhase"},
		{0.6, "Running phase: unpackPhase"},
		{1.6, "Running phase: buildPhase"},
		{9.6, "vanilla: saved checkpoint: 2 MiB in 80 files (1 MiB compressed), 78,000 files (1.3 GB) left to the source, 1.50 s"},
		{10.0, "vanilla: unwrapped stage: restoring the checkpoint, then running postBuild to installPhase"},
		{14.0, "vanilla: unpacked the source again itself, only the 78,000 files the build left alone (1.3 GB), 3.50 s"},
		{14.5, "vanilla: restored 2 MiB in 80 files from /nix/store/x-checkpoint, 0.40 s"},
		{14.8, "Running phase: installPhase"},
		{15.8, "vanilla: saved outputs: 9 MiB in 3 files (3 MiB compressed), 0.20 s"},
		{16.0, "vanilla: final stage: restoring the installed outputs, then running fixupPhase and after"},
		{16.3, "vanilla: restored 9 MiB in 3 files from /nix/store/y-checkpoint, 0.10 s"},
		{16.4, "Running phase: fixupPhase"},
	}
	p, order := stageTimes(lines, 17)
	want := map[string]float64{
		startPhase: 0.5, "checkpoint: (setup)": 0.1, "checkpoint: unpackPhase": 1, "checkpoint: buildPhase": 6.5, "checkpoint: save": 1.5,
		"checkpoint: (end)":  0.4,
		"unwrapped: (setup)": 0.9, "unwrapped: unpack again": 3.5, "unwrapped: restore": 0.4, "unwrapped: installPhase": 0.8, "unwrapped: save": 0.2,
		"unwrapped: (end)": 0.2,
		"final: (setup)":   0.3, "final: restore": 0.1, "final: fixupPhase": 0.6,
	}
	for name, w := range want {
		if got := p[name]; got < w-0.01 || got > w+0.01 {
			t.Errorf("%s = %.2f, want %.2f", name, got, w)
		}
	}
	if len(p) != len(want) || order[0] != startPhase || order[len(order)-1] != "final: fixupPhase" {
		t.Errorf("rows %v", order)
	}
	// A save ends the phase it runs in: its row follows that phase's.
	for _, pair := range [][2]string{{"checkpoint: buildPhase", "checkpoint: save"}, {"unwrapped: installPhase", "unwrapped: save"}, {"unwrapped: save", "unwrapped: (end)"}} {
		if slices.Index(order, pair[0]) > slices.Index(order, pair[1]) {
			t.Errorf("row %q comes before %q: %v", pair[1], pair[0], order)
		}
	}
	r := &result{
		workload:  workload{name: "w", what: "a workload"},
		times:     map[string]map[string][]float64{clean: {plain: {20}, vanilla: {17}}},
		failed:    map[string]map[string]string{},
		phases:    map[string][]phaseTimes{phaseKey(clean, vanilla): {p}},
		stageRows: [][]string{order},
	}
	var b strings.Builder
	stageSection(&b, r)
	for _, line := range []string{"| stage: step | clean build |", "| unwrapped: unpack again | 3.5 |", "| nix-build, whole | 17.0 |"} {
		if !strings.Contains(b.String(), line+"\n") {
			t.Errorf("the stage table lacks %q:\n%s", line, b.String())
		}
	}
}

// TestStageSectionPlain: the plain build's phases in the rows of the
// stages that run them, as a first column.
func TestStageSectionPlain(t *testing.T) {
	split := phaseTimes{startPhase: 0.5, "checkpoint: buildPhase": 12, "checkpoint: save": 1, "unwrapped: installPhase": 2, "final: fixupPhase": 0.5}
	r := &result{
		workload: workload{name: "w", what: "a workload"},
		times:    map[string]map[string][]float64{clean: {plain: {14}, vanilla: {16}}},
		failed:   map[string]map[string]string{},
		phases: map[string][]phaseTimes{
			phaseKey(clean, vanilla): {split},
			phaseKey(clean, plain):   {{startPhase: 0.4, "buildPhase": 11, "installPhase": 2.1, "fixupPhase": 0.5}},
		},
		stageRows: [][]string{{startPhase, "checkpoint: buildPhase", "checkpoint: save", "unwrapped: installPhase", "final: fixupPhase"}},
	}
	var b strings.Builder
	stageSection(&b, r)
	for _, line := range []string{
		"| stage: step | plain, clean build | clean build |",
		"| checkpoint: buildPhase | 11.0 | 12.0 |",
		"| checkpoint: save | – | 1.0 |",
		"| unwrapped: installPhase | 2.1 | 2.0 |",
		"| nix-build, whole | 14.0 | 16.0 |",
	} {
		if !strings.Contains(b.String(), line+"\n") {
			t.Errorf("the stage table lacks %q:\n%s", line, b.String())
		}
	}
}
