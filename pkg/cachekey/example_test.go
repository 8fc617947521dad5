package cachekey_test

import (
	"fmt"

	"github.com/nix-vanilla/nix-vanilla/pkg/cachekey"
	"github.com/nix-vanilla/nix-vanilla/pkg/drvattrs"
)

// A postInstall change keeps the key of the point after buildPhase and
// changes the one after installPhase.
func ExampleCompute() {
	a := drvattrs.Attrs{
		"name": "hello-1.0", "outputs": "out",
		"out":       "/nix/store/hhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhh-hello-1.0",
		"makeFlags": "PREFIX=/nix/store/hhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhh-hello-1.0",
	}
	b := drvattrs.Attrs{
		"name": "hello-1.0", "outputs": "out", "postInstall": "wrapProgram $out/bin/hello",
		"out":       "/nix/store/jjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjj-hello-1.0",
		"makeFlags": "PREFIX=/nix/store/jjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjj-hello-1.0",
	}
	for _, p := range []cachekey.Point{cachekey.Build, cachekey.Install} {
		ka, _ := cachekey.Compute(a, p)
		kb, _ := cachekey.Compute(b, p)
		fmt.Printf("%s: same key %v\n", p, ka.Sum == kb.Sum)
	}
	// Output:
	// build: same key true
	// install: same key false
}
