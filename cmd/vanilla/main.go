// Command vanilla is nix-vanilla's helper: the setup hook calls it to save
// and restore checkpoints of a split build.
//
// Usage:
//
//	vanilla snapshot -top DIR -to FILE
//	vanilla prepare -top DIR -snapshot FILE -to DIR [-source-copy WHEN [-src PATH]...]
//	vanilla save -stage STAGE -to DIR -top DIR [-snapshot FILE] [-tree] [-restored FILE] [-from DIR] -fresh DIR -end DIR [-take-outputs] [-builder-pid PID] -output NAME=PATH...
//	vanilla restore -stage STAGE -from DIR -top DIR [-tree] [-src PATH... [-threads N] [-snapshot FILE]] [-restored FILE] -fresh DIR -script FILE [-builder-pid PID] -output NAME=PATH...
//	vanilla check-phase -phase NAME -hook HOOK < CODE
//	vanilla late-functions
//	vanilla cache ls|stats|verify|gc|rm [--dir DIR] [--json] ...
//	vanilla explain [--json] [-depth N] [-f FILE] OLD NEW
//	vanilla patch-setup [-w] SETUP.SH...
//	vanilla version
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"strings"

	"github.com/nix-vanilla/nix-vanilla/internal/stage"
	"github.com/nix-vanilla/nix-vanilla/pkg/checkpoint"
	"github.com/nix-vanilla/nix-vanilla/pkg/classify"
	"github.com/nix-vanilla/nix-vanilla/pkg/drvattrs"
	"github.com/nix-vanilla/nix-vanilla/pkg/phases"
	"github.com/nix-vanilla/nix-vanilla/pkg/unpack"
)

const usage = `usage: vanilla COMMAND [flags]

Commands the setup hook runs in a split build:
  snapshot   record the build directory right after unpackPhase
  prepare    read, in the background, the files the build may leave
             alone, for the save: their digests and a source copy's frames
  save       write a stage's checkpoint at its end
  restore    restore the previous stage's checkpoint; write a script
             that replays its shell state
  check-phase
             fail when a phase's code (on standard input) runs commands
             after a hook that the split runs in a later stage
  late-functions
             list the functions of late inputs and their hooks

Other commands:
  cache      the local checkpoint cache of vanillaHook builds: ls, stats,
             verify, gc, rm (and the hook's lookup, store, rerun)
  explain    why a derivation rebuilds, and what a split build reuses
  patch-setup
             add hook points between the phases to nixpkgs' setup.sh
             (docs/stdenv-patch.md): print a diff, or write it with -w
  version    print the version

Run 'vanilla COMMAND -h' for a command's flags.
`

func main() {
	os.Exit(run(context.Background(), os.Args[1:], os.Stdout, os.Stderr))
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	commands := map[string]func(context.Context, []string, io.Writer) error{
		"snapshot":    snapshot,
		"prepare":     prepare,
		"save":        save,
		"restore":     restore,
		"check-phase": checkPhase,
		"cache":       cacheCommand,
		"explain":     explainCommand,
		"patch-setup": patchSetup,
		"late-functions": func(context.Context, []string, io.Writer) error {
			for _, in := range classify.Default().LateInputs {
				for _, fn := range in.Functions {
					fmt.Fprintf(stdout, "%s %s\n", fn, in.Name)
				}
			}
			return nil
		},
		"version": func(context.Context, []string, io.Writer) error {
			fmt.Fprintln(stdout, version())
			return nil
		},
	}
	cmd, ok := commands[args[0]]
	if !ok {
		if args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
			fmt.Fprint(stdout, usage)
			return 0
		}
		fmt.Fprintf(stderr, "vanilla: unknown command %q\n%s", args[0], usage)
		return 2
	}
	if err := cmd(ctx, args[1:], stdout); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		var u usageError
		if errors.As(err, &u) {
			fmt.Fprintf(stderr, "vanilla %s: %v\n", args[0], err)
			return 2
		}
		var nr *unpack.NotReproducedError
		if errors.As(err, &nr) {
			// Not a failure: the hook unpacks with unpackPhase.
			fmt.Fprintf(stderr, "vanilla: %v; unpacking with unpackPhase instead\n", err)
			return exitNotReproduced
		}
		fmt.Fprintf(stderr, "vanilla: %v\n", err)
		if advice := adviceFor(err); advice != "" {
			fmt.Fprintf(stderr, "vanilla: %s\n", advice)
		}
		if checkpoint.IsCorrupt(err) {
			return 3
		}
		return 1
	}
	return 0
}

// exitNotReproduced is restore's exit status when it could not unpack
// the source itself (-src) and changed nothing.
const exitNotReproduced = 4

