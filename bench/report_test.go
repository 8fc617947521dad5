package main

import (
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
		"| postFixup changed | 11.0 s (10.0–12.0) | 1.0 s = 9.1 % | 9.0 s = 81.8 %; fails 2 of 3 times (1) | – |",
		"| postInstall changed | 11.0 s (10.0–12.0) | 2.0 s = 18.2 % | fails (2) | – |",
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
	for _, st := range steps([]string{wrapDep}) {
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
