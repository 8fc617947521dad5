package unpack

import (
	"bufio"
	"bytes"
	"compress/bzip2"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
)

// decompress opens a tarball and returns its tar stream, decompressed
// by its magic number (as GNU tar recognises it), and a function that
// closes it: failed says that reading stopped early, so that a
// decompressor's complaint about a closed pipe is not an error.
//
// maxWindow, when positive, bounds the window a zstd frame may ask for
// (the decoder's memory), for sources that are not trusted.
func decompress(src string, threads int, lookPath func(string) (string, error), maxWindow uint64) (io.Reader, func(failed bool) error, error) {
	if lookPath == nil {
		lookPath = exec.LookPath
	}
	f, err := os.Open(src)
	if err != nil {
		return nil, nil, err
	}
	br := bufio.NewReaderSize(f, 1<<20)
	magic, _ := br.Peek(512)
	closeFile := func(bool) error { return f.Close() }
	switch {
	case bytes.HasPrefix(magic, []byte{0x1f, 0x8b}):
		zr, err := gzip.NewReader(br)
		if err != nil {
			f.Close()
			return nil, nil, err
		}
		return zr, func(failed bool) error {
			zr.Close()
			return f.Close()
		}, nil
	case bytes.HasPrefix(magic, []byte{0x28, 0xb5, 0x2f, 0xfd}):
		opts := []zstd.DOption{zstd.WithDecoderConcurrency(threads), zstd.WithDecoderMaxMemory(1 << 34)}
		if maxWindow > 0 {
			opts = append(opts, zstd.WithDecoderMaxWindow(maxWindow))
		}
		zr, err := zstd.NewReader(br, opts...)
		if err != nil {
			f.Close()
			return nil, nil, err
		}
		return zr, func(bool) error {
			zr.Close()
			return f.Close()
		}, nil
	case bytes.HasPrefix(magic, []byte{0xfd, '7', 'z', 'X', 'Z', 0}), bytes.HasPrefix(magic, []byte{0x5d, 0, 0}):
		// stdenv runs `xz -d` with XZ_OPT=--threads=$NIX_BUILD_CORES.
		return program(f, br, lookPath, "xz", "-dc", "--threads="+strconv.Itoa(threads))
	case bytes.HasPrefix(magic, []byte("BZh")):
		if _, err := lookPath("bzip2"); err == nil {
			return program(f, br, lookPath, "bzip2", "-dc")
		}
		return bzip2.NewReader(br), closeFile, nil
	case isTar(magic):
		return br, closeFile, nil
	}
	f.Close()
	return nil, nil, &NotReproducedError{Source: src, Err: errors.New("compressed in a format this helper does not read (not gzip, bzip2, xz, lzma or zstd)")}
}

// isTar reports whether a block is a tar header: its checksum is right.
func isTar(b []byte) bool {
	if len(b) < 512 {
		return false
	}
	field := bytes.TrimRight(bytes.TrimLeft(b[148:156], " "), " \x00")
	want, err := strconv.ParseInt(string(field), 8, 64)
	if err != nil {
		return false
	}
	var sum int64
	for i, c := range b[:512] {
		if i >= 148 && i < 156 {
			c = ' '
		}
		sum += int64(c)
	}
	return sum == want
}

// program decompresses r with an external program.
func program(f *os.File, r io.Reader, lookPath func(string) (string, error), name string, args ...string) (io.Reader, func(bool) error, error) {
	p, err := lookPath(name)
	if err != nil {
		f.Close()
		return nil, nil, &NotReproducedError{Source: f.Name(), Err: fmt.Errorf("no %s program on PATH", name)}
	}
	cmd := exec.Command(p, args...)
	cmd.Stdin = r
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		f.Close()
		return nil, nil, err
	}
	if err := cmd.Start(); err != nil {
		f.Close()
		return nil, nil, err
	}
	return out, func(failed bool) error {
		if failed {
			cmd.Process.Kill()
		} else {
			// What the tar reader left: the end-of-archive blocks'
			// padding.
			io.Copy(io.Discard, out)
		}
		err := cmd.Wait()
		f.Close()
		if err != nil && !failed {
			return fmt.Errorf("%s %s: %v: %s", name, f.Name(), err, bytes.TrimSpace(stderr.Bytes()))
		}
		return nil
	}, nil
}