// adviceFor says what a user can do about err, or nothing.
func adviceFor(err error) string {
	var tail *phases.TailError
	if errors.As(err, &tail) {
		return fmt.Sprintf("the split runs %s in the next stage, after those commands; keep it in the vanilla stage with vanillaEarlyAttrs = [ \"%s\" ];", tail.Hook, tail.Hook)
	}
	var leftover *checkpoint.LeftoverError
	if errors.As(err, &leftover) {
		return "have the build compress it after installPhase (e.g. in postFixup) or do not use vanillaPackage for this package"
	}
	var sums *checkpoint.ChecksumError
	if errors.As(err, &sums) {
		return "have the build write it after installPhase (e.g. in postFixup) or do not use vanillaPackage for this package"
	}
	if checkpoint.IsCorrupt(err) {
		return "rebuild the stage that made the checkpoint"
	}
	var rebuilt *stage.RebuiltError
	if errors.As(err, &rebuilt) {
		return "build this package without vanillaPackage, or keep $out out of the values " + rebuilt.Tool + " hashes (pass it at install time only)"
	}
	if advice := cacheAdvice(err); advice != "" {
		return advice
	}
	var mismatch *drvattrs.MismatchError
	if errors.As(err, &mismatch) {
		return "this happens when a split package is changed with lib.overrideDerivation, which changes the final stage alone; " +
			"use overrideAttrs instead (it keeps the split: pkg.overrideAttrs { postInstall = …; }), or set vanillaPackage = false"
	}
	return ""
}

// attrsFlag adds -builder-pid, the process whose environment holds the
// derivation's attributes, and returns a function reading them (from
// $NIX_ATTRS_JSON_FILE under structured attributes).
func attrsFlag(fs *flag.FlagSet) func() (drvattrs.Attrs, error) {
	pid := fs.Int("builder-pid", 0, "the builder's process ($$ in the setup hook)")
	return func() (drvattrs.Attrs, error) {
		json := os.Getenv("NIX_ATTRS_JSON_FILE")
		if json == "" && *pid == 0 {
			return nil, usageError{errors.New("-builder-pid is required without structured attributes")}
		}
		return drvattrs.Read(drvattrs.Options{PID: *pid, AttrsJSON: json})
	}
}

// versionString is the release, set by the Nix build (nix/helper.nix):
// -ldflags "-X main.versionString=0.1.0".
var versionString string

func version() string {
	if versionString != "" {
		return "vanilla " + versionString
	}
	if info, ok := debug.ReadBuildInfo(); ok && info.Main.Version != "" {
		return "vanilla " + info.Main.Version
	}
	return "vanilla (devel)"
}

// usageError is a mistake in the command line.
type usageError struct{ error }

// outputs collects repeated -output NAME=PATH flags.
type outputs map[string]string

func (o outputs) String() string { return fmt.Sprint(map[string]string(o)) }

func (o outputs) Set(s string) error {
	name, path, ok := strings.Cut(s, "=")
	if !ok || name == "" || path == "" {
		return fmt.Errorf("%q is not NAME=PATH", s)
	}
	if _, dup := o[name]; dup {
		return fmt.Errorf("output %s given twice", name)
	}
	o[name] = path
	return nil
}

// sourceFlags are the flags of a restore that unpacks the source itself.
type sourceFlags struct {
	srcs    []string
	threads *int
	copy    *bool
}

func addSourceFlags(fs *flag.FlagSet) *sourceFlags {
	s := &sourceFlags{}
	fs.Func("src", "a source to unpack the files the build left alone from, instead of finding them unpacked (repeat for each of $srcs, in order)", func(v string) error {
		if v == "" {
			return errors.New("empty source path")
		}
		s.srcs = append(s.srcs, v)
		return nil
	})
	s.threads = fs.Int("threads", 0, "threads for the sources' decompressor (NIX_BUILD_CORES); 0: all")
	s.copy = fs.Bool("source-copy", false, "unpack the checkpoint's source copy instead of the sources when it has one; with neither, exit with status 4")
	return s
}

// parse parses flags and checks that the required ones are set; -h prints
// the flags to stdout.
func parse(fs *flag.FlagSet, stdout io.Writer, args []string, required ...string) error {
	fs.SetOutput(io.Discard)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fs.SetOutput(stdout)
			fs.PrintDefaults()
			return err
		}
		return usageError{err}
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Errorf("unexpected argument %q", fs.Arg(0))}
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	var missing []string
	for _, name := range required {
		if !set[name] {
			missing = append(missing, "-"+name)
		}
	}
	if len(missing) > 0 {
		return usageError{fmt.Errorf("missing %s", strings.Join(missing, ", "))}
	}
	return nil
}

func stageFlag(fs *flag.FlagSet) *string {
	return fs.String("stage", "", "the stage: vanilla, unwrapped or final")
}

