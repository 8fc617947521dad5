// Command bench measures nix-vanilla on sources it did not write, next to
// a plain build and to nixpkgs' checkpointBuildTools, and writes a Markdown
// table and a plot to bench/results. Run it through bench/run, which
// installs what it needs first.
//
// Usage:
//
//	bench [-quick | -smoke] [-reps N] [-out DIR] [-workloads a,b] [-scenarios fixup,install,wrapdep] [-tools vanilla,cbt,join,hook] [-hook-cache DIR]
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/nix-vanilla/nix-vanilla/internal/testbed"
)

// A workload is a package of bench/workload.nix.
type workload struct {
	name, what string
	quick      bool
}

var workloads = []workload{
	{"make-baked", "the smallest fixture: plain make, one C file", true},
	{"demo", "testdata/demo: 160 generated C files, plain make", true},
	{"googletest", "Debian's googletest 1.12.1 (/usr/src/googletest): C++, CMake + Ninja, with its test suite built", false},
	{"openvswitch", "Debian's openvswitch-source 3.1.0: a medium autotools build (C, libtool, Python generators); in place of libxcrypt, whose Debian source lacks build-aux/", false},
	{"binutils", "Debian's binutils-source 2.40: a large autotools build", false},
	{"linux", "Debian's linux-source-6.1 with tinyconfig: a huge source (1.3 GB), little generated", false},
}

// options are the command line's choices.
type options struct {
	quick, smoke bool
	reps         int
	// out is where results.md and results.png go ("": defaultOut).
	out string
	// workloads, scenarios and tools are comma-separated lists ("": all).
	workloads, scenarios, tools string
	// hookCache is where hook mode's cache directories are made ("":
	// TMPDIR).
	hookCache string
}

func main() {
	var o options
	flag.BoolVar(&o.quick, "quick", false, "the quick subset: the two smallest workloads, one repetition")
	flag.BoolVar(&o.smoke, "smoke", false, "only check that the bench runs: the smallest workload, one repetition")
	flag.IntVar(&o.reps, "reps", 3, "repetitions of each measurement")
	flag.StringVar(&o.out, "out", "", "where to write results.md and results.png (default bench/results for a full run, $TMPDIR/nix-vanilla-bench for a subset)")
	flag.StringVar(&o.workloads, "workloads", "", "comma-separated workloads to run (default: all)")
	flag.StringVar(&o.scenarios, "scenarios", "", "comma-separated late changes to measure, of fixup, install, wrapdep (default: all; the clean build always)")
	flag.StringVar(&o.tools, "tools", "", "comma-separated tools to measure next to the plain build, of vanilla, cbt, join, hook (default: all)")
	flag.StringVar(&o.hookCache, "hook-cache", "", "the directory to make hook mode's caches in (default $TMPDIR); not under /dev/shm, which the sandbox hides")
	flag.Parse()
	if o.quick && o.smoke {
		fmt.Fprintln(os.Stderr, "bench: -quick and -smoke exclude each other")
		os.Exit(2)
	}
	if err := run(o); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

// defaultOut is where results go without -out: the committed results
// (results, bench/results) for a full run only; a subset (-quick, -smoke,
// -workloads, -scenarios, -tools) goes to a directory of its own under
// TMPDIR, so that it never writes over the results the README shows.
func defaultOut(results string, subset bool) string {
	if subset {
		return filepath.Join(os.TempDir(), "nix-vanilla-bench")
	}
	return results
}

func run(o options) error {
	chosenScenarios, err := chooseScenarios(o.scenarios)
	if err != nil {
		return err
	}
	chosenTools, err := chooseTools(o.tools)
	if err != nil {
		return err
	}
	hookCache := o.hookCache
	if hookCache == "" {
		hookCache = os.TempDir()
	}
	if contains(chosenTools, hooked) {
		if err := checkHookCache(hookCache); err != nil {
			return err
		}
	}
	bed, err := testbed.New(repoRoot())
	if err != nil {
		return err
	}
	out, reps := o.out, o.reps
	if out == "" {
		out = defaultOut(bed.Path("bench/results"), o.quick || o.smoke || o.workloads != "" || o.scenarios != "" || o.tools != "")
		fmt.Printf("bench: writing results to %s\n", out)
	}
	var chosen []workload
	for _, w := range workloads {
		switch {
		case o.workloads != "":
			if !contains(strings.Split(o.workloads, ","), w.name) {
				continue
			}
		case o.smoke:
			if w.name != "make-baked" {
				continue
			}
		case o.quick:
			if !w.quick {
				continue
			}
		}
		chosen = append(chosen, w)
	}
	if len(chosen) == 0 {
		return fmt.Errorf("no workload selected (known: %s)", names())
	}
	if o.quick || o.smoke {
		reps = 1
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	b := &bench{bed: bed, ctx: context.Background(), log: os.Stdout, hookCache: hookCache}
	var results []*result
	start := time.Now()
	// Write what there is after each repetition too: a long run stopped
	// in its middle keeps the repetitions it finished.
	b.afterRep = func(r *result) error {
		return write(out, append(results[:len(results):len(results)], r), reps, time.Since(start))
	}
	for _, w := range chosen {
		r, err := b.measure(w, reps, chosenScenarios, chosenTools)
		if err != nil {
			return fmt.Errorf("%s: %w", w.name, err)
		}
		results = append(results, r)
		// Write what there is after each workload: a long run that fails
		// later keeps the tables it finished.
		if err := write(out, results, reps, time.Since(start)); err != nil {
			return err
		}
	}
	fmt.Printf("bench: wrote %s and %s\n", filepath.Join(out, "results.md"), filepath.Join(out, "results.png"))
	return nil
}

func write(out string, results []*result, reps int, took time.Duration) error {
	md := report(results, reps, took)
	if err := os.WriteFile(filepath.Join(out, "results.md"), []byte(md), 0o644); err != nil {
		return err
	}
	return plot(results, out)
}

// chooseScenarios turns the -scenarios flag into scenario names: every
// late change when it is empty.
func chooseScenarios(flagValue string) ([]string, error) {
	if flagValue == "" {
		return scenarios[1:], nil
	}
	var chosen []string
	for _, key := range strings.Split(flagValue, ",") {
		s, ok := scenarioFlags[key]
		if !ok {
			return nil, fmt.Errorf("-scenarios: unknown scenario %q (known: fixup, install, wrapdep)", key)
		}
		chosen = append(chosen, s)
	}
	return chosen, nil
}

// repoRoot is the checkout bench runs in: the directory above bench/.
func repoRoot() string {
	wd, err := os.Getwd()
	if err != nil {
		return "."
	}
	for dir := wd; dir != "/"; dir = filepath.Dir(dir) {
		if _, err := os.Stat(filepath.Join(dir, "bench", "workload.nix")); err == nil {
			return dir
		}
	}
	return wd
}

func names() string {
	var n []string
	for _, w := range workloads {
		n = append(n, w.name)
	}
	return strings.Join(n, ", ")
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
