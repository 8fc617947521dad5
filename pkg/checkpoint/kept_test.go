package checkpoint

import (
	"bytes"
	"io"
	"math/rand/v2"
	"testing"
)

// TestKeptStream: what precheck keeps reads back whole, across chunk
// boundaries, whatever the sizes of the writes and the reads; past
// maxDecoded nothing is kept.
func TestKeptStream(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	data := make([]byte, 3*keptChunk+12345)
	for i := range data {
		data[i] = byte(rng.IntN(256))
	}
	var k keptStream
	for rest := data; len(rest) > 0; {
		n := min(len(rest), 1+rng.IntN(300_000))
		if m, err := k.Write(rest[:n]); m != n || err != nil {
			t.Fatalf("Write = %d, %v", m, err)
		}
		rest = rest[n:]
	}
	if k.over || len(k.chunks) != 4 {
		t.Fatalf("kept %d chunks, over %v; want 4, false", len(k.chunks), k.over)
	}
	for _, size := range []int{1, 511, 512, keptChunk, 5 * keptChunk} {
		var b bytes.Buffer
		// The struct hides WriterTo, so that reads are size bytes at most.
		_, err := io.CopyBuffer(&b, struct{ io.Reader }{k.reader()}, make([]byte, size))
		if err != nil || !bytes.Equal(b.Bytes(), data) {
			t.Errorf("read with %d-byte buffers: %d bytes, %v; want the %d written", size, b.Len(), err, len(data))
		}
	}

	if n, err := k.reader().Read(nil); n != 0 || err != nil {
		t.Errorf("Read(nil) = %d, %v; want 0, nil", n, err)
	}

	defer func(was int64) { maxDecoded = was }(maxDecoded)
	maxDecoded = 1000
	var small keptStream
	small.Write(make([]byte, 600))
	small.Write(make([]byte, 600))
	small.Write(make([]byte, 1))
	if !small.over || small.chunks != nil {
		t.Errorf("past maxDecoded: over %v, %d chunks kept; want true, none", small.over, len(small.chunks))
	}
}
