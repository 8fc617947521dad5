package checkpoint

import (
	"io"
	"runtime"
	"sync"

	"github.com/klauspost/compress/zstd"
)

// frameSize is how much of the archive goes into one zstd frame. Frames
// are compressed independently, so on several cores they are compressed at
// once; larger frames compress a little better and use more memory.
const frameSize = 8 << 20

// A frameWriter compresses what is written to it as a sequence of
// independent zstd frames, several at a time, and writes them to w in
// order. Concatenated frames are one valid zstd stream: any decoder reads
// them as the whole data.
//
// klauspost's streaming encoder keeps a single frame, so it compresses on
// about one core; tar | zstd -T0 uses all of them.
type frameWriter struct {
	w   io.Writer
	enc *zstd.Encoder
	buf []byte
	// pending holds one channel per frame being compressed, in order.
	pending chan chan []byte
	done    chan struct{}
	mu      sync.Mutex
	err     error // the first error writing to w (guarded by mu)
	closed  bool
	pool    sync.Pool // of *[]byte, frameSize long
	ownEnc  bool      // Close closes enc
	// lengths are the sizes of the frames written to w, in order (read
	// them after Close).
	lengths []int64
	// started counts the frames started.
	started int
}

// newEncoder returns the encoder of a checkpoint's frames, compressing
// on up to workers goroutines. EncodeAll gives the same bytes for any
// number.
func newEncoder(level zstd.EncoderLevel, workers int) (*zstd.Encoder, error) {
	return zstd.NewWriter(nil, zstd.WithEncoderLevel(level), zstd.WithEncoderConcurrency(workers),
		zstd.WithWindowSize(frameSize))
}

func newFrameWriter(w io.Writer, level zstd.EncoderLevel) (*frameWriter, error) {
	workers := runtime.GOMAXPROCS(0)
	enc, err := newEncoder(level, workers)
	if err != nil {
		return nil, err
	}
	fw := newFrameWriterWith(w, enc, workers)
	fw.ownEnc = true
	return fw, nil
}

// newFrameWriterWith is newFrameWriter with an encoder of the caller's,
// which Close leaves open, and at most workers frames in flight.
func newFrameWriterWith(w io.Writer, enc *zstd.Encoder, workers int) *frameWriter {
	fw := &frameWriter{
		w:       w,
		enc:     enc,
		pending: make(chan chan []byte, workers),
		done:    make(chan struct{}),
	}
	fw.pool.New = func() any {
		b := make([]byte, 0, frameSize)
		return &b
	}
	fw.buf = (*fw.pool.Get().(*[]byte))[:0]
	go fw.drain()
	return fw
}

// drain writes compressed frames in the order they were started.
func (fw *frameWriter) drain() {
	defer close(fw.done)
	for ch := range fw.pending {
		frame := <-ch
		if fw.firstErr() == nil {
			if _, err := fw.w.Write(frame); err != nil {
				fw.mu.Lock()
				fw.err = err
				fw.mu.Unlock()
			} else {
				fw.lengths = append(fw.lengths, int64(len(frame)))
			}
		}
	}
}

// firstErr returns the first error writing to w so far.
func (fw *frameWriter) firstErr() error {
	fw.mu.Lock()
	defer fw.mu.Unlock()
	return fw.err
}

// Write buffers p and starts compressing each full frame. It returns the
// first error writing an earlier frame to w, once drain has met it: the
// frames in flight are written later, so an error shows a few frames
// after the data that caused it, and at the latest from Close.
func (fw *frameWriter) Write(p []byte) (int, error) {
	if err := fw.firstErr(); err != nil {
		return 0, err
	}
	n := 0
	for len(p) > 0 {
		k := min(len(p), frameSize-len(fw.buf))
		fw.buf = append(fw.buf, p[:k]...)
		p, n = p[k:], n+k
		if len(fw.buf) == frameSize {
			fw.flush()
			if err := fw.firstErr(); err != nil {
				return n, err
			}
		}
	}
	return n, nil
}

// flush starts compressing the buffered data as one frame.
func (fw *frameWriter) flush() {
	if len(fw.buf) == 0 {
		return
	}
	ch := make(chan []byte, 1)
	fw.pending <- ch // blocks while as many frames as cores are in flight
	fw.started++
	src := fw.buf
	fw.buf = (*fw.pool.Get().(*[]byte))[:0]
	go func() {
		frame := fw.enc.EncodeAll(src, make([]byte, 0, len(src)/2))
		src = src[:0]
		fw.pool.Put(&src)
		ch <- frame
	}()
}

// Cut ends the frame being filled, if it holds any data: what is written
// next starts a new frame, the one with the index Cut returns. A source
// copy cuts at the end of each of its groups ([copyLayout]), so that a
// group's frames depend only on its own files; an archive cuts where its
// outputs start ([Part]).
func (fw *frameWriter) Cut() int {
	fw.flush()
	return fw.started
}

// offset returns where the frame with index i starts in what was written
// to w (call it after Close).
func (fw *frameWriter) offset(i int) int64 {
	var n int64
	for _, l := range fw.lengths[:min(i, len(fw.lengths))] {
		n += l
	}
	return n
}

// WriteFrame cuts, then writes frame, compressed already (by
// [zstd.Encoder.EncodeAll] with the options of newFrameWriter), after the
// frames before it. The frameWriter keeps frame.
func (fw *frameWriter) WriteFrame(frame []byte) error {
	if err := fw.firstErr(); err != nil {
		return err
	}
	fw.flush()
	ch := make(chan []byte, 1)
	fw.pending <- ch
	fw.started++
	ch <- frame
	return nil
}

// Close compresses what is left, waits for every frame to be written and
// returns the first write error.
func (fw *frameWriter) Close() error {
	if fw.closed {
		return fw.firstErr()
	}
	fw.closed = true
	fw.flush()
	close(fw.pending)
	<-fw.done
	if fw.ownEnc {
		fw.enc.Close()
	}
	return fw.firstErr()
}
