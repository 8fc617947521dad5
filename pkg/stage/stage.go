package stage

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/nix-vanilla/nix-vanilla/pkg/checkpoint"
	"github.com/nix-vanilla/nix-vanilla/pkg/classify"
	"github.com/nix-vanilla/nix-vanilla/pkg/shellstate"
)

// Name names a stage, as the vanillaStage attribute does.
type Name string

// The stages of a split build.
const (
	Checkpoint Name = "vanilla"
	Unwrapped  Name = "unwrapped"
	Final      Name = "final"
)

// Parse checks a stage name.
func Parse(s string) (Name, error) {
	switch n := Name(s); n {
	case Checkpoint, Unwrapped, Final:
		return n, nil
	}
	return "", fmt.Errorf("unknown stage %q: expected %s, %s or %s", s, Checkpoint, Unwrapped, Final)
}

// Directories of a checkpoint that hold shell state.
const (
	FreshState = "state/fresh"
	EndState   = "state/end"
)

// SaveOptions say what a stage saves at its end.
type SaveOptions struct {
	Stage Name
	// Dir is the checkpoint to write (the stage's checkpoint output).
	Dir string
	// Name is the derivation's name.
	Name string
	// Top is $NIX_BUILD_TOP. The checkpoint stage saves the tree under it.
	Top string
	// Snapshot is the file written by `vanilla snapshot` after
	// unpackPhase; empty when the build unpacked nothing.
	Snapshot string
	// Fresh and End are the state directories the hook wrote before the
	// stage's first phase and after its last.
	Fresh, End string
	// Outputs maps output names to paths.
	Outputs map[string]string
	// TakeOutputs empties the outputs once saved (the checkpoint stage's
	// outputs are not meant to be used).
	TakeOutputs bool
	// From is the checkpoint the stage restored, if any: its outputs'
	// store hashes must not be left in this stage's outputs.
	From string
	// Log receives one line saying what was saved.
	Log io.Writer
}

// Skip reports the entries of the build directory that are never saved:
// the hook's own work directory and the files Nix and setup.sh write there.
func Skip(rel string) bool {
	switch rel {
	case ".vanilla", "env-vars", ".attrs.sh", ".attrs.json":
		return true
	}
	return false
}

// Save writes the stage's checkpoint.
func Save(opts SaveOptions) (*checkpoint.Manifest, error) {
	start := time.Now()
	var snap *checkpoint.Snapshot
	if opts.Snapshot != "" {
		var err error
		if snap, err = checkpoint.ReadSnapshot(opts.Snapshot); err != nil {
			return nil, err
		}
	}
	if opts.From != "" {
		old, err := checkpoint.EarlierHashes(opts.From)
		if err != nil {
			return nil, err
		}
		outs := make([]string, 0, len(opts.Outputs))
		for _, p := range opts.Outputs {
			outs = append(outs, p)
		}
		if err := checkpoint.Scan(context.Background(), outs, old); err != nil {
			return nil, fmt.Errorf("save: the outputs still hold store hashes of the stage before:\n%w", err)
		}
	}
	m, err := checkpoint.Save(checkpoint.SaveOptions{
		Dir:      opts.Dir,
		Name:     opts.Name,
		Top:      opts.Top,
		Tree:     opts.Stage == Checkpoint,
		Skip:     Skip,
		Snapshot: snap,
		Outputs:  opts.Outputs,
	})
	if err != nil {
		return nil, err
	}
	for dst, src := range map[string]string{FreshState: opts.Fresh, EndState: opts.End} {
		if err := copyDir(src, filepath.Join(opts.Dir, dst)); err != nil {
			return nil, fmt.Errorf("save shell state: %w", err)
		}
	}
	if opts.TakeOutputs {
		for _, p := range opts.Outputs {
			if err := os.RemoveAll(p); err != nil {
				return nil, err
			}
			if err := os.Mkdir(p, 0o755); err != nil {
				return nil, err
			}
		}
	}
	if opts.Log != nil {
		what := "outputs"
		if opts.Stage == Checkpoint {
			what = "checkpoint"
		}
		fmt.Fprintf(opts.Log, "vanilla: saved %s: %s in %s files (%s compressed)", what,
			size(m.Stats.Bytes), count(m.Stats.Files), size(m.Stats.Compressed))
		if m.Stats.Pristine > 0 {
			fmt.Fprintf(opts.Log, ", %s files (%s) left to the source", count(m.Stats.Pristine), size(m.Stats.PristineBytes))
		}
		fmt.Fprintf(opts.Log, ", %s\n", seconds(time.Since(start)))
	}
	return m, nil
}

