package checkpoint

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"runtime"
	"time"

	"github.com/klauspost/compress/zstd"
	"golang.org/x/sync/errgroup"
)

// readPristine reads the list of pristine files; size is the manifest's
// account of its uncompressed size and count of its entries, which bound
// what is read: each line at most maxLine bytes, each name clean.
func readPristine(dir string, size int64, count int) ([]pristineEntry, error) {
	corrupt := func(err error) ([]pristineEntry, error) { return nil, &CorruptError{Dir: dir, Err: err} }
	if size < 0 || count < 0 || size > int64(count)*maxLine {
		return corrupt(fmt.Errorf("the manifest declares %d bytes for %d pristine files", size, count))
	}
	f, err := os.Open(dir + "/" + PristineFile)
	if err != nil {
		return corrupt(err)
	}
	defer f.Close()
	zr, err := zstd.NewReader(f, zstd.WithDecoderConcurrency(1), zstd.WithDecoderMaxWindow(maxWindow))
	if err != nil {
		return corrupt(err)
	}
	defer zr.Close()
	lr := &io.LimitedReader{R: zr, N: size + 1}
	br := bufio.NewReaderSize(lr, maxLine)
	entries := make([]pristineEntry, 0, min(count, 1<<16))
	for {
		line, err := br.ReadSlice('\n')
		if err == io.EOF && len(line) == 0 {
			break
		}
		if err != nil {
			if errors.Is(err, bufio.ErrBufferFull) {
				err = fmt.Errorf("a line longer than %d bytes", maxLine)
			}
			return corrupt(fmt.Errorf("%s: %w", PristineFile, err))
		}
		var e pristineEntry
		if err := json.Unmarshal(line, &e); err != nil {
			return corrupt(fmt.Errorf("%s: %w", PristineFile, err))
		}
		if err := cleanName(e.name()); err != nil || e.Size < 0 {
			return corrupt(fmt.Errorf("%s: entry %s is not a clean relative path and a size", PristineFile, quoteName(e.name())))
		}
		if len(entries) == count {
			return corrupt(fmt.Errorf("%s lists more than the %d files the manifest declares", PristineFile, count))
		}
		entries = append(entries, e)
	}
	if lr.N != 1 || len(entries) != count {
		return corrupt(fmt.Errorf("%s is not the %d bytes and %d files the manifest says", PristineFile, size, count))
	}
	return entries, nil
}

// checkPristine checks that the freshly unpacked source holds the files
// the checkpoint left to it, by content: same size and same SHA-256, read
// several at a time (the files Unpack wrote were checked as they were
// written, and are not looked at again). It changes nothing (but gives
// back its mode at once to a file it had to make readable); fixPristine
// then gives the files the modification times and modes they had when
// the checkpoint was saved, which an unpacker that does not keep times
// (cp -r) or another umask changes.
func (x *extractor) checkPristine(entries []pristineEntry) error {
	top, err := x.root(x.opts.Top)
	if err != nil {
		return err
	}
	var verified map[string]bool
	if x.unpacked != nil {
		verified = x.unpacked.Verified
	}
	errs := make([]error, len(entries))
	g := new(errgroup.Group)
	g.SetLimit(runtime.GOMAXPROCS(0))
	for i := range entries {
		g.Go(func() error {
			errs[i] = samePristine(top, &entries[i], verified[entries[i].name()])
			return nil
		})
	}
	g.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// fixPristine gives the pristine files their recorded times and modes
// (setuid and setgid bits dropped).
func (x *extractor) fixPristine(entries []pristineEntry) error {
	top, err := x.root(x.opts.Top)
	if err != nil {
		return err
	}
	var verified map[string]bool
	if x.unpacked != nil {
		verified = x.unpacked.Verified
	}
	retimed, remoded := 0, ""
	for i := range entries {
		e := &entries[i]
		name := e.name()
		if verified[name] {
			continue // written with the recorded mode and time
		}
		fi, err := top.Lstat(name)
		if err != nil {
			return fmt.Errorf("restore: %w", err)
		}
		want := e.Mode.Perm() | e.Mode&fs.ModeSticky
		if fi.Mode() != want {
			if err := top.Chmod(name, want); err != nil {
				return fmt.Errorf("restore: %w", err)
			}
			if remoded == "" {
				remoded = quoteName(name)
			}
		}
		if fi.ModTime().UnixNano() != e.Mtime {
			if err := top.Chtimes(name, time.Time{}, time.Unix(0, e.Mtime)); err != nil {
				return fmt.Errorf("restore: %w", err)
			}
			retimed++
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

// samePristine checks one file.
func samePristine(top *os.Root, e *pristineEntry, verified bool) error {
	if verified {
		// Unpack wrote it moments ago, after checking its size and
		// digest; nothing else has run since.
		return nil
	}
	name := e.name()
	changed := func(reason string) error { return &SourceChangedError{Path: name, Reason: reason} }
	fi, err := top.Lstat(name)
	switch {
	case err != nil:
		return changed("missing after unpacking")
	case !fi.Mode().IsRegular():
		return changed(fmt.Sprintf("a %v after unpacking, was a regular file", fi.Mode().Type()))
	case fi.Size() != e.Size:
		return changed(fmt.Sprintf("size %d, was %d", fi.Size(), e.Size))
	}
	f, _, err := openRegular(top, name, os.O_RDONLY)
	if err != nil && os.IsPermission(err) {
		// Unpacked without read permission: the owner may read it.
		if err = top.Chmod(name, fi.Mode().Perm()|0o400); err == nil {
			f, _, err = openRegular(top, name, os.O_RDONLY)
			if cerr := top.Chmod(name, fi.Mode().Perm()); err == nil && cerr != nil {
				f.Close()
				err = cerr
			}
		}
	}
	if err != nil {
		return fmt.Errorf("restore: checking the source: %w", err)
	}
	sum, err := contentDigest(f, e.Size)
	f.Close()
	if err != nil {
		return fmt.Errorf("restore: checking the source: %s: %w", quoteName(name), err)
	}
	if !bytes.Equal(sum, e.Digest) {
		return changed(fmt.Sprintf("content differs (SHA-256 %s, was %s)", hex.EncodeToString(sum), hex.EncodeToString(e.Digest)))
	}
	return nil
}
