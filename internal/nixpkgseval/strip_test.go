package nixpkgseval

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestStripHardLinks shows why a package that installs one binary under
// several hard-linked names is not reproducible with nixpkgs' stdenv, so
// that nix-vanilla cannot be equal to its plain build (docs/design.md,
// Limits): strip.sh runs one strip per name on NIX_BUILD_CORES cores and
// deduplicates the names by realpath, which keeps both names of a hard
// link, so two strips of one inode can run at once.
func TestStripHardLinks(t *testing.T) {
	needNix(t)
	cmd := exec.CommandContext(context.Background(), "nix-instantiate", "--eval", "-E", "<nixpkgs>")
	cmd.Env = env
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("nix-instantiate <nixpkgs>: %v", err)
	}
	script, err := os.ReadFile(filepath.Join(strings.TrimSpace(string(out)), "pkgs/build-support/setup-hooks/strip.sh"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`realpath -z | sort -u -z`, `xargs -r -0 -n1 -P "$NIX_BUILD_CORES" -- $cmd $stripFlags`} {
		if !bytes.Contains(script, []byte(want)) {
			t.Fatalf("strip.sh no longer has %q: check whether the limit still holds", want)
		}
	}
	// The deduplication, as strip.sh runs it, on two names of one file.
	dir := t.TempDir()
	a, b := filepath.Join(dir, "multi"), filepath.Join(dir, "multi-upper")
	if err := os.WriteFile(a, []byte("\x7fELF"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Link(a, b); err != nil {
		t.Fatal(err)
	}
	dedup := exec.Command("bash", "-c", `printf '%s\0%s\0' "$1" "$2" | xargs -r -0 -n1 -- realpath -z | sort -u -z`, "bash", a, b)
	names, err := dedup.Output()
	if err != nil {
		t.Fatal(err)
	}
	if n := bytes.Count(names, []byte{0}); n != 2 {
		t.Errorf("realpath | sort -u kept %d names of a hard-linked pair; the limit assumes 2", n)
	}
}
