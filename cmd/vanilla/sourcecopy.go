package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"os"
)

// sourceCopyMin is the size of the files left to the source from which
// vanillaSourceCopy's default (auto) makes a copy of them when the
// sources are slow to unpack. Measured here (docs/design.md, "The source
// copy"): Linux's 1.3 GB unpack again from its .tar.xz in 9.4 s with
// xz -T2 and from a zstd copy in 3.4 s, for a copy of 227 MB made in
// 4.7 s; binutils' 331 MB in 3.1 s and 0.9 s, for a copy of 43 MB. Below
// 64 MiB a resume gains a fraction of a second.
const sourceCopyMin = 64 << 20

// sourceCopyFlags are the flags of a save that may write a source copy:
// -source-copy (the vanillaSourceCopy attribute: "1" for true, "" for
// false, auto when unset) and the sources the auto policy judges.
type sourceCopyFlags struct {
	when *string
	srcs []string
}

func addSourceCopyFlags(fs *flag.FlagSet) *sourceCopyFlags {
	s := &sourceCopyFlags{}
	s.when = fs.String("source-copy", "", "copy the files left to the source next to the checkpoint: 1 or true, \"\" or false, auto (when they are 64 MiB or more and a source is slow to unpack)")
	fs.Func("src", "with -source-copy auto: a source the files came from (repeat for each of $srcs; none: a custom unpackPhase)", func(v string) error {
		if v == "" {
			return errors.New("empty source path")
		}
		s.srcs = append(s.srcs, v)
		return nil
	})
	return s
}

// policy returns the decision for checkpoint.SaveOptions.SourceCopy.
func (s *sourceCopyFlags) policy() (func(int, int64) bool, error) {
	switch *s.when {
	case "", "0", "false", "no":
		return nil, nil
	case "1", "true", "yes":
		return func(int, int64) bool { return true }, nil
	case "auto":
		srcs := s.srcs
		return func(_ int, bytes int64) bool { return bytes >= sourceCopyMin && slowToUnpack(srcs) }, nil
	}
	return nil, fmt.Errorf("-source-copy %q: want 1, true, \"\", false or auto (vanillaSourceCopy is a boolean)", *s.when)
}

// slowToUnpack reports whether unpacking srcs again costs more than
// unpacking a source copy: none given (an unpackPhase of the package's,
// whose speed is unknown), or one that is neither a directory, a plain
// tarball nor zstd-compressed (xz, lzma and bzip2 decode several times
// slower than zstd, gzip too; anything else needs
// unpackPhase).
func slowToUnpack(srcs []string) bool {
	if len(srcs) == 0 {
		return true
	}
	for _, src := range srcs {
		fi, err := os.Stat(src)
		if err != nil {
			return true
		}
		if fi.IsDir() {
			continue
		}
		f, err := os.Open(src)
		if err != nil {
			return true
		}
		head := make([]byte, 512)
		n, _ := f.Read(head)
		f.Close()
		head = head[:n]
		zstd := bytes.HasPrefix(head, []byte{0x28, 0xb5, 0x2f, 0xfd})
		tar := n == 512 && bytes.Equal(head[257:262], []byte("ustar"))
		if !zstd && !tar {
			return true
		}
	}
	return false
}
