package checkpoint

import (
	"bytes"
	"errors"
	"io"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/klauspost/compress/zstd"
)

// TestFrameWriter checks that the frames, concatenated, decode to exactly
// what was written, however the writes were cut.
func TestFrameWriter(t *testing.T) {
	for _, size := range []int{0, 1, frameSize - 1, frameSize, frameSize + 1, 3*frameSize + 12345} {
		data := make([]byte, size)
		rand.NewChaCha8([32]byte{byte(size)}).Read(data[:size/2]) // half noise, half zeros
		var out bytes.Buffer
		fw, err := newFrameWriter(&out, zstd.SpeedFastest)
		if err != nil {
			t.Fatal(err)
		}
		for rest, step := data, 1; len(rest) > 0; step = step*7 + 1 {
			n := min(step, len(rest))
			if _, err := fw.Write(rest[:n]); err != nil {
				t.Fatal(err)
			}
			rest = rest[n:]
		}
		if err := fw.Close(); err != nil {
			t.Fatal(err)
		}
		zr, err := zstd.NewReader(&out)
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(zr)
		zr.Close()
		if err != nil {
			t.Fatalf("size %d: %v", size, err)
		}
		if !bytes.Equal(got, data) {
			t.Errorf("size %d: decoded %d bytes, not what was written", size, len(got))
		}
	}
}

type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

// TestFrameWriterError checks that a failed write reaches Close.
func TestFrameWriterError(t *testing.T) {
	fw, err := newFrameWriter(failingWriter{}, zstd.SpeedFastest)
	if err != nil {
		t.Fatal(err)
	}
	fw.Write(make([]byte, 2*frameSize+1))
	if err := fw.Close(); err == nil || err.Error() != "disk full" {
		t.Errorf("Close = %v, want disk full", err)
	}
}

// TestFrameWriterWriteError checks that Write, not only Close, reports a
// failed write of an earlier frame (a full disk), and keeps reporting it.
func TestFrameWriterWriteError(t *testing.T) {
	fw, err := newFrameWriter(failingWriter{}, zstd.SpeedFastest)
	if err != nil {
		t.Fatal(err)
	}
	defer fw.Close()
	if _, err := fw.Write(make([]byte, frameSize)); err != nil && err.Error() != "disk full" {
		t.Fatalf("Write = %v", err)
	}
	// The frame is written to w in the background: Write reports its
	// failure once it is known.
	deadline := time.Now().Add(10 * time.Second)
	for {
		_, err = fw.Write([]byte{1})
		if err != nil || time.Now().After(deadline) {
			break
		}
		time.Sleep(time.Millisecond)
	}
	if err == nil || err.Error() != "disk full" {
		t.Fatalf("Write after a failed frame = %v, want disk full", err)
	}
	if n, err := fw.Write(make([]byte, 10)); n != 0 || err == nil {
		t.Errorf("Write after the failure = %d, %v; want 0 and the error", n, err)
	}
	if err := fw.Close(); err == nil || err.Error() != "disk full" {
		t.Errorf("Close = %v, want disk full", err)
	}
}
