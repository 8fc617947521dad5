package pngcrc_test

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"image"
	"image/png"

	"github.com/nix-vanilla/nix-vanilla/pkg/pngcrc"
)

// pngWithText returns a 1x1 PNG with a tEXt chunk holding text.
func pngWithText(text string) []byte {
	var img bytes.Buffer
	if err := png.Encode(&img, image.NewGray(image.Rect(0, 0, 1, 1))); err != nil {
		panic(err)
	}
	data := "Comment\x00" + text
	chunk := binary.BigEndian.AppendUint32(nil, uint32(len(data)))
	chunk = append(chunk, "tEXt"+data...)
	chunk = binary.BigEndian.AppendUint32(chunk, crc32.ChecksumIEEE(chunk[4:]))
	// After the signature (8 bytes) and the IHDR chunk (25 bytes).
	b := img.Bytes()
	return append(b[:33:33], append(chunk, b[33:]...)...)
}

func ExampleFix() {
	orig := pngWithText("made in /nix/store/0c7gj7ksb4wqqk3vr8ddnqjwz3cv2dgl-icons")

	// Rewrite the store hash at equal length: the tEXt chunk's CRC is stale.
	cur := bytes.ReplaceAll(orig,
		[]byte("0c7gj7ksb4wqqk3vr8ddnqjwz3cv2dgl"), []byte("1cy5sf6qk8xyhmr48a3rk2p99dm81kd4"))
	_, err := png.Decode(bytes.NewReader(cur))
	fmt.Println("before Fix:", err)

	if !pngcrc.IsPNG(cur) {
		return
	}
	n, err := pngcrc.Fix(cur, orig)
	if err != nil {
		fmt.Println(err)
		return
	}
	_, err = png.Decode(bytes.NewReader(cur))
	fmt.Println("CRCs fixed:", n)
	fmt.Println("after Fix:", err)
	// Output:
	// before Fix: png: invalid format: invalid checksum
	// CRCs fixed: 1
	// after Fix: <nil>
}
