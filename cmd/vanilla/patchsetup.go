package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/google/renameio/v2"
	"github.com/rogpeppe/go-internal/diff"

	"github.com/nix-vanilla/nix-vanilla/pkg/setuppatch"
)

// patchSetup is `vanilla patch-setup [-w] SETUP.SH...`: the stdenv patch
// experiment (docs/stdenv-patch.md). It prints a unified diff that adds
// the hook points to each file, or with -w writes the file in its place.
// A file already patched gives no diff. Each file that cannot be patched
// is reported, and the others are still done.
func patchSetup(_ context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("patch-setup", flag.ContinueOnError)
	write := fs.Bool("w", false, "write the patched file in place (atomically, keeping its mode) instead of printing a diff")
	fs.SetOutput(io.Discard)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(stdout, "usage: vanilla patch-setup [-w] SETUP.SH...")
			fs.SetOutput(stdout)
			fs.PrintDefaults()
			return err
		}
		return usageError{err}
	}
	if fs.NArg() == 0 {
		return usageError{errors.New("no setup.sh given")}
	}
	// run prints the error after "vanilla: ": each line gets it.
	var errs []error
	shape := false
	for _, name := range fs.Args() {
		if err := patchSetupFile(name, *write, stdout); err != nil {
			if len(errs) > 0 {
				err = fmt.Errorf("vanilla: %w", err)
			}
			errs = append(errs, err)
			shape = shape || setuppatch.IsShapeError(err)
		}
	}
	if shape {
		errs = append(errs, errors.New("vanilla: the patch knows genericBuild as nixpkgs writes it since mid-2023 (its loop calls runPhase); patch the setup.sh of such a nixpkgs"))
	}
	return errors.Join(errs...)
}

func patchSetupFile(name string, write bool, stdout io.Writer) error {
	src, err := os.ReadFile(name)
	if err != nil {
		return err
	}
	out, err := setuppatch.Patch(name, src)
	if err != nil {
		return err
	}
	if !write {
		a, b := diffNames(name)
		_, err := stdout.Write(diff.Diff(a, src, b, out))
		return err
	}
	if string(out) == string(src) {
		return nil
	}
	// Replace the file a symlink points to, not the symlink.
	target, err := filepath.EvalSymlinks(name)
	if err != nil {
		return err
	}
	return renameio.WriteFile(target, out, 0o644, renameio.WithExistingPermissions())
}

// diffNames returns the names a diff of file gives the old and the new
// text: a/… and b/… for a relative name, as `patch -p1` reads them.
func diffNames(name string) (string, string) {
	name = filepath.ToSlash(filepath.Clean(name))
	if filepath.IsAbs(name) || strings.HasPrefix(name, "../") {
		return name + ".orig", name
	}
	return "a/" + name, "b/" + name
}
