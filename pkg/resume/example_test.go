package resume_test

import (
	"fmt"
	"os"

	"github.com/nix-vanilla/nix-vanilla/pkg/cache"
	"github.com/nix-vanilla/nix-vanilla/pkg/drvattrs"
	"github.com/nix-vanilla/nix-vanilla/pkg/resume"
)

// Lookup on an empty cache misses and says why.
func ExampleLookup() {
	dir, _ := os.MkdirTemp("", "cache")
	defer os.RemoveAll(dir)
	c, err := cache.Open(dir)
	if err != nil {
		panic(err)
	}
	d, err := resume.Lookup(resume.LookupOptions{Cache: c, Name: "hello-1.0", Attrs: drvattrs.Attrs{
		"name": "hello-1.0", "outputs": "out", "out": "/nix/store/hhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhh-hello-1.0",
	}})
	if err != nil {
		panic(err)
	}
	fmt.Println(d.Hit, d.Reason)
	// Output: false no entry of hello-1.0
}
