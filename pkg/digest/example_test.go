package digest_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"

	"github.com/nix-vanilla/nix-vanilla/pkg/digest"
)

func Example() {
	// A build wrote lib/pkgconfig/foo.pc and, in another file, its SHA-256.
	before := []byte("prefix=/nix/store/0c7gj7ksb4wqqk3vr8ddnqjwz3cv2dgl-foo\n")
	sum := sha256.Sum256(before)
	sums := []byte(hex.EncodeToString(sum[:]) + "  lib/pkgconfig/foo.pc\n")

	// Rewriting its store hash changes its bytes, so the recorded digest is stale.
	after := bytes.ReplaceAll(before,
		[]byte("0c7gj7ksb4wqqk3vr8ddnqjwz3cv2dgl"), []byte("1cy5sf6qk8xyhmr48a3rk2p99dm81kd4"))

	r := digest.New([]digest.Change{{Old: digest.Of(before), New: digest.Of(after)}})
	n := r.Bytes(sums)

	want := sha256.Sum256(after)
	fmt.Println("replaced:", n)
	fmt.Println("SHA256SUMS up to date:", bytes.HasPrefix(sums, []byte(hex.EncodeToString(want[:]))))
	// Output:
	// replaced: 1
	// SHA256SUMS up to date: true
}
