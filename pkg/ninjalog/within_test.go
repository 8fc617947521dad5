package ninjalog

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestFixWithinRefuses: a manifest from an untrusted tree cannot make
// FixWithin (or the ninja it runs) read outside the tree, read a device or
// a FIFO, or write another tree's log.
func TestFixWithinRefuses(t *testing.T) {
	tests := []struct {
		name     string
		manifest string
		ninja    bool // the check needs ninja (after parsing)
	}{
		{"include of an absolute path", "include /etc/passwd\n", false},
		{"include of /dev/zero", "include /dev/zero\n", false},
		{"include outside the tree", "include ../../outside/secret.ninja\n", false},
		{"include through a symlink out", "include link/secret.ninja\n", false},
		{"include of a FIFO", "include fifo\n", false},
		{"subninja of a directory", "subninja sub\n", false},
		{"absolute builddir", "builddir = OUTSIDE\n", true},
		{"builddir outside", "builddir = ../../outside\n", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := exec.LookPath("ninja"); tt.ninja && err != nil {
				t.Skip("no ninja")
			}
			base := t.TempDir()
			top, outside := filepath.Join(base, "tree"), filepath.Join(base, "outside")
			for _, d := range []string{filepath.Join(top, "build", "sub"), outside} {
				os.MkdirAll(d, 0o755)
			}
			os.WriteFile(filepath.Join(outside, "secret.ninja"), []byte("rule x\n  command = secret\n"), 0o644)
			log := "# ninja log v5\n1\t2\t3\tout\tdeadbeef\n"
			os.WriteFile(filepath.Join(outside, LogName), []byte(log), 0o444)
			os.Symlink(outside, filepath.Join(top, "build", "link"))
			if err := syscall.Mkfifo(filepath.Join(top, "build", "fifo"), 0o644); err != nil {
				t.Fatal(err)
			}
			m := []byte(tt.manifest)
			if tt.name == "absolute builddir" {
				m = []byte("builddir = " + outside + "\n")
			}
			os.WriteFile(filepath.Join(top, "build", ManifestName), m, 0o644)
			os.WriteFile(filepath.Join(top, "build", LogName), []byte(log), 0o644)
			r, err := os.OpenRoot(top)
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			_, err = FixWithin(ctx, r, "build")
			if err == nil || !strings.Contains(err.Error(), "ninja manifest: ") && !strings.Contains(err.Error(), "escapes") {
				t.Fatalf("FixWithin: %v, want a refusal", err)
			}
			if ctx.Err() != nil {
				t.Fatal("FixWithin hung")
			}
			if data, _ := os.ReadFile(filepath.Join(outside, LogName)); string(data) != log {
				t.Fatal("the log outside the tree changed")
			}
		})
	}
}
