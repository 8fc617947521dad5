package testbed

import (
	"context"
	"fmt"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"
)

// wrapperRun makes each run's builds new (an early attribute), so that
// what --dry-run lists does not depend on what an earlier run left.
var wrapperRun = fmt.Sprint(time.Now().UnixNano())

// wrapperDeps is nix-build's arguments for testdata/wrapper-deps.
func wrapperDeps(split bool, extra ...string) []string {
	return append([]string{bed.Path("testdata/wrapper-deps"), "--arg", "split", fmt.Sprint(split), "--argstr", "stamp", wrapperRun}, extra...)
}

// TestWrapperDependencies is the case the project grew from: a compiled
// core whose Python front end is wrapped with its (propagated) Python
// dependencies in postFixup. Bumping or adding a dependency rebuilds the
// final stage alone — nothing recompiles — and gives the plain build's
// outputs with the new dependency.
func TestWrapperDependencies(t *testing.T) {
	ctx := context.Background()
	split, _ := compareBuilds(t, bed, wrapperDeps(false), wrapperDeps(true))
	greets(t, split["out"], "colors 1.0: core in "+split["out"]+"/libexec/greeter greets world")

	for _, tt := range []struct {
		change string
		args   []string
		want   []string
	}{
		{"a dependency bumped", []string{"--argstr", "colorsVersion", "2.0"}, []string{"colors 2.0: core in %s/libexec/greeter greets world"}},
		{"a dependency added", []string{"--arg", "withTables", "true"}, []string{"colors 1.0: core in %s/libexec/greeter greets world", "tables 0.3: tables available"}},
	} {
		t.Run(tt.change, func(t *testing.T) {
			// The plain build builds the new dependency first, so that
			// what remains for the split build is its own.
			plain, err := bed.Build(ctx, t.TempDir(), wrapperDeps(false, tt.args...)...)
			if err != nil {
				t.Fatal(err)
			}
			drvs, err := bed.WouldBuild(ctx, wrapperDeps(true, tt.args...)...)
			if err != nil {
				t.Fatal(err)
			}
			if len(drvs) != 1 {
				t.Errorf("nix-build --dry-run would build %v, want the final stage alone", drvs)
			}
			got, err := bed.Build(ctx, t.TempDir(), wrapperDeps(true, tt.args...)...)
			if err != nil {
				t.Fatal(err)
			}
			c, err := CompareOutputs(plain, got)
			if err != nil {
				t.Fatal(err)
			}
			for _, d := range c.Differences {
				t.Errorf("split and plain builds differ: %s", d)
			}
			var want []string
			for _, w := range tt.want {
				want = append(want, strings.ReplaceAll(w, "%s", got["out"]))
			}
			greets(t, got["out"], want...)
			if len(drvs) == 1 {
				log := buildLog(t, drvs[0])
				if strings.Contains(log, "cc -O2") {
					t.Errorf("the final stage compiled:\n%s", log)
				}
			}
		})
	}
}

// greets runs the wrapped front end and checks what it prints.
func greets(t *testing.T, out string, want ...string) {
	t.Helper()
	got, err := exec.Command(out + "/bin/greeter").Output()
	if err != nil {
		t.Fatalf("%s/bin/greeter: %v", out, err)
	}
	if s := strings.TrimSpace(string(got)); s != strings.Join(want, "\n") {
		t.Errorf("greeter printed %q, want %q", s, strings.Join(want, "\n"))
	}
}

func buildLog(t *testing.T, drv string) string {
	t.Helper()
	cmd := exec.Command("nix-store", "--read-log", drv)
	cmd.Env = bed.Env()
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("nix-store --read-log %s: %v", drv, err)
	}
	return string(out)
}

// TestWrongLateClaim declares late an input that buildPhase uses: the
// vanilla stage does not have it, and fails there, loudly.
func TestWrongLateClaim(t *testing.T) {
	expr := fmt.Sprintf(`(let
  pkgs = import %q { overlays = [ (import %q) ]; };
  tool = pkgs.stdenvNoCC.mkDerivation {
    name = "gen-message-1.0";
    dontUnpack = true;
    installPhase = "mkdir -p $out/bin; printf '#!/bin/sh\\necho generated\\n' > $out/bin/gen-message; chmod +x $out/bin/gen-message";
  };
in pkgs.stdenv.mkDerivation {
  name = "wrong-claim-1.0";
  dontUnpack = true;
  nativeBuildInputs = [ tool ];
  vanillaLateInputs = [ tool ];
  buildPhase = "gen-message > message";
  installPhase = "install -Dm644 message $out/share/message";
  vanillaPackage = true;
})`, bed.Path("nix/host-pkgs.nix"), bed.Path("nix/overlay.nix"))
	_, err := bed.Build(context.Background(), t.TempDir(), "-E", expr)
	if err == nil {
		t.Fatal("the build succeeded without the tool it needs in buildPhase")
	}
	if !strings.Contains(err.Error(), "gen-message: command not found") || !strings.Contains(err.Error(), "vanilla stage") {
		t.Errorf("the vanilla stage did not fail for want of the tool: %v", err)
	}
}

// TestInstallTimeReaders gives the package a hook that reads its
// dependencies before fixupPhase, as nixpkgs' pythonRuntimeDepsCheckHook
// does from preInstallPhases: then a bumped late input rebuilds the
// unwrapped stage too, never the checkpoint.
func TestInstallTimeReaders(t *testing.T) {
	expr := func(version string, reader bool) string {
		return fmt.Sprintf(`(let
  pkgs = import %q { overlays = [ (import %q) ]; };
  hook = pkgs.makeSetupHook { name = "python-runtime-deps-check-hook.sh"; } %q;
  p = import %q { split = true; colorsVersion = %q; inherit pkgs; };
in if %v then p.overrideAttrs (old: { nativeBuildInputs = old.nativeBuildInputs ++ [ hook ]; }) else p)`,
			bed.Path("nix/host-pkgs.nix"), bed.Path("nix/overlay.nix"), bed.Path("testdata/fixtures/extra-phases/stamp-hook.sh"),
			bed.Path("testdata/wrapper-deps"), version, reader)
	}
	for _, tt := range []struct {
		reader bool
		want   []string
	}{
		{false, []string{"final"}},
		{true, []string{"final", "unwrapped"}},
	} {
		old, cur := stageDrvs(t, expr("1.0", tt.reader)), stageDrvs(t, expr("2.0", tt.reader))
		var rebuilt []string
		for _, stage := range []string{"final", "unwrapped", "vanilla"} {
			if old[stage] != cur[stage] {
				rebuilt = append(rebuilt, stage)
			}
		}
		if !slices.Equal(rebuilt, tt.want) {
			t.Errorf("with an install-time reader %v, bumping the dependency rebuilds %v, want %v", tt.reader, rebuilt, tt.want)
		}
	}
}
