package storepath

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// nixTime is the modification time of everything in the Nix store.
var nixTime = time.Unix(1, 0)

func writeFile(t *testing.T, name string, data []byte, mode fs.FileMode) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(path, nixTime, nixTime); err != nil {
		t.Fatal(err)
	}
	return path
}

func checkFile(t *testing.T, path string, want []byte, mode fs.FileMode) {
	t.Helper()
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("content differs (len %d, want %d)", len(got), len(want))
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode() != mode {
		t.Errorf("mode %v, want %v", fi.Mode(), mode)
	}
	if !fi.ModTime().Equal(nixTime) {
		t.Errorf("mtime %v, want %v", fi.ModTime(), nixTime)
	}
}

func TestFile(t *testing.T) {
	r := mustRewriter(t, map[string]string{hA: hA2, hB: hB2})
	in := "#!/nix/store/" + hC + "-bash/bin/bash\nexec /nix/store/" + hA + "-x/bin/x --data /nix/store/" + hB + "-d \"$@\"\n"
	want := strings.NewReplacer(hA, hA2, hB, hB2).Replace(in)
	for _, mode := range []fs.FileMode{0o755, 0o644, 0o444, 0o555, 0o400, 0o755 | fs.ModeSetuid, 0o755 | fs.ModeSetgid} {
		t.Run(mode.String(), func(t *testing.T) {
			path := writeFile(t, "script", []byte(in), mode)
			n, err := r.File(path)
			if err != nil || n != 2 {
				t.Fatalf("File = %d, %v; want 2, nil", n, err)
			}
			checkFile(t, path, []byte(want), mode)
			// Once more: nothing left to do.
			if n, err := r.File(path); err != nil || n != 0 {
				t.Fatalf("second File = %d, %v; want 0, nil", n, err)
			}
			checkFile(t, path, []byte(want), mode)
		})
	}
}

func TestFileNoMatch(t *testing.T) {
	r := mustRewriter(t, map[string]string{hA: hA2})
	for _, in := range []string{"", "short", hA[:31], "/nix/store/" + hB + "-b\n" + hA[:31]} {
		path := writeFile(t, "f", []byte(in), 0o444)
		before := statChange(t, path)
		if n, err := r.File(path); err != nil || n != 0 {
			t.Fatalf("File(%q) = %d, %v", in, n, err)
		}
		checkFile(t, path, []byte(in), 0o444)
		if after := statChange(t, path); !after.Equal(before) {
			t.Errorf("File(%q) touched the file: ctime %v, then %v", in, before, after)
		}
	}
}

func TestFileLarge(t *testing.T) {
	r := mustRewriter(t, map[string]string{hA: hA2, hB: hB2})
	// Binary-ish noise with hashes across every kind of chunk boundary:
	// the reads advance by fileChunk-(HashLen-1) when nothing is found.
	size := 5*fileChunk + 12345
	in := make([]byte, size)
	for i := range in {
		in[i] = byte(i * 131 >> 3)
	}
	step := fileChunk - (HashLen - 1)
	var offs []int
	for k := 1; k <= 4; k++ {
		for _, d := range []int{-HashLen - 1, -HashLen, -HashLen + 1, -17, -1} {
			offs = append(offs, k*fileChunk+d*3, k*step+d)
		}
	}
	last := -HashLen
	for _, off := range append(offs, size-HashLen) {
		if off < last+HashLen {
			continue // keep them apart so the count is simple
		}
		copy(in[off:], []string{hA, hB}[off%2])
		last = off
	}
	want := bytes.Clone(in)
	wantN := r.ReplaceBytes(want)
	if wantN < 10 {
		t.Fatalf("only %d hashes placed", wantN)
	}
	path := writeFile(t, "big", in, 0o644)
	n, err := r.File(path)
	if err != nil || n != wantN {
		t.Fatalf("File = %d, %v; want %d", n, err, wantN)
	}
	checkFile(t, path, want, 0o644)

	// A file of exactly one chunk with a hash at its very end.
	in = bytes.Repeat([]byte{'a'}, fileChunk)
	copy(in[fileChunk-HashLen:], hB)
	path = writeFile(t, "chunk", in, 0o644)
	if n, err := r.File(path); err != nil || n != 1 {
		t.Fatalf("File = %d, %v; want 1", n, err)
	}
	copy(in[fileChunk-HashLen:], hB2)
	checkFile(t, path, in, 0o644)
}

func TestFileErrors(t *testing.T) {
	r := mustRewriter(t, map[string]string{hA: hA2})
	dir := t.TempDir()
	target := writeFile(t, "target", []byte(hA), 0o644)
	link := filepath.Join(dir, "link")
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(dir, "missing")
	for _, tc := range []struct {
		path string
		is   error
	}{
		{link, errNotRegular},
		{dir, errNotRegular},
		{missing, fs.ErrNotExist},
	} {
		_, err := r.File(tc.path)
		if !errors.Is(err, tc.is) {
			t.Errorf("File(%s) = %v, want %v", tc.path, err, tc.is)
		}
		if err != nil && !strings.HasPrefix(err.Error(), "rewrite "+tc.path+": ") {
			t.Errorf("error %q lacks context", err)
		}
	}
	// The symlink's target is untouched.
	checkFile(t, target, []byte(hA), 0o644)
}
