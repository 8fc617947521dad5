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

func ExampleReproducible() {
	// Before rewriting a file's store paths: is its build-id ld's, so
	// that recomputing it afterwards gives the id ld would have written?
	data := []byte("#!/bin/sh\necho hello\n") // one of a package's files
	ours, err := elfid.Reproducible(data)
	var unsupported *elfid.UnsupportedError
	switch {
	case errors.Is(err, elfid.ErrNotELF), errors.Is(err, elfid.ErrNoBuildID):
		fmt.Println("no build-id: rewrite the file only")
	case errors.As(err, &unsupported):
		fmt.Println("keep the old build-id:", unsupported.Reason)
	case err != nil:
		log.Fatal(err)
	case !ours:
		fmt.Println("stripped or patched after linking: keep the old build-id")
	default:
		fmt.Println("rewrite, then elfid.Recompute")
	}
	// Output: no build-id: rewrite the file only
}
