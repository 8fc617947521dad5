package phases_test

import (
	"fmt"

	"github.com/nix-vanilla/nix-vanilla/pkg/phases"
)

func ExampleAfterHook() {
	// An installPhase that, against convention, keeps working after its
	// postInstall hook; a split that runs postInstall in a later stage
	// would run the rm before the hook.
	installPhase := `
runHook preInstall
make install
runHook postInstall
rm -r "$out/share/doc"
`
	tails, err := phases.AfterHook(installPhase, "postInstall", "installPhase")
	if err != nil {
		fmt.Println(err)
		return
	}
	if len(tails) > 0 {
		err = &phases.TailError{Phase: "installPhase", Hook: "postInstall", Tails: tails}
		fmt.Println(err)
	}
	// Output:
	// installPhase runs commands after `runHook postInstall` (line 5: rm -r "$out/share/doc")
}
