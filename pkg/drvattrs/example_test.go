package drvattrs_test

import (
	"fmt"
	"strings"

	"github.com/nix-vanilla/nix-vanilla/pkg/drvattrs"
)

func ExampleCompare() {
	// The attributes of a split build's first stage, and of its final
	// stage after someone used lib.overrideDerivation on it.
	earlier, err := drvattrs.FromJSON([]byte(`{
		"name": "hello-2.12-build",
		"configureFlags": ["--prefix=/nix/store/0c7gj7ksb4wqqk3vr8ddnqjwz3cv2dgl-hello"],
		"buildInputs": "/nix/store/5bh6rpya1ar6l49vrhx1rg58dsa42906-zlib",
		"patches": []
	}`))
	if err != nil {
		fmt.Println(err)
		return
	}
	later, err := drvattrs.FromJSON([]byte(`{
		"name": "hello-2.12",
		"configureFlags": ["--prefix=/nix/store/1cy5sf6qk8xyhmr48a3rk2p99dm81kd4-hello"],
		"buildInputs": "/nix/store/5bh6rpya1ar6l49vrhx1rg58dsa42906-zlib /nix/store/9krlzvny65gdc8s7kpb6lkx8cd02c25c-doc",
		"patches": ["fix.patch"],
		"doInstallCheck": true
	}`))
	if err != nil {
		fmt.Println(err)
		return
	}

	changes := drvattrs.Compare(earlier, later, drvattrs.CompareOptions{
		// Each stage has a name of its own.
		Ignore: func(name string) bool { return name == "name" },
		// The final stage runs the install checks.
		Own: func(name string) bool { return name == "doInstallCheck" },
		// The earlier stage's output hash is the later one's.
		Rewrite: func(s string) string {
			return strings.ReplaceAll(s, "0c7gj7ksb4wqqk3vr8ddnqjwz3cv2dgl", "1cy5sf6qk8xyhmr48a3rk2p99dm81kd4")
		},
		// Late inputs were left out of the earlier stage's lists.
		Allow: func(_, was, now string) bool { return drvattrs.OnlyAddsStorePaths("/nix/store", was, now) },
	})
	for _, c := range changes {
		fmt.Printf("%v: %s -> %s\n", c, c.Was, c.Now)
	}
	// Output:
	// patches differs: [] -> ["fix.patch"]
}
