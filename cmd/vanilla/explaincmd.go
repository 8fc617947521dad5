package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"

	"github.com/nix-vanilla/nix-vanilla/internal/stage"
	"github.com/nix-vanilla/nix-vanilla/pkg/cache"
	"github.com/nix-vanilla/nix-vanilla/pkg/derivation"
	"github.com/nix-vanilla/nix-vanilla/pkg/drvattrs"
	"github.com/nix-vanilla/nix-vanilla/pkg/explain"
)

const explainUsage = `usage: vanilla explain [flags] OLD NEW
       vanilla explain [flags] -f FILE OLD NEW
       vanilla explain [flags] -f FILE -A ATTR OLD
       vanilla explain [flags] -A ATTR OLD NEW
       vanilla explain [--json] [--dir DIR] --cache KEY

Says why NEW rebuilds after OLD was built, and what of it a split build
(vanillaPackage = true) reuses. OLD and NEW are .drv files; with -f,
attribute paths of FILE (instantiated with nix-instantiate), or .drv files.
With -f FILE -A ATTR, NEW is attribute ATTR of FILE (OLD as with -f: the
.drv of the build before, say); with -A alone, OLD and NEW are Nix files
whose attribute ATTR is compared, or .drv files.
With --cache, explains a hook-mode cache miss: the entry KEY (the key the
log's "cache miss" line names, or any unique prefix) against the nearest
entry of the same package.

Flags:
`

// nixInstantiate is the command -f runs; tests replace it.
var nixInstantiate = "nix-instantiate"

func explainCommand(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("explain", flag.ContinueOnError)
	asJSON := fs.Bool("json", false, "print JSON")
	depth := fs.Int("depth", 3, "how many levels of changed inputs to explain")
	file := fs.String("f", "", "a Nix file whose attributes OLD and NEW name")
	attr := fs.String("A", "", "with -f: NEW is this attribute of the file; alone: the attribute of the files OLD and NEW")
	root := fs.String("root", "", "read store paths under this directory (a mounted system's root)")
	key := fs.String("cache", "", "explain the hook-mode cache entry with this key (or key prefix)")
	dir := fs.String("dir", "", "with --cache: the cache directory (default $VANILLA_CACHE_DIR, else /nix/var/cache/vanilla)")
	fs.SetOutput(io.Discard)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprint(stdout, explainUsage)
			fs.SetOutput(stdout)
			fs.PrintDefaults()
			return err
		}
		return usageError{err}
	}
	if *key != "" {
		if fs.NArg() > 0 || *file != "" {
			return usageError{errors.New("--cache takes no OLD NEW and no -f")}
		}
		return explainCache(*dir, *key, *asJSON, stdout)
	}
	paths := fs.Args()
	if *file != "" && *attr != "" {
		if fs.NArg() != 1 {
			return usageError{fmt.Errorf("with -f and -A, want OLD only (NEW is %s of %s), got %d arguments", *attr, *file, fs.NArg())}
		}
		paths = append(paths, "")
	} else if fs.NArg() != 2 {
		return usageError{fmt.Errorf("want OLD and NEW, got %d arguments", fs.NArg())}
	}
	if *depth < 0 {
		return usageError{errors.New("-depth must not be negative")}
	}
	for i, a := range paths {
		var err error
		switch {
		case a == "": // NEW of -f FILE -A ATTR
			paths[i], err = instantiate(ctx, *file, *attr)
		case *file != "":
			paths[i], err = instantiate(ctx, *file, a)
		case *attr != "":
			paths[i], err = instantiate(ctx, a, *attr)
		}
		if err != nil {
			return err
		}
	}
	opts := explain.Options{Depth: *depth}
	if *root != "" {
		opts.Read = func(p string) (*derivation.Derivation, error) {
			return derivation.ReadFile(filepath.Join(*root, p))
		}
	}
	r, err := explain.Explain(paths[0], paths[1], opts)
	if err != nil {
		return err
	}
	if *asJSON {
		return writeJSON(stdout, r)
	}
	writeReport(stdout, r)
	return nil
}

