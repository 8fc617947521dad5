package testbed

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nix-vanilla/nix-vanilla/pkg/setuppatch"
)

// TestHookOldSetup sources the hook into a bash without setup.sh's
// runPhase and runHook (an old stdenv) and runs its entry point, as
// setup.sh's postHooks would under set -e: in every stage and in hook
// mode it fails with a message that says what is missing and what is
// needed, and with both functions it sets up as usual.
func TestHookOldSetup(t *testing.T) {
	const missing = "vanilla: this stdenv's setup.sh has no runPhase runHook (nixpkgs older than mid-2023"
	for _, tt := range []struct {
		name, setup, want string
		ok                bool
	}{
		{"vanilla stage", "vanillaStage=vanilla", missing, false},
		{"final stage", "vanillaStage=final", missing, false},
		{"hook mode", "", missing, false},
		{"runHook only", "runHook() { :; }; vanillaStage=unwrapped", "vanilla: this stdenv's setup.sh has no runPhase (", false},
		{"both", "runHook() { :; }; runPhase() { :; }; VANILLA_CACHE_OFF=testing", "vanilla: not using the cache: testing", true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			script := "set -eu\npostHooks=()\nsource " + bed.Path("hooks/vanilla-hook.sh") + "\n" + tt.setup +
				"\nfor h in \"${postHooks[@]}\"; do \"$h\"; done\necho set-up\n"
			out, err := exec.Command("bash", "-c", script).CombinedOutput()
			if (err == nil) != tt.ok {
				t.Errorf("exit: %v, want success %v\n%s", err, tt.ok, out)
			}
			if !strings.Contains(string(out), tt.want) {
				t.Errorf("output lacks %q:\n%s", tt.want, out)
			}
			if strings.Contains(string(out), "set-up") != tt.ok {
				t.Errorf("the build went on: %s", out)
			}
		})
	}
}

// patchedSetup returns the text of nixpkgs' setup.sh patched with the
// hook points.
func patchedSetup(t *testing.T) string {
	t.Helper()
	nixpkgs, err := bed.run(context.Background(), "nix-instantiate", "--find-file", "nixpkgs")
	if err != nil {
		t.Fatal(err)
	}
	name := filepath.Join(strings.TrimSpace(nixpkgs), "pkgs/stdenv/generic/setup.sh")
	src, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	out, err := setuppatch.Patch(name, src)
	if err != nil {
		t.Fatal(err)
	}
	return string(out)
}

// TestHookChoosesPoints runs the hook's entry point under the patched
// genericBuild and under the stock one: with the hook points it registers
// there and wraps nothing, in every stage and in hook mode; without them
// it wraps runPhase and runHook.
func TestHookChoosesPoints(t *testing.T) {
	setup := patchedSetup(t)
	genericBuild := setup[strings.Index(setup, "\ngenericBuild() {")+1:]
	genericBuild = genericBuild[:strings.Index(genericBuild, "\n}\n")+3]
	stock := "genericBuild() {\n    for curPhase in ${phases[*]}; do\n        runPhase \"$curPhase\"\n    done\n}\n"
	dir := t.TempDir()
	for _, tt := range []struct{ name, stage, genericBuild, want string }{
		{"vanilla stage, patched", "vanillaStage=vanilla; checkpoint=" + dir + "/c; outputs='out checkpoint'", genericBuild, "points"},
		{"final stage, patched", "vanillaStage=final", genericBuild, "points"},
		{"hook mode, patched", "", genericBuild, "points"},
		{"unwrapped stage, stock", "vanillaStage=unwrapped; checkpoint=" + dir + "/c; outputs='out checkpoint'", stock, "wrapped"},
		{"hook mode, stock", "", stock, "wrapped"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			script := "set -eu\npostHooks=()\nNIX_BUILD_TOP=" + dir + "\nrunHook() { :; }\nrunPhase() { :; }\n" + tt.genericBuild +
				"source " + bed.Path("hooks/vanilla-hook.sh") + "\n" + tt.stage +
				"\nfor h in \"${postHooks[@]}\"; do \"$h\"; done\n" +
				`if declare -F _vanillaOrig_runPhase >/dev/null && [[ "$(declare -f runPhase)" == *_vanilla* ]]; then echo wrapped; fi
if [[ "${beforePhaseHooks[*]-}" == *_vanilla*BeforePhase* && "${afterPhaseHooks[*]-}" == *_vanilla*AfterPhase* ]]; then echo points; fi
`
			out, err := exec.Command("bash", "-c", script).CombinedOutput()
			if err != nil {
				t.Fatalf("%v\n%s", err, out)
			}
			lines := strings.Fields(string(out))
			if last := lines[len(lines)-1]; last != tt.want || strings.Count(string(out), "wrapped")+strings.Count(string(out), "points\n") != 1 {
				t.Errorf("got %q, want %s only", out, tt.want)
			}
			if strings.Contains(string(out), phaseHooksLine) != (tt.want == "points") {
				t.Errorf("the log line about the hook points: %q", out)
			}
		})
	}
}

// TestHookHoldPostBuild: with the hook points nothing wraps runHook, so
// while buildPhase runs the hook keeps the package's postBuild (attribute
// or function) and postBuildHooks aside. `runHook postBuild` then only
// records that it was called; afterwards everything is as it was, and
// runHook postBuild runs it all in order.
func TestHookHoldPostBuild(t *testing.T) {
	setup := patchedSetup(t)
	runHook := setup[strings.Index(setup, "\nrunHook() {")+1:]
	runHook = runHook[:strings.Index(runHook, "\n}\n")+3]
	callImplicit := setup[strings.Index(setup, "\n_callImplicitHook() {")+1:]
	callImplicit = callImplicit[:strings.Index(callImplicit, "\n}\n")+3]
	evalFn := setup[strings.Index(setup, "\n_eval() {")+1:]
	evalFn = evalFn[:strings.Index(evalFn, "\n}\n")+3]
	for _, tt := range []struct{ name, pkg, want string }{
		{"attribute and hooks", `postBuild='echo attribute'; postBuildHooks=(fromHook 'echo text')`, "attribute\nfrom hook\ntext\n"},
		{"function", `postBuild() { echo function; }`, "function\n"},
		{"hooks only", `postBuildHooks+=(fromHook)`, "from hook\n"},
		{"none", ``, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			script := "set -eu\nDIR=" + t.TempDir() + "\n" + runHook + callImplicit + evalFn + "source " + bed.Path("hooks/vanilla-hook.sh") + "\n" +
				"fromHook() { echo from hook; }\n" + tt.pkg + `
_vanillaPhaseHooks=1
state() { declare -p | grep -Ev '^declare -[-a-zA-Z]* (BASH[A-Z_]*|_|FUNCNAME|PIPESTATUS|LINENO|_vanilla[A-Za-z]*|held)='; declare -f; }
state >"$DIR/before"
_vanillaHoldPostBuild
held=$(runHook postBuild)
runHook postBuild
echo "held: [$held] ${vanillaRunPostBuild-not called}"
unset -v vanillaRunPostBuild held
_vanillaReleasePostBuild
state >"$DIR/after"
diff "$DIR/before" "$DIR/after" | head -5
runHook postBuild
`
			out, err := exec.Command("bash", "-c", script).CombinedOutput()
			if err != nil {
				t.Fatalf("%v\n%s", err, out)
			}
			if want := "held: [] 1\n" + tt.want; string(out) != want {
				t.Errorf("got:\n%s\nwant:\n%s", out, want)
			}
		})
	}
}
