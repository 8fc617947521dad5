package zipcrc_test

import (
	"archive/zip"
	"bytes"
	"fmt"
	"io"
	"time"

	"github.com/nix-vanilla/nix-vanilla/pkg/zipcrc"
)

// readAll reads every member of a zip archive, which checks their CRCs.
func readAll(data []byte) error {
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		return err
	}
	for _, f := range zr.File {
		rc, err := f.Open()
		if err != nil {
			return err
		}
		_, err = io.Copy(io.Discard, rc)
		rc.Close()
		if err != nil {
			return fmt.Errorf("%s: %w", f.Name, err)
		}
	}
	return nil
}

func ExampleFix() {
	// A jar whose stored (uncompressed) member names a store path.
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	w, err := zw.CreateHeader(&zip.FileHeader{
		Name:     "META-INF/paths.properties",
		Method:   zip.Store,
		Modified: time.Date(1980, 1, 1, 0, 0, 0, 0, time.UTC),
	})
	if err == nil {
		_, err = io.WriteString(w, "home=/nix/store/0c7gj7ksb4wqqk3vr8ddnqjwz3cv2dgl-openjdk\n")
	}
	if err == nil {
		err = zw.Close()
	}
	if err != nil {
		fmt.Println(err)
		return
	}
	orig := buf.Bytes()

	// Rewriting the store hash at equal length makes the member's CRC stale.
	cur := bytes.ReplaceAll(orig,
		[]byte("0c7gj7ksb4wqqk3vr8ddnqjwz3cv2dgl"), []byte("1cy5sf6qk8xyhmr48a3rk2p99dm81kd4"))
	fmt.Println("before Fix:", readAll(cur))

	if !zipcrc.IsZip(cur) {
		return
	}
	// A stored member that is a zip itself would be fixed through inner;
	// this archive has none.
	n, err := zipcrc.Fix(cur, orig, nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("CRCs fixed:", n)
	fmt.Println("after Fix:", readAll(cur))
	// Output:
	// before Fix: META-INF/paths.properties: zip: checksum error
	// CRCs fixed: 1
	// after Fix: <nil>
}