// instantiate returns arg or file as it is when it is a .drv path, else
// the derivation of attribute arg of file.
func instantiate(ctx context.Context, file, arg string) (string, error) {
	if strings.HasSuffix(arg, ".drv") {
		return arg, nil
	}
	if strings.HasSuffix(file, ".drv") {
		return file, nil
	}
	cmd := exec.CommandContext(ctx, nixInstantiate, file, "-A", arg)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("%s %s -A %s: %w\n%s", nixInstantiate, file, arg, err, strings.TrimSpace(errOut.String()))
	}
	lines := strings.Fields(out.String())
	if len(lines) != 1 || !strings.HasSuffix(lines[0], ".drv") {
		return "", fmt.Errorf("%s %s -A %s: want one derivation, got %q", nixInstantiate, file, arg, out.String())
	}
	return lines[0], nil
}

// stagePhrase says what rebuilds from a stage on.
var stagePhrase = map[string]string{
	explain.Vanilla:   "everything from the checkpoint stage",
	explain.Unwrapped: "from the unwrapped stage, reusing the checkpoint",
	explain.Final:     "final stage only",
}

func writeReport(w io.Writer, r *explain.Report) {
	switch {
	case r.Rebuild == "":
		fmt.Fprintf(w, "%s: nothing to rebuild: OLD and NEW are the same derivation\n", r.Name)
	case r.Split:
		first := r.Stages[slices.IndexFunc(r.Stages, func(s explain.StageDiff) bool { return s.Stage == r.Rebuild })]
		fmt.Fprintf(w, "%s: %s: %s\n", r.Name, stagePhrase[r.Rebuild], causes(first.Diff, true))
		writeInputs(w, first.Diff, "  ")
		for _, sd := range r.Stages {
			if sd.Same || sd.Stage == first.Stage || len(sd.Diff.Attrs)+len(sd.Diff.Inputs)+len(sd.Diff.Fields) == 0 {
				continue
			}
			fmt.Fprintf(w, "  and for the %s stage: %s\n", sd.Stage, causes(sd.Diff, false))
			writeInputs(w, sd.Diff, "    ")
		}
	case r.Stage != "":
		fmt.Fprintf(w, "%s: the %s stage rebuilds: %s\n", r.Name, r.Stage, causes(r.Diff, true))
		writeInputs(w, r.Diff, "  ")
	case r.Mixed != "":
		fmt.Fprintf(w, "%s: everything rebuilds (%s): %s\n", r.Name, r.Mixed, causes(r.Diff, true))
		writeInputs(w, r.Diff, "  ")
	case r.Hook:
		fmt.Fprintf(w, "%s: hook mode: %s\n", r.Name, causes(r.Diff, true))
		writeInputs(w, r.Diff, "  ")
		switch r.WouldRebuild {
		case explain.Final:
			fmt.Fprintln(w, "  a build resumes after installPhase from OLD's cache entry, if the cache holds it")
		case explain.Unwrapped:
			fmt.Fprintln(w, "  a build resumes after buildPhase from OLD's cache entry, if the cache holds it")
		default:
			fmt.Fprintf(w, "  no cache entry of OLD can serve: %s changed before buildPhase ended\n", earlyCauses(r.Diff))
		}
	default:
		fmt.Fprintf(w, "%s: rebuilds whole (not split): %s\n", r.Name, causes(r.Diff, true))
		writeInputs(w, r.Diff, "  ")
		switch r.WouldRebuild {
		case explain.Final:
			fmt.Fprintln(w, "  with vanillaPackage = true, the final stage alone would rebuild")
		case explain.Unwrapped:
			fmt.Fprintln(w, "  with vanillaPackage = true, the checkpoint would be reused: the unwrapped and final stages would rebuild")
		default:
			fmt.Fprintf(w, "  with vanillaPackage = true, everything would rebuild too: %s changed before the checkpoint\n", earlyCauses(r.Diff))
		}
	}
}

