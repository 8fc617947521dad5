package testbed

import (
	"os/exec"
	"strings"
	"testing"
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
