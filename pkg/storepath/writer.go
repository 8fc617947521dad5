package storepath

import (
	"errors"
	"io"
	"sync"
)

// writerChunk is how much a Writer rewrites at a time.
const writerChunk = 64 << 10

var writerBufs = sync.Pool{New: func() any {
	b := make([]byte, HashLen-1+writerChunk)
	return &b
}}

// ErrClosed is returned by a Writer's methods after Close.
var ErrClosed = errors.New("storepath: writer closed")

// Writer is an io.WriteCloser that rewrites old hashes in what passes
// through it to an underlying writer. A hash cut across two Writes is
// still replaced: after each Write returns, everything written has been
// passed on except at most HashLen-1 bytes that could be the start of a
// hash. Close (or Flush) passes those on. The result does not depend on
// how the input is cut into Writes.
//
// A Writer is not safe for concurrent use.
type Writer struct {
	r      *Rewriter
	w      io.Writer
	bufp   *[]byte // buf: held-back bytes, then room for one chunk
	held   int     // number of bytes at the start of buf held back
	n      int
	err    error
	closed bool
}

// Writer returns a Writer that rewrites what is written to it and writes
// the result to w. Close it to pass on the last bytes; closing it does not
// close w.
func (r *Rewriter) Writer(w io.Writer) *Writer {
	return &Writer{r: r, w: w}
}

// Count returns the number of hashes replaced so far.
func (w *Writer) Count() int { return w.n }

func (w *Writer) buf() []byte {
	if w.bufp == nil {
		w.bufp = writerBufs.Get().(*[]byte)
	}
	return *w.bufp
}

// Write rewrites p and writes the result, except up to HashLen-1 trailing
// bytes, to the underlying writer. It never modifies p.
func (w *Writer) Write(p []byte) (int, error) {
	if err := w.check(); err != nil {
		return 0, err
	}
	done := 0
	for len(p) > 0 {
		buf := w.buf()
		c := copy(buf[w.held:], p)
		if err := w.emit(buf[:w.held+c], false); err != nil {
			return done, err
		}
		done += c
		p = p[c:]
	}
	return done, nil
}

// ReadFrom reads from src until EOF, rewriting as Write does, and returns
// the number of bytes read. It lets io.Copy read straight into the
// Writer's buffer.
func (w *Writer) ReadFrom(src io.Reader) (int64, error) {
	if err := w.check(); err != nil {
		return 0, err
	}
	var total int64
	for {
		buf := w.buf()
		c, rerr := fill(src, buf[w.held:])
		total += int64(c)
		if c > 0 {
			if err := w.emit(buf[:w.held+c], false); err != nil {
				return total, err
			}
		}
		if rerr == io.EOF {
			return total, nil
		} else if rerr != nil {
			return total, rerr
		}
	}
}

// Flush writes the held-back bytes to the underlying writer, treating
// what was written so far as complete: a hash cut by a Flush (its start
// written before, its end after) is not replaced. Writes may follow.
func (w *Writer) Flush() error {
	if err := w.check(); err != nil {
		return err
	}
	if w.held == 0 {
		return nil
	}
	return w.emit(w.buf()[:w.held], true)
}

// Close flushes the held-back bytes and releases the Writer's buffer. It
// does not close the underlying writer. Calling Close again does nothing.
func (w *Writer) Close() error {
	if w.closed {
		return nil
	}
	err := w.Flush()
	w.closed = true
	if w.bufp != nil {
		writerBufs.Put(w.bufp)
		w.bufp = nil
	}
	return err
}

func (w *Writer) check() error {
	if w.closed {
		return ErrClosed
	}
	return w.err
}

// emit rewrites b (which starts at the held-back bytes of buf), writes
// all of it that is decided, and moves the rest to the start of buf. If
// final, all of b is decided.
func (w *Writer) emit(b []byte, final bool) error {
	n, _, end, keep := w.r.rewritePart(b, final)
	w.n += n
	out := len(b)
	if !final && w.r.shift != nil {
		// A window starting at or after len(b)-(HashLen-1) is incomplete;
		// bytes covered by a replacement are decided, and a seed's flag
		// is kept with its undecided window.
		out = min(max(len(b)-(HashLen-1), end, 0), keep)
	}
	if out > 0 {
		m, err := w.w.Write(b[:out])
		if err == nil && m < out {
			err = io.ErrShortWrite
		}
		if err != nil {
			w.err = err
			return err
		}
	}
	w.held = copy(b[:cap(b)], b[out:])
	return nil
}

// fill reads into buf until it is full or rd fails. Unlike io.ReadFull it
// returns rd's error as is: io.EOF at the end of rd, however much was read.
func fill(rd io.Reader, buf []byte) (n int, err error) {
	for n < len(buf) && err == nil {
		var m int
		m, err = rd.Read(buf[n:])
		n += m
	}
	return n, err
}