func snapshot(_ context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("snapshot", flag.ContinueOnError)
	top := fs.String("top", "", "the build directory ($NIX_BUILD_TOP)")
	to := fs.String("to", "", "the snapshot file to write")
	if err := parse(fs, stdout, args, "top", "to"); err != nil {
		return err
	}
	s, err := checkpoint.Take(*top, stage.Skip)
	if err != nil {
		return err
	}
	return s.WriteFile(*to)
}

func save(_ context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("save", flag.ContinueOnError)
	st := stageFlag(fs)
	to := fs.String("to", "", "the checkpoint directory to write")
	name := fs.String("name", "", "the derivation's name")
	top := fs.String("top", "", "the build directory ($NIX_BUILD_TOP)")
	snap := fs.String("snapshot", "", "the snapshot taken after unpackPhase, if any")
	fresh := fs.String("fresh", "", "the shell state before the stage's first phase")
	end := fs.String("end", "", "the shell state after the stage's last phase")
	take := fs.Bool("take-outputs", false, "empty the outputs once saved")
	tree := fs.Bool("tree", false, "save the build tree (always, for the vanilla stage)")
	restored := fs.String("restored", "", "the list of files the restore wrote (restore -restored), to report what was rebuilt")
	prepared := fs.String("prepared", "", "the directory of a `vanilla prepare` run during the build, if any")
	readAttrs := attrsFlag(fs)
	from := fs.String("from", "", "the checkpoint this stage restored, whose store hashes its outputs must not hold")
	outs := outputs{}
	fs.Var(outs, "output", "an output as NAME=PATH (repeat for each)")
	sc := addSourceCopyFlags(fs)
	if err := parse(fs, stdout, args, "stage", "to", "top", "fresh", "end"); err != nil {
		return err
	}
	copyPolicy, err := sc.policy()
	if err != nil {
		return usageError{err}
	}
	name2, err := stage.Parse(*st)
	if err != nil {
		return usageError{err}
	}
	attrs, err := readAttrs()
	if err != nil {
		return err
	}
	if err := stopPrepared(*prepared, stdout); err != nil {
		return err
	}
	_, err = stage.Save(stage.SaveOptions{
		Stage: name2, Dir: *to, Name: *name, Top: *top, Snapshot: *snap,
		Fresh: *fresh, End: *end, Outputs: outs, TakeOutputs: *take, Tree: *tree, Attrs: attrs, Restored: *restored, From: *from,
		SourceCopy: copyPolicy, Prepared: *prepared, Log: stdout,
	})
	return err
}

func checkPhase(_ context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("check-phase", flag.ContinueOnError)
	phase := fs.String("phase", "", "the phase's name")
	hook := fs.String("hook", "", "the hook the split runs in a later stage")
	if err := parse(fs, stdout, args, "phase", "hook"); err != nil {
		return err
	}
	code, err := io.ReadAll(os.Stdin)
	if err != nil {
		return err
	}
	tails, err := phases.AfterHook(string(code), *hook, *phase)
	if err != nil || len(tails) == 0 {
		return err
	}
	return &phases.TailError{Phase: *phase, Hook: *hook, Tails: tails}
}

func restore(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("restore", flag.ContinueOnError)
	st := stageFlag(fs)
	from := fs.String("from", "", "the previous stage's checkpoint")
	top := fs.String("top", "", "the build directory ($NIX_BUILD_TOP)")
	fresh := fs.String("fresh", "", "the shell state before the stage's first phase")
	script := fs.String("script", "", "where to write the script that replays the shell state")
	tree := fs.Bool("tree", false, "restore the build tree (always, for the unwrapped stage)")
	readAttrs := attrsFlag(fs)
	outs := outputs{}
	fs.Var(outs, "output", "an output as NAME=PATH (repeat for each)")
	src := addSourceFlags(fs)
	snap := fs.String("snapshot", "", "with -src: where to write the snapshot taken right after unpacking")
	restored := fs.String("restored", "", "where to write the list of the build tree's files once restored (for save -restored)")
	if err := parse(fs, stdout, args, "stage", "from", "top", "fresh", "script"); err != nil {
		return err
	}
	name, err := stage.Parse(*st)
	if err != nil {
		return usageError{err}
	}
	if name == stage.Vanilla {
		return usageError{errors.New("the vanilla stage restores nothing")}
	}
	attrs, err := readAttrs()
	if err != nil {
		return err
	}
	res, err := stage.Restore(ctx, stage.RestoreOptions{
		Stage: name, From: *from, Top: *top, Fresh: *fresh, Outputs: outs, Script: *script, Tree: *tree, Attrs: attrs,
		Sources: src.srcs, SourceThreads: *src.threads, SourceCopy: *src.copy, Snapshot: *snap, Restored: *restored,
	})
	res.WriteLog(stdout)
	return err
}
