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
