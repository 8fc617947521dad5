package testbed

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"
)

// TestCorpusHook builds every corpus package in hook mode on one cache: a
// first build (which stores both resume points), then a postInstall
// change (resumes after buildPhase) and a postFixup change (after
// installPhase), each held to the plain build with the same change:
// outputs equal after mapping hashes, the package's check passing, and
// nothing compiled after the resume. A package whose entry the restore
// refuses (store hashes inside compressed data, say) must run again from
// scratch, say so, and still equal the plain build. Known failures are
// the lines of testdata/corpus/known.txt whose tier is "hook".
func TestCorpusHook(t *testing.T) {
	if testing.Short() || os.Getenv("VANILLA_CORPUS") == "skip" {
		t.Skip("the corpus takes minutes; not with -short or VANILLA_CORPUS=skip")
	}
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
	cacheDir, hb := hookCache(t)
	dir := "/dev/shm/nix-vanilla-corpus"
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Skipf("no build directory: %v", err)
	}
	b := tierBed(hb, dir)
	counts := map[string]int{}
	start := time.Now()
	for _, pkg := range corpusPackages(t) {
		t.Run(pkg, func(t *testing.T) {
			corpusHookCase(t, b, pkg, cacheDir, hookKnown, false, counts)
		})
	}
	t.Logf("corpus in hook mode: %d pass, %d known failures, %d unexpected, in %s",
		counts["pass"], counts["known"], counts["FAIL"], time.Since(start).Round(time.Second))
}

// corpusHookCase builds pkg in hook mode on the cache, first, after a
// postInstall change and after a postFixup change (TestCorpusHook), and
// counts the outcomes. With patched, the package is built with
// vanillaStdenv, whose setup.sh the hook must use.
func corpusHookCase(t *testing.T, b *Bed, pkg, cacheDir string, known []*knownFailure, patched bool, counts map[string]int) {
	ctx := context.Background()
	if _, err := os.Stat(b.Path("testdata/corpus/" + pkg + "/expect-failure")); err == nil {
		t.Skip("the package's plain build fails by design")
	}
	fixup, install := attrVariant("postFixup"), attrVariant("postInstall")
	// The phases a resumed build skipped printed what the
	// package's check looks for in the log of the build that
	// stored the entry.
	var baseLog string
	for _, v := range []corpusVariant{{name: "base", wrap: func(p string) string { return p }}, install, fixup} {
		t.Run(v.name, func(t *testing.T) {
			plainExpr := v.wrap(fmt.Sprintf(`(import %q { tier = "tmpfs"; }).%s`, b.Path("testdata/corpus"), pkg))
			hookExpr := v.wrap(fmt.Sprintf(`((import %q { tier = "hook"; patchedStdenv = %v; }).%s.overrideAttrs (o: {
  nativeBuildInputs = (o.nativeBuildInputs or [ ]) ++ [ (import %q { pkgs = import %q { }; }).vanillaHook ];
  vanillaCacheDir = %q;
}))`, b.Path("testdata/corpus"), patched, pkg, b.Path("nix"), b.Path("nix/host-pkgs.nix"), cacheDir))
			plain := b.buildLogged(ctx, t.TempDir(), plainExpr)
			if plain.err != nil {
				t.Fatalf("the plain build fails (a corpus bug): %v", plain.err)
			}
			hooked := b.buildLogged(ctx, t.TempDir(), hookExpr)
			if v.name == "base" {
				baseLog = hooked.log
			} else {
				hooked.log = baseLog + hooked.log
			}
			var problems []string
			if hooked.err != nil {
				problems = append(problems, "hooked build failed: "+interesting(hooked.err.Error()+"\n"+hooked.log))
			} else {
				c := &corpusCase{t: t, b: b, pkg: pkg, v: v}
				problems = append(problems, c.compare(ctx, plain, hooked)...)
				problems = append(problems, resumeProblems(v.name, hooked.log)...)
				if patched && !strings.Contains(hooked.log, phaseHooksLine) {
					problems = append(problems, "the hook did not use setup.sh's hook points")
				}
			}
			counts[reconcile(t, findKnown(known, pkg, v.name, "hook"), problems)]++
		})
	}
}

// resumeProblems checks a hooked build's log: a first build misses and
// stores; a changed one resumes and compiles nothing after the resume, or
// says why it ran from scratch.
func resumeProblems(variant, log string) []string {
	if variant == "base" {
		if !strings.Contains(log, "vanilla: cache miss") {
			return []string{"the first build did not miss: " + interesting(log)}
		}
		return nil
	}
	_, after, hit := strings.Cut(log, "vanilla: cache hit")
	switch {
	case variant == "postInstall" && strings.Contains(log, "no resume point after buildPhase"):
		// The package's buildPhase runs commands after runHook postBuild:
		// a postInstall change cannot resume, and the log says why.
		return nil
	case strings.Contains(log, "running the build again from scratch"):
		return []string{"ran again from scratch: " + interesting(log)}
	case !hit:
		return []string{"did not resume: " + interesting(log)}
	}
	if m := compilerLine.FindString(after); m != "" {
		return []string{"recompiled after the resume: " + normalize(strings.TrimSpace(m))}
	}
	return nil
}
