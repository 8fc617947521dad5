// Command vanilla is nix-vanilla's helper: the setup hook calls it to save
// and restore checkpoints of a split build.
//
// Usage:
//
//	vanilla snapshot -top DIR -to FILE
//	vanilla save -stage STAGE -to DIR -top DIR [-snapshot FILE] [-from DIR] -fresh DIR -end DIR [-take-outputs] -output NAME=PATH...
//	vanilla restore -stage STAGE -from DIR -top DIR -fresh DIR -script FILE -output NAME=PATH...
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

	"github.com/nix-vanilla/nix-vanilla/pkg/checkpoint"
	"github.com/nix-vanilla/nix-vanilla/pkg/stage"
)

const usage = `usage: vanilla COMMAND [flags]

Commands the setup hook runs in a split build:
  snapshot   record the build directory right after unpackPhase
  save       write a stage's checkpoint at its end
  restore    restore the previous stage's checkpoint; write a script
             that replays its shell state

Other commands:
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
		"snapshot": snapshot,
		"save":     save,
		"restore":  restore,
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
		fmt.Fprintf(stderr, "vanilla: %v\n", err)
		if checkpoint.IsCorrupt(err) {
			return 3
		}
		return 1
	}
	return 0
}

func version() string {
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

// parse parses flags and checks that the required ones are set.
func parse(fs *flag.FlagSet, args []string, required ...string) error {
	fs.SetOutput(io.Discard)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fs.SetOutput(os.Stdout)
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

func snapshot(_ context.Context, args []string, _ io.Writer) error {
	fs := flag.NewFlagSet("snapshot", flag.ContinueOnError)
	top := fs.String("top", "", "the build directory ($NIX_BUILD_TOP)")
	to := fs.String("to", "", "the snapshot file to write")
	if err := parse(fs, args, "top", "to"); err != nil {
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
	from := fs.String("from", "", "the checkpoint this stage restored, whose store hashes its outputs must not hold")
	outs := outputs{}
	fs.Var(outs, "output", "an output as NAME=PATH (repeat for each)")
	if err := parse(fs, args, "stage", "to", "top", "fresh", "end"); err != nil {
		return err
	}
	name2, err := stage.Parse(*st)
	if err != nil {
		return usageError{err}
	}
	_, err = stage.Save(stage.SaveOptions{
		Stage: name2, Dir: *to, Name: *name, Top: *top, Snapshot: *snap,
		Fresh: *fresh, End: *end, Outputs: outs, TakeOutputs: *take, From: *from, Log: stdout,
	})
	return err
}

func restore(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("restore", flag.ContinueOnError)
	st := stageFlag(fs)
	from := fs.String("from", "", "the previous stage's checkpoint")
	top := fs.String("top", "", "the build directory ($NIX_BUILD_TOP)")
	fresh := fs.String("fresh", "", "the shell state before the stage's first phase")
	script := fs.String("script", "", "where to write the script that replays the shell state")
	outs := outputs{}
	fs.Var(outs, "output", "an output as NAME=PATH (repeat for each)")
	if err := parse(fs, args, "stage", "from", "top", "fresh", "script"); err != nil {
		return err
	}
	name, err := stage.Parse(*st)
	if err != nil {
		return usageError{err}
	}
	if name == stage.Checkpoint {
		return usageError{errors.New("the checkpoint stage restores nothing")}
	}
	return stage.Restore(ctx, stage.RestoreOptions{
		Stage: name, From: *from, Top: *top, Fresh: *fresh, Outputs: outs, Script: *script, Log: stdout,
	})
}
