package testbed

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
)

// Fixtures returns the names of the fixtures in testdata/fixtures: each
// directory there that holds a package.nix.
func (b *Bed) Fixtures() ([]string, error) {
	matches, err := filepath.Glob(b.Path("testdata/fixtures/*/package.nix"))
	if err != nil {
		return nil, err
	}
	var names []string
	for _, m := range matches {
		names = append(names, filepath.Base(filepath.Dir(m)))
	}
	sort.Strings(names)
	return names, nil
}

// Check runs fixture name's check.sh against outs, with one variable per
// output ($out, $dev, …) and the assertions of testdata/fixtures/check-lib.sh.
func (b *Bed) Check(ctx context.Context, name string, outs Outputs) error {
	dir := b.Path("testdata/fixtures")
	script := fmt.Sprintf("set -eu\nsource %q\nsource %q\n", filepath.Join(dir, "check-lib.sh"), filepath.Join(dir, name, "check.sh"))
	cmd := exec.CommandContext(ctx, "bash", "-c", script)
	cmd.Dir = dir
	cmd.Env = os.Environ()
	for o, p := range outs {
		cmd.Env = append(cmd.Env, o+"="+p)
	}
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("check %s: %w\n%s", name, err, strings.TrimSpace(string(out)))
	}
	return nil
}
