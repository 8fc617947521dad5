package storepath_test

import (
	"fmt"
	"os"

	"github.com/nix-vanilla/nix-vanilla/pkg/storepath"
)

func Example() {
	r, err := storepath.NewRewriter(map[string]string{
		// old output hash -> new output hash
		"0c7gj7ksb4wqqk3vr8ddnqjwz3cv2dgl": "1cy5sf6qk8xyhmr48a3rk2p99dm81kd4",
	})
	if err != nil {
		fmt.Println(err)
		return
	}

	b := []byte("#!/nix/store/0c7gj7ksb4wqqk3vr8ddnqjwz3cv2dgl-hello/bin/sh\n")
	n := r.ReplaceBytes(b)
	fmt.Printf("%d: %s", n, b)

	// The same as a stream: a hash cut across two writes is still found.
	w := r.Writer(os.Stdout)
	fmt.Fprint(w, "PATH=/nix/store/0c7gj7ksb4wqq")
	fmt.Fprint(w, "k3vr8ddnqjwz3cv2dgl-hello/bin\n")
	w.Close()
	fmt.Println(w.Count())
	// Output:
	// 1: #!/nix/store/1cy5sf6qk8xyhmr48a3rk2p99dm81kd4-hello/bin/sh
	// PATH=/nix/store/1cy5sf6qk8xyhmr48a3rk2p99dm81kd4-hello/bin
	// 1
}

func ExampleParse() {
	p, err := storepath.Parse("/nix/store/0c7gj7ksb4wqqk3vr8ddnqjwz3cv2dgl-hello-2.12")
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(p.Dir)
	fmt.Println(p.Hash)
	fmt.Println(p.Name)

	_, err = storepath.Parse("/nix/store/0c7gj7ksb4wqqk3vr8ddnqjwz3cv2dgl-hello-2.12/bin/hello")
	fmt.Println(err)
	// Output:
	// /nix/store
	// 0c7gj7ksb4wqqk3vr8ddnqjwz3cv2dgl
	// hello-2.12
	// "/nix/store/0c7gj7ksb4wqqk3vr8ddnqjwz3cv2dgl-hello-2.12/bin/hello" is not a store path: "hello" does not start with a store hash
}
