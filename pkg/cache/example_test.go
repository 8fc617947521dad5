package cache_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/nix-vanilla/nix-vanilla/pkg/cache"
)

// A build stores its checkpoint under a key; a later build with the same
// key finds it, and one whose source changed learns why it missed.
func Example() {
	dir, _ := os.MkdirTemp("", "cache-example")
	defer os.RemoveAll(dir)
	c, err := cache.Open(dir) // an empty directory becomes a cache
	if err != nil {
		panic(err)
	}
	key := strings.Repeat("ab", 32)
	info := cache.Info{Key: key, Name: "hello-2.12", Point: "build",
		Attrs: map[string]string{"src": "1111", "patches": "2222"}}
	err = c.Put(info, func(dir string) error {
		return os.WriteFile(filepath.Join(dir, "manifest.json"), []byte("{}\n"), 0o644)
	})
	if err != nil {
		panic(err)
	}

	e, err := c.Get(key)
	if err != nil {
		panic(err)
	}
	data, _ := os.ReadFile(filepath.Join(e.Dir, "manifest.json"))
	fmt.Printf("hit: %s, %d bytes: %s", e.Info.Name, e.Info.Size, data)
	e.Close()

	_, err = c.Get(strings.Repeat("cd", 32))
	fmt.Println("other key:", errors.Is(err, cache.ErrNotFound))
	near, diff, _ := c.Nearest("hello-2.12", "build", map[string]string{"src": "3333", "patches": "2222"})
	fmt.Println("nearest:", near.Key[:12], "differs in", diff)
	// Output:
	// hit: hello-2.12, 3 bytes: {}
	// other key: true
	// nearest: abababababab differs in [src]
}
