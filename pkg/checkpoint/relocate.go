package checkpoint

import (
	"bytes"
	"fmt"
	"os"
)

// relocate replaces the old build directory by the new one in the files
// Restore wrote. Paths of equal length are replaced everywhere; otherwise
// only in files without NUL bytes (text), and binaries keep the old path.
func (x *extractor) relocate(old, cur string) error {
	sameLength := len(old) == len(cur)
	binaries := 0
	for i, w := range x.written {
		data, err := x.readRestored(w)
		if err != nil {
			return fmt.Errorf("relocate: %w", err)
		}
		if !bytes.Contains(data, []byte(old)) {
			continue
		}
		if !sameLength && (w.sparse || bytes.IndexByte(data, 0) >= 0) {
			binaries++
			continue
		}
		if w.sparse {
			// Rewritten in place, so that the holes stay holes.
			if err := x.replaceInPlace(w, data, []byte(old), []byte(cur)); err != nil {
				return fmt.Errorf("relocate: %w", err)
			}
			continue
		}
		data = bytes.ReplaceAll(data, []byte(old), []byte(cur))
		if err := x.writeRestored(w, 0, data, true); err != nil {
			return fmt.Errorf("relocate: %w", err)
		}
		x.written[i].rewritten = true
		if sameLength {
			x.moved = [2][]byte{[]byte(cur), []byte(old)}
		}
	}
	if binaries > 0 {
		x.res.Warnings = append(x.res.Warnings, fmt.Sprintf("%d binary files still name the old build directory %s (the new one, %s, has another length)", binaries, old, cur))
	}
	return nil
}

// replaceInPlace overwrites each occurrence of old in the restored file
// w, whose content is data, with cur, which has the same length, keeping
// the file's modification time.
func (x *extractor) replaceInPlace(w writtenFile, data, old, cur []byte) error {
	f, err := x.openRestored(w, os.O_WRONLY)
	if err != nil {
		return err
	}
	fi, err := f.Stat()
	for i := 0; err == nil; {
		j := bytes.Index(data[i:], old)
		if j < 0 {
			break
		}
		_, err = f.WriteAt(cur, int64(i+j))
		i += j + len(old)
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("%s: %w", quoteName(w.path), err)
	}
	return x.keepTime(w, fi.ModTime())
}
