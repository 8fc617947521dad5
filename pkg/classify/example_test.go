package classify_test

import (
	"fmt"

	"github.com/nix-vanilla/nix-vanilla/pkg/classify"
)

func ExampleTable_Of() {
	t := classify.Default()
	for _, attr := range []string{"postFixup", "postInstall", "configureFlags"} {
		fmt.Println(attr, t.Of(attr))
	}
	// Output:
	// postFixup final
	// postInstall unwrapped
	// configureFlags early
}
