// Package testbed runs Nix in the project's test bed: nixpkgs' own stdenv
// on the host's tools (nix/host-pkgs.nix), sandboxed, with the settings of
// nix/test-bed.conf passed to every command through NIX_CONFIG, so that no
// hand-edited nix.conf is ever needed.
package testbed

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// Bed runs nix commands for one checkout of the project.
type Bed struct {
	// Root is the absolute path of the project's checkout.
	Root string
	env  []string
}

// Outputs maps a derivation's output names ("out", "dev", …) to store paths.
type Outputs map[string]string

// New returns a Bed for the checkout at root. It fails with an error that
// says what to do when nix-build is missing or <nixpkgs> does not resolve.
func New(root string) (*Bed, error) {
	root, err := filepath.Abs(root)
	if err != nil {
		return nil, err
	}
	conf, err := os.ReadFile(filepath.Join(root, "nix", "test-bed.conf"))
	if err != nil {
		return nil, fmt.Errorf("test bed: %w", err)
	}
	b := &Bed{Root: root, env: append(os.Environ(), "NIX_CONFIG="+string(conf))}
	if _, err := exec.LookPath("nix-build"); err != nil {
		return nil, errors.New("test bed: nix-build is not on PATH; run scripts/test, which installs Debian's nix-bin, or apt-get install nix-bin")
	}
	if _, err := b.run(context.Background(), "nix-instantiate", "--eval", "-E", "<nixpkgs>"); err != nil {
		return nil, fmt.Errorf("test bed: <nixpkgs> does not resolve: provide a mid-2024 nixpkgs checkout on NIX_PATH (NIX_PATH=nixpkgs=/path/to/nixpkgs) or as root's channel (see README): %w", err)
	}
	if err := b.downloadModules(); err != nil {
		return nil, err
	}
	return b, nil
}

// ModuleCache is where the test bed's buildGoModule (nix/host/go.nix) reads
// Go modules from; nix/test-bed.conf binds it into the sandbox.
const ModuleCache = "/var/cache/nix-vanilla/gomod"

// downloadModules fills ModuleCache with the modules go.sum names, so that
// the helper can be built in the sandbox without a network.
func (b *Bed) downloadModules() error {
	cmd := exec.Command("go", "mod", "download")
	cmd.Dir = b.Root
	cmd.Env = append(os.Environ(), "GOMODCACHE="+ModuleCache, "GOFLAGS=-mod=mod")
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("test bed: go mod download into %s: %w\n%s", ModuleCache, err, out)
	}
	return nil
}

// With returns a Bed whose nix commands also get the given nix.conf lines.
func (b *Bed) With(conf string) *Bed {
	c := *b
	c.env = nil
	for _, kv := range b.env {
		if v, ok := strings.CutPrefix(kv, "NIX_CONFIG="); ok {
			kv = "NIX_CONFIG=" + v + "\n" + conf
		}
		c.env = append(c.env, kv)
	}
	return &c
}

// Path returns the absolute path of a file of the checkout.
func (b *Bed) Path(rel string) string { return filepath.Join(b.Root, rel) }

// Env returns the environment nix commands run with.
func (b *Bed) Env() []string { return b.env }

// Build builds the derivation that nix-instantiate makes of args (a file
// and -A attr, or -E expr) and returns all its outputs. The outputs stay
// alive through garbage-collector roots in linkDir until it is removed.
func (b *Bed) Build(ctx context.Context, linkDir string, args ...string) (Outputs, error) {
	drv, err := b.Instantiate(ctx, args...)
	if err != nil {
		return nil, err
	}
	out, err := b.run(ctx, "nix-store", "--realise", drv, "--add-root", filepath.Join(linkDir, "result"), "--indirect")
	if err != nil {
		return nil, err
	}
	// An output's store path is named after the derivation, with "-NAME"
	// appended for every output but out.
	name := strings.TrimSuffix(storeName(drv), ".drv")
	outs := Outputs{}
	for _, root := range strings.Fields(out) {
		p, err := os.Readlink(root)
		if err != nil {
			return nil, fmt.Errorf("build %s: %w", drv, err)
		}
		suffix, ok := strings.CutPrefix(storeName(p), name)
		switch {
		case !ok:
			return nil, fmt.Errorf("build %s: output %s is not named after the derivation", drv, p)
		case suffix == "":
			outs["out"] = p
		default:
			outs[strings.TrimPrefix(suffix, "-")] = p
		}
	}
	return outs, nil
}

// storeName returns the name part of a store path: what follows the hash.
func storeName(p string) string {
	base := filepath.Base(p)
	if _, name, ok := strings.Cut(base, "-"); ok {
		return name
	}
	return base
}

// Instantiate returns the derivation path of the given nix-instantiate
// arguments (a file and -A, or -E).
func (b *Bed) Instantiate(ctx context.Context, args ...string) (string, error) {
	out, err := b.run(ctx, "nix-instantiate", args...)
	if err != nil {
		return "", err
	}
	return strings.TrimSpace(out), nil
}

// WouldBuild returns the derivations that building the given nix-build
// arguments would build now, as `nix-build --dry-run` lists them.
func (b *Bed) WouldBuild(ctx context.Context, args ...string) ([]string, error) {
	cmd := exec.CommandContext(ctx, "nix-build", append([]string{"--dry-run"}, args...)...)
	cmd.Env, cmd.Dir = b.env, b.Root
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("nix-build --dry-run %s: %w\n%s", strings.Join(args, " "), err, out.String())
	}
	var drvs []string
	building := false
	for _, line := range strings.Split(out.String(), "\n") {
		switch {
		case (strings.HasPrefix(line, "these ") || strings.HasPrefix(line, "this ")) && strings.Contains(line, "will be built"):
			building = true
		case strings.HasPrefix(line, "  ") && building:
			drvs = append(drvs, strings.TrimSpace(line))
		default:
			building = false
		}
	}
	return drvs, nil
}

// Eval evaluates a Nix expression strictly and returns its value as JSON.
func (b *Bed) Eval(ctx context.Context, expr string) (string, error) {
	out, err := b.run(ctx, "nix-instantiate", "--eval", "--read-write-mode", "--strict", "--json", "-E", expr)
	return strings.TrimSpace(out), err
}

func (b *Bed) run(ctx context.Context, name string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env, cmd.Dir = b.env, b.Root
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("%s %s: %w\n%s", name, strings.Join(args, " "), err, tail(stderr.String(), 40))
	}
	return stdout.String(), nil
}

// tail returns the last n lines of s.
func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = append([]string{"…"}, lines[len(lines)-n:]...)
	}
	return strings.Join(lines, "\n")
}
