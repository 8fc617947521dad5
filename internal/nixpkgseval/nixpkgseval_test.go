package nixpkgseval

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
	"time"
)

// env is the environment of every nix-instantiate: the repository's
// nix/test-bed.conf as NIX_CONFIG.
var env []string

func TestMain(m *testing.M) {
	conf, err := os.ReadFile("../../nix/test-bed.conf")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	env = append(os.Environ(), "NIX_CONFIG="+string(conf))
	os.Exit(m.Run())
}

func needNix(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("nix-instantiate"); err != nil {
		t.Skip("nix-instantiate is not on PATH (scripts/test installs Debian's nix-bin)")
	}
}

func overlayPath(t *testing.T) string {
	t.Helper()
	p, err := filepath.Abs("../../nix/overlay.nix")
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func newProbe(t *testing.T, set []string, variant string, parts ...string) *Probe {
	return &Probe{Overlay: overlayPath(t), Set: set, Variant: variant, Parts: parts, Env: env, Workers: runtime.NumCPU()}
}

// report logs every problem and the counts, and fails on problems.
func report(t *testing.T, what string, recs []Record, took time.Duration, problems ...[]string) {
	t.Helper()
	n := 0
	for _, ps := range problems {
		for _, p := range ps {
			t.Error(p)
			n++
		}
	}
	t.Logf("%s: %s; %d problems; %s", what, Count(recs), n, took.Round(100*time.Millisecond))
}

// topLevel is the top-level run, shared by the tests that need it.
var topLevel struct {
	once sync.Once
	recs []Record
	took time.Duration
	err  error
}

func topLevelRecords(t *testing.T) ([]Record, time.Duration) {
	t.Helper()
	needNix(t)
	topLevel.once.Do(func() {
		ctx := context.Background()
		start := time.Now()
		names, err := TopLevelNames(ctx, env)
		if err == nil {
			topLevel.recs, err = newProbe(t, nil, "").Run(ctx, names)
		}
		topLevel.took, topLevel.err = time.Since(start), err
	})
	if topLevel.err != nil {
		t.Fatal(topLevel.err)
	}
	return topLevel.recs, topLevel.took
}

// TestTopLevel evaluates every top-level attribute of <nixpkgs> with and
// without the overlay: no derivation may change, and with the flag each
// package splits (and late changes keep the earlier stages) or warns.
func TestTopLevel(t *testing.T) {
	recs, took := topLevelRecords(t)
	c := Count(recs)
	if c.Derivations < 400 || c.Split < 300 {
		t.Errorf("only %d derivations evaluated, %d split: the probe is broken", c.Derivations, c.Split)
	}
	report(t, "top level", recs, took, ZeroCostProblems(recs), FlagProblems(recs))
}

// sample is what the package-set and stdenv tests evaluate: common
// packages of every kind (C libraries and tools, interpreters, compilers,
// Rust and Python packages, packages that select an output) and those
// whose derivations the overlay once changed.
var sample = []string{
	"zlib", "bash", "openssl", "python3", "curl", "coreutils", "gnugrep", "xz", "bzip2", "perl",
	"libffi", "ncurses", "readline", "sqlite", "sqlite-interactive", "expat", "pcre2", "libxml2", "gmp", "nghttp2",
	"libnghttp2", "binutils", "gcc", "libbfd", "llvm", "clang", "lld", "cargo", "nix", "mercurial",
	"mdbook", "git", "cmake", "meson", "ninja",
}

// setNames is what TestPackageSets and TestStdenvVariants evaluate: the
// sample, or with VANILLA_LARGE=1 every top-level attribute that is a
// derivation (measured: pkgsStatic 50 s, pkgsMusl 14 s on 2 cores, after
// the top level's 3 minutes).
func setNames(t *testing.T) []string {
	if os.Getenv("VANILLA_LARGE") == "" {
		return sample
	}
	recs, _ := topLevelRecords(t)
	var names []string
	for _, r := range recs {
		if r.Crashed == nil && r.Plain != nil && !r.Plain.Throws {
			names = append(names, r.Name)
		}
	}
	return names
}

func checkSet(t *testing.T, set []string, variant string, minShare float64) {
	needNix(t)
	names := setNames(t)
	start := time.Now()
	recs, err := newProbe(t, set, variant).Run(context.Background(), names)
	if err != nil {
		t.Fatal(err)
	}
	// Not every package takes a stdenv argument: the floor is a share of
	// the sample, in either mode.
	if c := Count(recs); float64(c.Derivations) < minShare*float64(len(sample)) {
		t.Errorf("only %d of %d attributes evaluated to derivations: the probe is broken", c.Derivations, len(names))
	}
	report(t, t.Name(), recs, time.Since(start), ZeroCostProblems(recs), FlagProblems(recs))
}

// TestPackageSets checks the sample (with VANILLA_LARGE=1, every top-level
// derivation) in the package sets nixpkgs makes with
// other platforms: pkgsStatic (a cross package set, its stdenv adapted by
// makeStatic), pkgsMusl and pkgsi686Linux (bootstrapped anew).
func TestPackageSets(t *testing.T) {
	for _, set := range []string{"pkgsStatic", "pkgsMusl", "pkgsi686Linux"} {
		t.Run(set, func(t *testing.T) { checkSet(t, []string{set}, "", 0.8) })
	}
}

// TestStdenvVariants checks the sample (with VANILLA_LARGE=1, every
// top-level derivation) built with the other stdenvs of the
// top level: `pkg.override { stdenv = …; }` for every package whose
// function takes a stdenv.
func TestStdenvVariants(t *testing.T) {
	for _, v := range []string{"stdenvNoCC", "gccStdenv", "clangStdenv", "overrideCC"} {
		t.Run(v, func(t *testing.T) { checkSet(t, nil, v, 0.6) })
	}
}