func copyDir(src, dst string) error {
	if err := os.MkdirAll(dst, 0o755); err != nil {
		return err
	}
	entries, err := os.ReadDir(src)
	if err != nil {
		return err
	}
	for _, e := range entries {
		data, err := os.ReadFile(filepath.Join(src, e.Name()))
		if err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(dst, e.Name()), data, 0o644); err != nil {
			return err
		}
	}
	return nil
}

// RestoreOptions say what a stage restores before its first phase.
type RestoreOptions struct {
	Stage Name
	// From is the previous stage's checkpoint.
	From string
	// Top is $NIX_BUILD_TOP; the unwrapped stage restores the tree there,
	// over the freshly unpacked source.
	Top string
	// Fresh is the state directory the hook wrote before the first phase.
	Fresh string
	// Outputs maps output names to this stage's output paths.
	Outputs map[string]string
	// Script is where to write the bash code the hook sources next.
	Script string
	// Log receives one line per step, and warnings.
	Log io.Writer
}

// Restore restores the previous stage's checkpoint and writes the script
// that replays its shell state.
func Restore(ctx context.Context, opts RestoreOptions) error {
	if opts.Log == nil {
		opts.Log = io.Discard
	}
	start := time.Now()
	res, err := checkpoint.Restore(ctx, checkpoint.RestoreOptions{
		Dir:     opts.From,
		Top:     opts.Top,
		Tree:    opts.Stage == Unwrapped,
		Outputs: opts.Outputs,
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(opts.Log, "vanilla: restored %s in %s files from %s", size(res.Bytes), count(res.Files), opts.From)
	if res.Rewritten > 0 {
		fmt.Fprintf(opts.Log, ", store paths rewritten in %s", count(res.Rewritten))
	}
	if res.BuildIDs > 0 {
		fmt.Fprintf(opts.Log, ", %s build-ids recomputed", count(res.BuildIDs))
	}
	if res.Pycs > 0 {
		fmt.Fprintf(opts.Log, ", %s .pyc source hashes", count(res.Pycs))
	}
	if res.DebugLinks > 0 {
		fmt.Fprintf(opts.Log, ", %s debuglink CRCs", count(res.DebugLinks))
	}
	if res.Digests > 0 {
		fmt.Fprintf(opts.Log, ", digests updated in %s", count(res.Digests))
	}
	if res.NinjaLogs > 0 {
		fmt.Fprintf(opts.Log, ", %s ninja log entries rehashed", count(res.NinjaLogs))
	}
	fmt.Fprintf(opts.Log, ", %s\n", seconds(time.Since(start)))
	for _, w := range res.Warnings {
		fmt.Fprintf(opts.Log, "vanilla: warning: %s\n", w)
	}

	before, err := shellstate.Read(filepath.Join(opts.From, FreshState))
	if err != nil {
		return err
	}
	after, err := shellstate.Read(filepath.Join(opts.From, EndState))
	if err != nil {
		return err
	}
	fresh, err := shellstate.Read(opts.Fresh)
	if err != nil {
		return err
	}
	merged, err := shellstate.Merge(before, after, fresh, shellstate.MergeOptions{
		Owned:     Owned(fresh),
		Late:      Late(opts.Stage, fresh),
		Rewrite:   res.Rewrite,
		CreateDir: opts.Stage == Final,
	})
	if err != nil {
		return err
	}
	script := merged.Script
	if opts.Stage == Final {
		script += lateInstallHooks(before, fresh)
	}
	if err := os.WriteFile(opts.Script, []byte(script), 0o644); err != nil {
		return fmt.Errorf("restore shell state: %w", err)
	}
	fmt.Fprintf(opts.Log, "vanilla: replayed shell state: %d variables, %d functions", len(merged.Vars)+len(merged.Unset), len(merged.Funcs))
	if after.Dir != "" {
		fmt.Fprintf(opts.Log, ", working directory %s", res.Rewrite(after.Dir))
	}
	fmt.Fprintln(opts.Log)
	late := Late(opts.Stage, fresh)
	for _, name := range merged.Conflicts {
		winner := "checkpointed phases"
		if late(name) {
			winner = "stage's attribute"
		}
		fmt.Fprintf(opts.Log, "vanilla: warning: %s was changed both by the checkpointed phases and by this stage; using the value of the %s\n", name, winner)
	}
	for _, name := range merged.Skipped {
		fmt.Fprintf(opts.Log, "vanilla: warning: %s is readonly here; not restored\n", name)
	}
	return nil
}

// lateInstallHooks returns bash code listing the postInstallHooks that this
// stage has and the one before did not: hooks of inputs given to the final
// stage alone (copyDesktopItems), which the hook runs before fixupPhase.
func lateInstallHooks(before, fresh *shellstate.State) string {
	had := map[string]bool{}
	if v := before.Vars["postInstallHooks"]; v != nil {
		for _, e := range v.Elems {
			had[e.Value] = true
		}
	}
	var hooks []string
	if v := fresh.Vars["postInstallHooks"]; v != nil {
		for _, e := range v.Elems {
			if !had[e.Value] {
				hooks = append(hooks, e.Value)
			}
		}
	}
	v := &shellstate.Var{Name: "_vanillaLateInstallHooks", Flags: "a", Kind: shellstate.Indexed, Set: true}
	for i, h := range hooks {
		v.Elems = append(v.Elems, shellstate.Elem{Key: fmt.Sprint(i), Value: h})
	}
	decl, _ := v.Declare()
	return decl + "\n"
}

// buildVars are variables that Nix, setup.sh or the hook set for each build
// afresh.
var buildVars = []string{
	"NIX_BUILD_TOP", "TMPDIR", "TEMPDIR", "TMP", "TEMP", "HOME", "NIX_LOG_FD",
	"NIX_BUILD_CORES", "NIX_ATTRS_SH_FILE", "NIX_ATTRS_JSON_FILE", "NIX_STORE",
	"curPhase", "outputs", "checkpoint", "vanillaStage", "vanillaFrom", "vanillaOutputs",
}

// Owned returns the predicate for variables a stage owns whatever the
// earlier phases did: the build's own variables, the outputs, and the
// hook's.
func Owned(fresh *shellstate.State) func(string) bool {
	outputs := words(fresh.Vars["outputs"])
	return func(name string) bool {
		return strings.HasPrefix(name, "_vanilla") || slices.Contains(buildVars, name) || slices.Contains(outputs, name)
	}
}

// Late returns the predicate for the late attributes of stage: those the
// classification (and the package's vanillaLateAttrs and
// vanillaInstallAttrs) gives to it or to a later stage.
func Late(stage Name, fresh *shellstate.State) func(string) bool {
	table := classify.Default()
	final := words(fresh.Vars["vanillaLateAttrs"])
	unwrapped := words(fresh.Vars["vanillaInstallAttrs"])
	return func(name string) bool {
		switch {
		case table.Of(name) == classify.Final || slices.Contains(final, name):
			return true
		case table.Of(name) == classify.Unwrapped || slices.Contains(unwrapped, name):
			return stage == Unwrapped
		}
		return false
	}
}

// words returns a variable's words: a scalar split at blanks, an indexed
// array's elements, or an associative array's keys (as for outputs under
// structured attributes).
func words(v *shellstate.Var) []string {
	if v == nil {
		return nil
	}
	var w []string
	switch v.Kind {
	case shellstate.Scalar:
		w = strings.Fields(v.Value)
	case shellstate.Indexed:
		for _, e := range v.Elems {
			w = append(w, e.Value)
		}
	case shellstate.Associative:
		for _, e := range v.Elems {
			w = append(w, e.Key)
		}
	}
	return w
}
