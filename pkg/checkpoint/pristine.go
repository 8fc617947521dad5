package checkpoint

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"runtime"
	"syscall"
	"time"

	"github.com/klauspost/compress/zstd"
	"golang.org/x/sync/errgroup"
)

// readPristine reads the list of pristine files; size is the manifest's
// account of its uncompressed size, which bounds what is read.
func readPristine(dir string, size int64) ([]pristineEntry, error) {
	f, err := os.Open(dir + "/" + PristineFile)
	if err != nil {
		return nil, &CorruptError{Dir: dir, Err: err}
	}
	defer f.Close()
	zr, err := zstd.NewReader(f, zstd.WithDecoderConcurrency(1))
	if err != nil {
		return nil, &CorruptError{Dir: dir, Err: err}
	}
	defer zr.Close()
	lr := &io.LimitedReader{R: zr, N: size + 1}
	dec := json.NewDecoder(lr)
	var entries []pristineEntry
	for {
		var e pristineEntry
		if err := dec.Decode(&e); err == io.EOF {
			break
		} else if err != nil {
			return nil, &CorruptError{Dir: dir, Err: fmt.Errorf("%s: %w", PristineFile, err)}
		}
		entries = append(entries, e)
	}
	if lr.N != 1 {
		return nil, &CorruptError{Dir: dir, Err: fmt.Errorf("%s is not the %d bytes the manifest says", PristineFile, size)}
	}
	return entries, nil
}

// checkPristine checks that the freshly unpacked source holds the files
// the checkpoint left to it, by content: same size and same SHA-256, read
// several at a time. It then gives them the modification times and modes
// they had when the checkpoint was saved, which an unpacker that does not
// keep times (cp -r) or another umask changes.
func (x *extractor) checkPristine() error {
	entries, err := readPristine(x.opts.Dir, x.res.Manifest.PristineSize)
	if err != nil {
		return err
	}
	top, err := x.root(x.opts.Top)
	if err != nil {
		return err
	}
	errs := make([]error, len(entries))
	fixed := make([]byte, len(entries)) // 1: time, 2: mode
	g := new(errgroup.Group)
	g.SetLimit(runtime.GOMAXPROCS(0))
	for i := range entries {
		g.Go(func() error {
			fixed[i], errs[i] = samePristine(top, &entries[i])
			return nil
		})
	}
	g.Wait()
	retimed, remoded := 0, ""
	for i, err := range errs {
		if err != nil {
			return err
		}
		if fixed[i]&1 != 0 {
			retimed++
		}
		if fixed[i]&2 != 0 && remoded == "" {
			remoded = entries[i].name()
		}
	}
	x.res.Retimed = retimed
	if retimed > 0 {
		x.warn(fmt.Sprintf("%d source files had other modification times after unpacking again (an unpacker that does not keep them, such as cp -r); gave them back the recorded ones", retimed))
	}
	if remoded != "" {
		x.warn(fmt.Sprintf("source files had other modes after unpacking again (%s first); gave them back the recorded ones", remoded))
	}
	return nil
}

// samePristine checks one file; fixed says what it set back.
func samePristine(top *os.Root, e *pristineEntry) (fixed byte, err error) {
	name := e.name()
	changed := func(reason string) error { return &SourceChangedError{Path: name, Reason: reason} }
	fi, err := top.Lstat(name)
	switch {
	case err != nil:
		return 0, changed("missing after unpacking")
	case !fi.Mode().IsRegular():
		return 0, changed(fmt.Sprintf("a %v after unpacking, was a regular file", fi.Mode().Type()))
	case fi.Size() != e.Size:
		return 0, changed(fmt.Sprintf("size %d, was %d", fi.Size(), e.Size))
	}
	granted := false
	f, err := top.OpenFile(name, os.O_RDONLY|syscall.O_NOFOLLOW, 0)
	if err != nil && os.IsPermission(err) {
		// Unpacked without read permission: the owner may read it.
		if err = top.Chmod(name, fi.Mode().Perm()|0o400); err == nil {
			f, err = top.OpenFile(name, os.O_RDONLY|syscall.O_NOFOLLOW, 0)
			granted = true
		}
	}
	if err != nil {
		return 0, fmt.Errorf("restore: checking the source: %w", err)
	}
	sum, err := contentDigest(f, e.Size)
	f.Close()
	if err != nil {
		return 0, fmt.Errorf("restore: checking the source: %s: %w", name, err)
	}
	if !bytes.Equal(sum, e.Digest) {
		return 0, changed(fmt.Sprintf("content differs (SHA-256 %s, was %s)", hex.EncodeToString(sum), hex.EncodeToString(e.Digest)))
	}
	if fi.Mode() != e.Mode || granted {
		if err := top.Chmod(name, e.Mode); err != nil {
			return 0, fmt.Errorf("restore: %w", err)
		}
		if fi.Mode() != e.Mode {
			fixed |= 2
		}
	}
	if fi.ModTime().UnixNano() != e.Mtime {
		if err := top.Chtimes(name, time.Time{}, time.Unix(0, e.Mtime)); err != nil {
			return 0, fmt.Errorf("restore: %w", err)
		}
		fixed |= 1
	}
	return fixed, nil
}
