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
		data, err := os.ReadFile(w.path)
		if err != nil {
			return fmt.Errorf("relocate %s: %w", w.path, err)
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
			if err := replaceInPlace(w.path, data, []byte(old), []byte(cur)); err != nil {
				return fmt.Errorf("relocate %s: %w", w.path, err)
			}
			continue
		}
		fi, err := os.Stat(w.path)
		if err != nil {
			return err
		}
		data = bytes.ReplaceAll(data, []byte(old), []byte(cur))
		if err := os.Chmod(w.path, fi.Mode()|0o200); err != nil {
			return err
		}
		if err := os.WriteFile(w.path, data, fi.Mode()); err != nil {
			return fmt.Errorf("relocate %s: %w", w.path, err)
		}
		if err := os.Chmod(w.path, fi.Mode()); err != nil {
			return err
		}
		if err := os.Chtimes(w.path, fi.ModTime(), fi.ModTime()); err != nil {
			return err
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

// replaceInPlace overwrites each occurrence of old in the file at p, whose
// content is data, with cur, which has the same length, keeping the
// file's mode and modification time.
func replaceInPlace(p string, data, old, cur []byte) error {
	fi, err := os.Stat(p)
	if err != nil {
		return err
	}
	f, err := os.OpenFile(p, os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	for i := 0; ; {
		j := bytes.Index(data[i:], old)
		if j < 0 {
			break
		}
		if _, err := f.WriteAt(cur, int64(i+j)); err != nil {
			f.Close()
			return err
		}
		i += j + len(old)
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Chtimes(p, fi.ModTime(), fi.ModTime())
}
