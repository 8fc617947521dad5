package nixpkgseval

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
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

// TestTopLevel evaluates every top-level attribute of <nixpkgs> with and
// without the overlay: no derivation may change, and with the flag each
// package splits (and late changes keep the earlier stages) or warns.
func TestTopLevel(t *testing.T) {
	needNix(t)
	ctx := context.Background()
	start := time.Now()
	names, err := TopLevelNames(ctx, env)
	if err != nil {
		t.Fatal(err)
	}
	recs, err := newProbe(t, nil, "").Run(ctx, names)
	if err != nil {
		t.Fatal(err)
	}
	c := Count(recs)
	if c.Derivations < 400 || c.Split < 300 {
		t.Errorf("only %d derivations evaluated, %d split: the probe is broken", c.Derivations, c.Split)
	}
	report(t, "top level", recs, time.Since(start), ZeroCostProblems(recs), FlagProblems(recs))
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

func checkSample(t *testing.T, set []string, variant string, minDerivations int) {
	needNix(t)
	start := time.Now()
	recs, err := newProbe(t, set, variant).Run(context.Background(), sample)
	if err != nil {
		t.Fatal(err)
	}
	if c := Count(recs); c.Derivations < minDerivations {
		t.Errorf("only %d of %d sample attributes evaluated to derivations: the probe is broken", c.Derivations, len(sample))
	}
	report(t, t.Name(), recs, time.Since(start), ZeroCostProblems(recs), FlagProblems(recs))
}

// TestPackageSets checks the sample in the package sets nixpkgs makes with
// other platforms: pkgsStatic (a cross package set, its stdenv adapted by
// makeStatic), pkgsMusl and pkgsi686Linux (bootstrapped anew).
func TestPackageSets(t *testing.T) {
	for _, set := range []string{"pkgsStatic", "pkgsMusl", "pkgsi686Linux"} {
		t.Run(set, func(t *testing.T) { checkSample(t, []string{set}, "", 20) })
	}
}

// TestStdenvVariants checks the sample built with the other stdenvs of the
// top level: `pkg.override { stdenv = …; }` for every package whose
// function takes a stdenv.
func TestStdenvVariants(t *testing.T) {
	for _, v := range []string{"stdenvNoCC", "gccStdenv", "clangStdenv", "overrideCC"} {
		t.Run(v, func(t *testing.T) { checkSample(t, nil, v, 15) })
	}
}
