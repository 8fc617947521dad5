package codesign_test

import (
	"bytes"
	"fmt"

	"github.com/nix-vanilla/nix-vanilla/pkg/codesign"
)

func ExampleFix() {
	// A signed arm64 executable whose data names a store path (built here
	// without a linker; see the tests for files linked by lld).
	orig := codesign.Synth{
		Body:       []byte("prefix=/nix/store/0c7gj7ksb4wqqk3vr8ddnqjwz3cv2dgl-hello\x00"),
		Identifier: "hello",
	}.Build()

	// Rewrite the store hash at equal length: the page's hash is stale.
	cur := bytes.ReplaceAll(orig,
		[]byte("0c7gj7ksb4wqqk3vr8ddnqjwz3cv2dgl"), []byte("1cy5sf6qk8xyhmr48a3rk2p99dm81kd4"))
	fmt.Println("before Fix:", codesign.Verify(cur))

	if !codesign.IsMachO(cur) {
		return
	}
	n, err := codesign.Fix(cur, orig)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("hashes fixed:", n)
	fmt.Println("after Fix:", codesign.Verify(cur))
	// Output:
	// before Fix: mach-o: signature does not verify (1 stale hashes): arm64 CodeDirectory (SHA-256) page 0
	// hashes fixed: 1
	// after Fix: <nil>
}

func ExampleParse() {
	thin := codesign.Synth{Body: make([]byte, 5000), Identifier: "tool"}.Build()
	f, err := codesign.Parse(codesign.Lipo(false, 14, thin, thin))
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, s := range f.Slices {
		d := s.Signature.Directories[0]
		fmt.Printf("%s at %d: UUID at %d, %d pages of %d bytes, %q, ad hoc %v\n",
			s.Arch, s.Offset, s.UUID, d.CodeSlots, d.PageSize, d.Identifier, d.Adhoc())
	}
	// Output:
	// arm64 at 16384: UUID at 16424, 2 pages of 4096 bytes, "tool", ad hoc true
	// arm64 at 32768: UUID at 32808, 2 pages of 4096 bytes, "tool", ad hoc true
}
