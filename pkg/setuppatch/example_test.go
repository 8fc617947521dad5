package setuppatch_test

import (
	"fmt"

	"github.com/nix-vanilla/nix-vanilla/pkg/setuppatch"
)

func ExamplePatch() {
	setup := `genericBuild() {
    for curPhase in ${phases[*]}; do
        runPhase "$curPhase"
    done
}
`
	out, err := setuppatch.Patch("setup.sh", []byte(setup))
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Print(string(out))

	_, err = setuppatch.Patch("old-setup.sh", []byte("genericBuild() {\n    for curPhase in $phases; do\n        eval \"${!curPhase:-$curPhase}\"\n    done\n}\n"))
	fmt.Println(err)
	// Output:
	// genericBuild() {
	//     for curPhase in ${phases[*]}; do
	//         # Setup hooks can act between the phases, to save a checkpoint of the
	//         # build or to resume one: runHook passes them the phase's name
	//         # (beforePhaseHooks+=(f), afterPhaseHooks+=(f)), and a beforePhase
	//         # hook that sets skipPhase=1 skips the phase; afterPhase follows only
	//         # a phase that ran.
	//         runHook beforePhase "$curPhase"
	//         if [ -z "${skipPhase:-}" ]; then
	//             runPhase "$curPhase"
	//             runHook afterPhase "$curPhase"
	//         fi
	//         unset -v skipPhase
	//     done
	// }
	// old-setup.sh:3:9: not a setup.sh this patch knows: expected the loop body `runPhase "$curPhase"` (or this patch's hook points around it), found `eval "${!curPhase:-$curPhase}"`
}
