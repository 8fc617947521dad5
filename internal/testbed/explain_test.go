package testbed

import (
	"context"
	"fmt"
	"os/exec"
	"slices"
	"strings"
	"testing"

	"github.com/nix-vanilla/nix-vanilla/pkg/derivation"
	"github.com/nix-vanilla/nix-vanilla/pkg/explain"
)

// dep is a trivial derivation whose version the tests bump: an input of
// the package.
const dep = `v: derivation { name = "explain-dep-${v}"; system = builtins.currentSystem; builder = "/bin/sh"; args = [ "-c" "echo ${v} > $out" ]; }`

// explainExpr is fixture single-file, split or not, with a dependency and
// an override.
func explainExpr(split bool, override string) string {
	return fmt.Sprintf(`let dep = %s; in ((import %q { split = %v; }).single-file.overrideAttrs (o: { buildInputs = [ (dep "1.0") ]; })).overrideAttrs (o: %s)`,
		dep, bed.Path("testdata/fixtures"), split, override)
}

// TestExplain instantiates a real split package and changed copies of it
// (nothing is built) and checks that explain names the stage the split
// rebuilds first and the attribute or input that caused it.
func TestExplain(t *testing.T) {
	ctx := context.Background()
	drv := func(split bool, override string) string {
		t.Helper()
		p, err := bed.Instantiate(ctx, "-E", explainExpr(split, override))
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	for _, split := range []bool{true, false} {
		old := drv(split, "{ }")
		for _, tc := range []struct {
			name     string
			override string
			rebuild  string // where the split build starts
			cause    string // an attribute, or "input NAME"
		}{
			{"postFixup", `{ postFixup = "echo changed"; }`, explain.Final, "postFixup"},
			{"postInstall", `{ postInstall = "echo changed"; }`, explain.Unwrapped, "postInstall"},
			{"makeFlags", `{ makeFlags = [ "EXTRA=1" ]; }`, explain.Vanilla, "makeFlags"},
			{"an input", `{ buildInputs = [ (dep "1.1") ]; }`, explain.Vanilla, "input explain-dep-1.1"},
			{"a late input", `{ buildInputs = [ (dep "1.1") ]; vanillaLateInputs = [ (dep "1.1") ]; }`, explain.Final, "input explain-dep-1.1"},
		} {
			t.Run(fmt.Sprintf("split=%v/%s", split, tc.name), func(t *testing.T) {
				if tc.name == "a late input" {
					if !split {
						t.Skip("vanillaLateInputs is the split's declaration")
					}
					old = drv(split, `{ vanillaLateInputs = [ (dep "1.0") ]; }`)
					defer func() { old = drv(split, "{ }") }()
				}
				nw := drv(split, tc.override)
				r, err := explain.Explain(old, nw, explain.Options{Depth: 3})
				if err != nil {
					t.Fatal(err)
				}
				d := r.Diff
				got := r.Rebuild
				if split {
					if !r.Split {
						t.Fatalf("not split: %+v", r)
					}
					for _, sd := range r.Stages {
						if sd.Stage == r.Rebuild {
							d = sd.Diff
						}
					}
				} else {
					got = r.WouldRebuild
				}
				if got != tc.rebuild {
					t.Errorf("rebuilds from %q, want %q", got, tc.rebuild)
				}
				var causes []string
				for _, a := range d.Attrs {
					causes = append(causes, a.Name)
				}
				for _, in := range d.Inputs {
					causes = append(causes, "input "+in.Name)
				}
				if !slices.Contains(causes, tc.cause) {
					t.Errorf("causes %q, want %s among them", causes, tc.cause)
				}
				if strings.HasPrefix(tc.cause, "input") && len(d.Inputs) == 1 {
					if why := d.Inputs[0].Why; why == nil || len(why.Attrs) == 0 {
						t.Errorf("no reason why the input changed: %+v", d.Inputs[0])
					}
				}
			})
		}
	}
}

// TestDerivationRoundTrip reads every derivation of a split package's
// closure (the stdenv's bootstrap included) and writes it back: the bytes
// must be those nix-instantiate wrote.
func TestDerivationRoundTrip(t *testing.T) {
	ctx := context.Background()
	top, err := bed.Instantiate(ctx, "-E", explainExpr(true, "{ }"))
	if err != nil {
		t.Fatal(err)
	}
	out, err := exec.CommandContext(ctx, "nix-store", "--query", "--requisites", top).Output()
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, p := range strings.Fields(string(out)) {
		if !strings.HasSuffix(p, ".drv") {
			continue
		}
		d, err := derivation.ReadFile(p)
		if err != nil {
			t.Error(err)
			continue
		}
		n++
		if got, err := derivation.Parse(p, d.Bytes()); err != nil || got.String() != d.String() {
			t.Errorf("%s: written back differs (%v)", p, err)
		}
	}
	if n < 10 {
		t.Errorf("only %d derivations in the closure of %s", n, top)
	}
	t.Logf("%d derivations read and written back", n)
}
