package testbed

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nix-vanilla/nix-vanilla/pkg/setuppatch"
)

// phaseHooksLine is what the hook prints when it uses the hook points of
// a patched setup.sh instead of wrapping runPhase and runHook.
const phaseHooksLine = "vanilla: setup.sh has hook points between the phases: using them"

// TestVanillaStdenv builds every fixture and corpus package with
// vanillaStdenv, whose setup.sh `vanilla patch-setup` gave hook points
// between the phases, and holds each to the stock stdenv's plain build:
//
//   - plain: without the flag or the hook, outputs equal the stock
//     stdenv's (after mapping store hashes) and the log has no line of
//     the hook's;
//   - split: vanillaPackage = true, where the hook uses the points (its
//     log says so), as TestSplitEquivalence and TestCorpus hold the
//     wrapping hook;
//   - hook: hook mode on a cache, first build, postInstall change and
//     postFixup change, as TestHookMode and TestCorpusHook hold it.
//
// The corpus part is skipped with -short or VANILLA_CORPUS=skip; known
// failures are those of testdata/corpus/known.txt (tier tmpfs for the
// split, hook for hook mode; the plain builds have different output
// paths, as hook mode's first build has, so the hook tier's base lines
// apply to them). The whole matrix takes long on 2 cores: select with
// -run, e.g. -run 'TestVanillaStdenv/fixtures/make-baked/'.
func TestVanillaStdenv(t *testing.T) {
	start := time.Now()
	t.Run("setup.sh", testVanillaSetup)
	t.Run("fixtures", testVanillaStdenvFixtures)
	t.Run("corpus", testVanillaStdenvCorpus)
	t.Logf("TestVanillaStdenv: %s", time.Since(start).Round(time.Second))
}

// testVanillaSetup builds vanillaStdenv and checks that its setup script
// ends with nixpkgs' setup.sh as setuppatch patches it (the stdenv's
// builder puts a few lines of its own first).
func testVanillaSetup(t *testing.T) {
	ctx := context.Background()
	outs, err := bed.Build(ctx, t.TempDir(), "-E", fmt.Sprintf(`(import %q { pkgs = import %q { }; }).vanillaStdenv`,
		bed.Path("nix"), bed.Path("nix/host-pkgs.nix")))
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(filepath.Join(outs["out"], "setup"))
	if err != nil {
		t.Fatal(err)
	}
	nixpkgs, err := bed.run(ctx, "nix-instantiate", "--find-file", "nixpkgs")
	if err != nil {
		t.Fatal(err)
	}
	stock := filepath.Join(strings.TrimSpace(nixpkgs), "pkgs/stdenv/generic/setup.sh")
	src, err := os.ReadFile(stock)
	if err != nil {
		t.Fatal(err)
	}
	want, err := setuppatch.Patch(stock, src)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasSuffix(got, want) || bytes.HasSuffix(got, src) {
		t.Errorf("%s/setup does not end with the patched setup.sh", outs["out"])
	}
}

func testVanillaStdenvFixtures(t *testing.T) {
	names, err := bed.Fixtures()
	if err != nil {
		t.Fatal(err)
	}
	cache, hb := hookCache(t)
	stamp := fmt.Sprint(time.Now().UnixNano())
	for _, name := range names {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			patched := func(split bool) []string {
				return append(fixtureArgs(name, split), "--arg", "patchedStdenv", "true")
			}
			t.Run("plain", func(t *testing.T) {
				outs, _ := compareBuilds(t, bed, fixtureArgs(name, false), patched(false))
				if err := bed.Check(ctx, name, outs); err != nil {
					t.Fatal(err)
				}
				drv, err := bed.Instantiate(ctx, patched(false)...)
				if err != nil {
					t.Fatal(err)
				}
				if log := buildLog(t, drv); strings.Contains(log, "vanilla:") {
					t.Errorf("a build without the hook has the hook's lines:\n%s", tail(log, 20))
				}
			})
			t.Run("split", func(t *testing.T) {
				outs, _ := compareBuilds(t, bed, fixtureArgs(name, false), patched(true))
				if err := bed.Check(ctx, name, outs); err != nil {
					t.Fatal(err)
				}
				drv, err := bed.Instantiate(ctx, bed.Path("testdata/fixtures"), "--arg", "split", "true",
					"--arg", "patchedStdenv", "true", "-A", name+".vanilla")
				if err != nil {
					t.Fatal(err)
				}
				drv, _, _ = strings.Cut(drv, "!") // the stage's default output is checkpoint
				if log := buildLog(t, drv); !strings.Contains(log, phaseHooksLine) {
					t.Errorf("the vanilla stage's log lacks %q:\n%s", phaseHooksLine, tail(log, 20))
				}
			})
			t.Run("hook", func(t *testing.T) {
				hookSteps(t, hb, name, cache, stamp, []string{"--arg", "patchedStdenv", "true"}, phaseHooksLine)
			})
		})
	}
}