// causes lists a diff's causes on one line; because says whether to
// name an earlier stage that changed.
func causes(d *explain.Diff, because bool) string {
	if d == nil {
		return "no difference found"
	}
	var cs []string
	for _, a := range d.Attrs {
		switch a.Change {
		case "added":
			cs = append(cs, fmt.Sprintf("%s added (= %s)", a.Name, a.Summary))
		case "removed":
			cs = append(cs, fmt.Sprintf("%s removed (was %s)", a.Name, a.Summary))
		default:
			cs = append(cs, fmt.Sprintf("%s changed (%s)", a.Name, a.Summary))
		}
	}
	for _, in := range d.Inputs {
		cs = append(cs, inputPhrase(in))
	}
	for _, f := range d.Fields {
		cs = append(cs, fmt.Sprintf("%s changed (%s)", f.Field, explain.Summarize(f.Old, f.New)))
	}
	if d.Because != "" && because {
		cs = append(cs, "because the "+d.Because+" stage changed")
	}
	if len(cs) == 0 {
		return "no difference found in the attributes, inputs or fields (the derivations differ in text only)"
	}
	return strings.Join(cs, "; ")
}

func inputPhrase(in explain.InputChange) string {
	what := "input"
	if in.Kind == "source" {
		what = "source"
	}
	name := in.Name
	if in.OldName != "" {
		name = in.OldName + " → " + in.Name
	}
	s := fmt.Sprintf("%s %s %s", what, name, in.Change)
	if len(in.UsedBy) > 0 {
		s += " (in " + strings.Join(in.UsedBy, ", ") + ")"
	}
	return s
}

// writeInputs says, for each changed input derivation, why it changed.
func writeInputs(w io.Writer, d *explain.Diff, indent string) {
	if d == nil {
		return
	}
	for _, in := range d.Inputs {
		if in.Kind != "derivation" || in.Change != "changed" {
			continue
		}
		name := in.Name
		if in.OldName != "" {
			name = in.OldName + " → " + in.Name
		}
		switch {
		case in.Why != nil:
			fmt.Fprintf(w, "%s%s: %s\n", indent, name, causes(in.Why, true))
			writeInputs(w, in.Why, indent+"  ")
		case in.Note != "":
			fmt.Fprintf(w, "%s%s: %s\n", indent, name, in.Note)
		}
	}
}

func earlyCauses(d *explain.Diff) string {
	var names []string
	for _, a := range d.Attrs {
		if a.Stage == explain.Vanilla {
			names = append(names, a.Name)
		}
	}
	for _, in := range d.Inputs {
		if in.Stage == explain.Vanilla {
			names = append(names, in.Kind+" "+in.Name)
		}
	}
	if len(names) == 0 {
		return "something"
	}
	return strings.Join(names, ", ")
}

// explainCache explains a hook-mode cache miss: entry key against the
// nearest other entry of its package.
func explainCache(dir, key string, asJSON bool, stdout io.Writer) error {
	c, err := cache.Open(cache.Dir(dir))
	if err != nil {
		return err
	}
	r, err := explain.Entry(c, strings.ToLower(key), func(dir string) (drvattrs.Attrs, error) {
		return drvattrs.ReadFile(filepath.Join(dir, stage.AttrsFile))
	})
	if errors.Is(err, cache.ErrNotFound) {
		return fmt.Errorf("%w (a build stores its entry when it reaches the resume point; 'vanilla cache ls' lists the keys)", err)
	}
	if err != nil {
		return err
	}
	if asJSON {
		return writeJSON(stdout, r)
	}
	e := r.Entry
	fmt.Fprintf(stdout, "%s, %s point, entry %s: ", printable(e.Name), e.Point, e.Key[:12])
	switch {
	case r.Nearest == nil:
		fmt.Fprintf(stdout, "no other entry of %s at this point: the build had nothing to resume from\n", printable(e.Name))
		return nil
	case len(r.Attrs) == 0:
		fmt.Fprintf(stdout, "the nearest entry, %s, covers the same attributes: another helper version stored it, or the input lists differ in late inputs only\n", r.Nearest.Key[:12])
		return nil
	}
	var cs []string
	for _, a := range r.Attrs {
		s := printable(a.Name) + " " + a.Change
		if a.Summary != "" {
			s += " (" + a.Summary + ")"
		}
		cs = append(cs, s)
	}
	when := ago(r.Nearest.Created) + " ago"
	if when == "now ago" {
		when = "just now"
	}
	fmt.Fprintf(stdout, "the nearest entry, %s (stored %s), differs: %s\n", r.Nearest.Key[:12], when, strings.Join(cs, "; "))
	if r.Note != "" {
		fmt.Fprintf(stdout, "  (values not shown: %s)\n", r.Note)
	}
	return nil
}
