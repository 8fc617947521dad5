package derivation_test

import (
	"fmt"

	"github.com/nix-vanilla/nix-vanilla/pkg/derivation"
)

func ExampleParse() {
	drv := `Derive([("out","/nix/store/q575b6y5dw3v1ikgkir81l86qd0p7f77-hello-1.0","","")],` +
		`[("/nix/store/3fj7fwyf25m4zh2mki6g9lirhp07fnqp-stdenv.drv",["out"])],[],"x86_64-linux","/bin/bash",["-e","builder.sh"],` +
		`[("name","hello-1.0"),("postFixup","wrapProgram $out/bin/hello \\\n  --set GREETING hi")])`
	d, err := derivation.Parse("hello.drv", []byte(drv))
	if err != nil {
		fmt.Println(err)
		return
	}
	postFixup, _ := d.Getenv("postFixup")
	fmt.Println(d.InputDrvs[0].Path)
	fmt.Println(postFixup)

	_, err = derivation.Parse("broken.drv", []byte(`Derive([("out","/nix/store/x"]`))
	fmt.Println(err)
	// Output:
	// /nix/store/3fj7fwyf25m4zh2mki6g9lirhp07fnqp-stdenv.drv
	// wrapProgram $out/bin/hello \
	//   --set GREETING hi
	// broken.drv:1:30: expected ',', found ']'
}
