package tarsum_test

import (
	"archive/tar"
	"bytes"
	"fmt"
	"io"
	"time"

	"github.com/nix-vanilla/nix-vanilla/pkg/tarsum"
)

func ExampleFix() {
	// A build left an uncompressed tarball whose member names hold its
	// store path.
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	body := "hello\n"
	err := tw.WriteHeader(&tar.Header{
		Name:    "nix/store/0c7gj7ksb4wqqk3vr8ddnqjwz3cv2dgl-hello/share/greeting",
		Mode:    0o644,
		Size:    int64(len(body)),
		ModTime: time.Unix(1, 0),
	})
	if err == nil {
		_, err = io.WriteString(tw, body)
	}
	if err == nil {
		err = tw.Close()
	}
	if err != nil {
		fmt.Println(err)
		return
	}
	orig := buf.Bytes()
	fmt.Println("tar:", tarsum.IsTar(orig))

	// Rewriting the store hash at equal length makes the header checksum stale.
	cur := bytes.ReplaceAll(orig,
		[]byte("0c7gj7ksb4wqqk3vr8ddnqjwz3cv2dgl"), []byte("1cy5sf6qk8xyhmr48a3rk2p99dm81kd4"))
	_, err = tar.NewReader(bytes.NewReader(cur)).Next()
	fmt.Println("before Fix:", err)
	// IsTar checks the checksum too: ask it about the bytes the build wrote.
	fmt.Println("tar:", tarsum.IsTar(cur))

	// No member needs a fix of its own (a PNG or zip would): inner is nil.
	n, err := tarsum.Fix(cur, orig, nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("checksums fixed:", n)
	hdr, err := tar.NewReader(bytes.NewReader(cur)).Next()
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("after Fix:", hdr.Name)
	// Output:
	// tar: true
	// before Fix: archive/tar: invalid tar header
	// tar: false
	// checksums fixed: 1
	// after Fix: nix/store/1cy5sf6qk8xyhmr48a3rk2p99dm81kd4-hello/share/greeting
}
