package explain_test

import (
	"fmt"
	"os"

	"github.com/nix-vanilla/nix-vanilla/pkg/derivation"
	"github.com/nix-vanilla/nix-vanilla/pkg/explain"
)

func ExampleExplain() {
	files := map[string]string{
		"/nix/store/0c7gj7ksb4wqqk3vr8ddnqjwz3cv2dgl-hello-1.0.drv": `Derive([("out","/nix/store/1cy5sf6qk8xyhmr48a3rk2p99dm81kd4-hello-1.0","","")],[],[],"x86_64-linux","/bin/sh",[],` +
			`[("makeFlags","PREFIX=/nix/store/1cy5sf6qk8xyhmr48a3rk2p99dm81kd4-hello-1.0"),("name","hello-1.0"),("out","/nix/store/1cy5sf6qk8xyhmr48a3rk2p99dm81kd4-hello-1.0"),("postInstall","")])`,
		"/nix/store/9iwdal73xphl6ijxz3rqhqi0awmzyp78-hello-1.0.drv": `Derive([("out","/nix/store/q575b6y5dw3v1ikgkir81l86qd0p7f77-hello-1.0","","")],[],[],"x86_64-linux","/bin/sh",[],` +
			`[("makeFlags","PREFIX=/nix/store/q575b6y5dw3v1ikgkir81l86qd0p7f77-hello-1.0"),("name","hello-1.0"),("out","/nix/store/q575b6y5dw3v1ikgkir81l86qd0p7f77-hello-1.0"),("postInstall","ln -s hello $out/bin/hi")])`,
	}
	read := func(p string) (*derivation.Derivation, error) {
		text, ok := files[p]
		if !ok {
			return nil, os.ErrNotExist
		}
		return derivation.Parse(p, []byte(text))
	}
	r, err := explain.Explain("/nix/store/0c7gj7ksb4wqqk3vr8ddnqjwz3cv2dgl-hello-1.0.drv",
		"/nix/store/9iwdal73xphl6ijxz3rqhqi0awmzyp78-hello-1.0.drv", explain.Options{Read: read, Depth: 3})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, a := range r.Diff.Attrs {
		fmt.Printf("%s %s (%s), from the %s stage\n", a.Name, a.Change, a.Summary, a.Stage)
	}
	fmt.Println("consequences:", r.Diff.Consequences)
	fmt.Println("with vanillaPackage = true, rebuilt from the", r.WouldRebuild, "stage")
	// Output:
	// postInstall changed (+ "ln -s hello $out/bin/hi"), from the unwrapped stage
	// consequences: [makeFlags out]
	// with vanillaPackage = true, rebuilt from the unwrapped stage
}
