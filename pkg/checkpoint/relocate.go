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
		if !sameLength && bytes.IndexByte(data, 0) >= 0 {
			binaries++
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
