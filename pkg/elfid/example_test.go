package elfid_test

import (
	"errors"
	"fmt"
	"log"

	"github.com/nix-vanilla/nix-vanilla/pkg/elfid"
)

func ExampleFile() {
	// After rewriting store paths in result/bin/hello:
	changed, err := elfid.File("result/bin/hello")
	var unsupported *elfid.UnsupportedError
	switch {
	case errors.Is(err, elfid.ErrNoBuildID):
		// Nothing to update.
	case errors.As(err, &unsupported):
		log.Printf("warning: %v", err)
	case err != nil:
		log.Fatal(err)
	case changed:
		fmt.Println("build-id updated")
	}
}