func testVanillaStdenvCorpus(t *testing.T) {
	if testing.Short() || os.Getenv("VANILLA_CORPUS") == "skip" {
		t.Skip("the corpus takes minutes; not with -short or VANILLA_CORPUS=skip")
	}
	ctx := context.Background()
	known, err := readKnown(bed.Path("testdata/corpus/known.txt"))
	if err != nil {
		t.Fatal(err)
	}
	var hookKnown []*knownFailure
	for _, k := range known {
		if k.tier == "hook" {
			hookKnown = append(hookKnown, k)
		}
	}
	tier := corpusTiers(t)[0]
	if err := os.MkdirAll(tier.dir, 0o755); err != nil {
		t.Skipf("no build directory: %v", err)
	}
	b := tierBed(bed, tier.dir)
	cacheDir, hb := hookCache(t)
	hb = tierBed(hb, tier.dir)
	counts := map[string]int{}
	base := corpusVariant{name: "base", wrap: func(p string) string { return p }}
	for _, pkg := range corpusPackages(t) {
		t.Run(pkg, func(t *testing.T) {
			expect, _ := os.ReadFile(b.Path("testdata/corpus/" + pkg + "/expect-failure"))
			t.Run("plain", func(t *testing.T) {
				if len(expect) > 0 {
					t.Skip("the package's plain build fails by design")
				}
				expr := func(patched bool) string {
					return fmt.Sprintf(`(import %q { patchedStdenv = %v; }).%s`, b.Path("testdata/corpus"), patched, pkg)
				}
				stock := b.buildLogged(ctx, t.TempDir(), expr(false))
				if stock.err != nil {
					t.Fatalf("the plain build fails (a corpus bug): %v", stock.err)
				}
				patched := b.buildLogged(ctx, t.TempDir(), expr(true))
				var problems []string
				if patched.err != nil {
					problems = append(problems, "the build with vanillaStdenv failed: "+interesting(patched.err.Error()+"\n"+patched.log))
				} else {
					c := &corpusCase{t: t, b: b, pkg: pkg, v: base}
					problems = append(problems, c.compare(ctx, stock, patched)...)
					if strings.Contains(patched.log, "vanilla:") {
						problems = append(problems, "a build without the hook has the hook's lines")
					}
				}
				counts[reconcile(t, findKnown(hookKnown, pkg, "base", "hook"), problems)]++
			})
			t.Run("split", func(t *testing.T) {
				cc := &corpusCase{t: t, b: b, tier: tier, pkg: pkg, v: base, patched: true, expectF: strings.TrimSpace(string(expect))}
				counts[reconcile(t, findKnown(known, pkg, "base", tier.name), cc.run(ctx))]++
			})
			t.Run("hook", func(t *testing.T) {
				corpusHookCase(t, hb, pkg, cacheDir, hookKnown, true, counts)
			})
		})
	}
	t.Logf("corpus with vanillaStdenv: %d pass, %d known failures, %d unexpected", counts["pass"], counts["known"], counts["FAIL"])
}
