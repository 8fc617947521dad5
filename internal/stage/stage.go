package stage

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/nix-vanilla/nix-vanilla/pkg/checkpoint"
	"github.com/nix-vanilla/nix-vanilla/pkg/classify"
	"github.com/nix-vanilla/nix-vanilla/pkg/drvattrs"
	"github.com/nix-vanilla/nix-vanilla/pkg/shellstate"
	"github.com/nix-vanilla/nix-vanilla/pkg/unpack"
)

// Name names a stage, as the vanillaStage attribute does.
type Name string

// The stages of a split build.
const (
	Vanilla   Name = "vanilla"
	Unwrapped Name = "unwrapped"
	Final     Name = "final"
)

// Parse checks a stage name.
func Parse(s string) (Name, error) {
	switch n := Name(s); n {
	case Vanilla, Unwrapped, Final:
		return n, nil
	}
	return "", fmt.Errorf("unknown stage %q: expected %s, %s or %s", s, Vanilla, Unwrapped, Final)
}

// Directories of a checkpoint that hold shell state.
const (
	FreshState = "state/fresh"
	EndState   = "state/end"
)

// AttrsFile is the file of a checkpoint that holds the attributes of the
// derivation that wrote it.
const AttrsFile = "attrs.json"

// SaveOptions say what a stage saves at its end.
type SaveOptions struct {
	Stage Name
	// Dir is the checkpoint to write (the stage's checkpoint output).
	Dir string
	// Name is the derivation's name.
	Name string
	// Top is $NIX_BUILD_TOP. The vanilla stage saves the tree under it.
	Top string
	// Snapshot is the file written by `vanilla snapshot` after
	// unpackPhase; empty when the build unpacked nothing.
	Snapshot string
	// Tree saves the build tree under Top from a later stage too: the
	// unwrapped stage saves it for a final stage whose phases read it
	// (installCheckPhase). The vanilla stage always saves it.
	Tree bool
	// Fresh and End are the state directories the hook wrote before the
	// stage's first phase and after its last.
	Fresh, End string
	// Outputs maps output names to paths.
	Outputs map[string]string
	// TakeOutputs empties the outputs once saved (the vanilla stage's
	// outputs are not meant to be used).
	TakeOutputs bool
	// Attrs are the derivation's attributes, recorded so that the next
	// stage can check it was made from the same package.
	Attrs drvattrs.Attrs
	// Restored is the list of files the unwrapped stage's restore wrote
	// (RestoreOptions.Restored); Save reports those its phases rebuilt
	// since ([Rebuilt]).
	Restored string
	// From is the checkpoint the stage restored, if any: its outputs'
	// store hashes must not be left in this stage's outputs, and the
	// digests of the files it left to the source need not be computed
	// again (checkpoint.SaveOptions.Previous).
	From string
	// SourceCopy decides whether the checkpoint gets a copy of the files
	// left to the source (checkpoint.SaveOptions.SourceCopy).
	SourceCopy func(files int, bytes int64) bool
	// Prepared is the directory of a `vanilla prepare` run during the
	// build, if any (checkpoint.SaveOptions.Prepared).
	Prepared string
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
	if opts.Restored != "" {
		if err := reportRebuilt(opts); err != nil {
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
	// The stage's files first: checkpoint.Save writes the manifest, which
	// makes the directory a checkpoint, last.
	if err := os.MkdirAll(opts.Dir, 0o755); err != nil {
		return nil, err
	}
	if err := os.Remove(filepath.Join(opts.Dir, checkpoint.ManifestFile)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	if err := opts.Attrs.WriteFile(filepath.Join(opts.Dir, AttrsFile)); err != nil {
		return nil, fmt.Errorf("save derivation attributes: %w", err)
	}
	for dst, src := range map[string]string{FreshState: opts.Fresh, EndState: opts.End} {
		if err := copyDir(src, filepath.Join(opts.Dir, dst)); err != nil {
			return nil, fmt.Errorf("save shell state: %w", err)
		}
	}
	m, err := checkpoint.Save(checkpoint.SaveOptions{
		Dir:      opts.Dir,
		Name:     opts.Name,
		Top:      opts.Top,
		Tree:     opts.Stage == Vanilla || opts.Tree,
		Skip:     Skip,
		Snapshot: snap,
		Outputs:  opts.Outputs,
		// The snapshot was taken after the restore's unpack, which
		// checked every file the earlier checkpoint left to the source.
		Previous:   opts.From,
		SourceCopy: opts.SourceCopy,
		Prepared:   opts.Prepared,
		Warn: func(msg string) {
			if opts.Log != nil {
				fmt.Fprintf(opts.Log, "vanilla: warning: %s\n", msg)
			}
		},
	})
	if err != nil {
		return nil, err
	}
	take := opts.TakeOutputs
	if opts.Stage == Unwrapped && !take {
		// The outputs as installed are the stage's own, unless Nix would
		// refuse them: outputs that refer to each other in a cycle, which
		// the plain build's fixupPhase breaks. The checkpoint holds them
		// either way; the final stage restores them from there.
		cycle, err := outputCycle(opts.Outputs)
		if err != nil {
			return nil, fmt.Errorf("save: looking for references between the outputs: %w", err)
		}
		if cycle != nil {
			take = true
			if opts.Log != nil {
				fmt.Fprintf(opts.Log, "vanilla: the installed outputs refer to each other in a cycle, which Nix refuses before fixupPhase moves files: %s; the unwrapped stage's outputs are left empty (its checkpoint holds them, and the final stage restores them)\n", describe(cycle))
			}
		}
	}
	if take {
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
		if opts.Stage == Vanilla {
			what = "checkpoint"
		}
		fmt.Fprintf(opts.Log, "vanilla: saved %s: %s in %s files (%s compressed)", what,
			size(m.Stats.Bytes), count(m.Stats.Files), size(m.Stats.Compressed))
		if m.Stats.Pristine > 0 {
			fmt.Fprintf(opts.Log, ", %s files (%s) left to the source", count(m.Stats.Pristine), size(m.Stats.PristineBytes))
		}
		if m.Stats.SourceCopy > 0 {
			fmt.Fprintf(opts.Log, ", copied (%s compressed", size(m.Stats.SourceCopy))
			if opts.Prepared != "" {
				fmt.Fprintf(opts.Log, "; %d of %d parts compressed during the build", m.Stats.PreparedGroups, m.Stats.CopyGroups)
			}
			fmt.Fprint(opts.Log, ")")
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
	// Tree restores the build tree in the final stage too, which then has
	// unpacked the source again.
	Tree bool
	// Fresh is the state directory the hook wrote before the first phase.
	Fresh string
	// Outputs maps output names to this stage's output paths.
	Outputs map[string]string
	// Script is where to write the bash code the hook sources next.
	Script string
	// Attrs are this stage's derivation attributes. Every attribute the
	// earlier stage was built with must be among them, unchanged.
	Attrs drvattrs.Attrs
	// Sources, when not nil, are the derivation's sources ($srcs or
	// $src), not unpacked in Top: the restore brings back the files the
	// checkpoint left to the source from them itself (package unpack).
	// When it cannot, Restore fails with an *unpack.NotReproducedError
	// having changed nothing: run unpackPhase and restore without them.
	Sources []string
	// SourceCopy unpacks the checkpoint's source copy in place of
	// Sources when it has one (checkpoint.RestoreOptions.SourceCopy).
	SourceCopy bool
	// SourceCopyDir is another checkpoint whose source copy serves when
	// From has none (checkpoint.RestoreOptions.SourceCopyDir); when it
	// cannot give every file, Restore uses Sources and says why in
	// RestoreResult.CopyFailed.
	SourceCopyDir string
	// SourceThreads is NIX_BUILD_CORES, for the sources' decompressor.
	SourceThreads int
	// Snapshot, with Sources, is where to write the snapshot of Top
	// taken right after the source is unpacked (as `vanilla snapshot`
	// after unpackPhase).
	Snapshot string
	// Restored, with a tree restored, is where to write the list of the
	// tree's regular files once restored, last ([WriteRestored]): the
	// unwrapped stage's save reports which of them its phases rebuilt
	// (SaveOptions.Restored).
	Restored string
}

// RestoreResult reports what Restore did, as far as it got: the fields
// of the steps that did not run are zero. [RestoreResult.WriteLog] words
// it as the helper's log lines.
type RestoreResult struct {
	// From is the checkpoint restored (RestoreOptions.From).
	From string
	// Checkpoint is what the checkpoint's restore did; nil if it failed.
	Checkpoint *checkpoint.Result
	// Took is the checkpoint's restore time, less the unpack of the
	// source (Checkpoint.Unpacked.Elapsed), which ran while the archive
	// was verified.
	Took time.Duration
	// Shell is the shell state merge whose script was written; nil if it
	// was not.
	Shell *shellstate.Merged
	// CopyFailed says why the source copy of RestoreOptions.SourceCopyDir
	// could not bring back the files left to the source, naming it (the
	// restore then used the sources); nil if it did or was not asked to.
	CopyFailed error
	// Dir is the working directory the script changes into, as this
	// stage names it; "" for none.
	Dir string
	// Conflicts are the variables both the checkpointed phases and this
	// stage changed, in Shell.Conflicts' order.
	Conflicts []Conflict
}

// A Conflict is a variable that both the checkpointed phases and this
// stage changed.
type Conflict struct {
	Name string
	// Late says that the stage's own attribute won (a late attribute);
	// otherwise the checkpointed phases' value did.
	Late bool
}

// Restore restores the previous stage's checkpoint and writes the script
// that replays its shell state. It returns what it did even when it
// fails part way, so that the caller can log the steps that ran.
func Restore(ctx context.Context, opts RestoreOptions) (*RestoreResult, error) {
	r := &RestoreResult{From: opts.From}
	start := time.Now()
	co := checkpoint.RestoreOptions{
		Dir:     opts.From,
		Top:     opts.Top,
		Tree:    opts.Stage == Unwrapped || opts.Tree,
		Outputs: opts.Outputs,
		Keep:    Skip,
		Sources: opts.Sources, SourceThreads: opts.SourceThreads, SourceCopy: opts.SourceCopy, SourceCopyDir: opts.SourceCopyDir,
		Unpacked: func() error {
			if opts.Snapshot == "" {
				return nil
			}
			s, err := checkpoint.Take(opts.Top, Skip)
			if err != nil {
				return err
			}
			return s.WriteFile(opts.Snapshot)
		},
	}
	res, err := checkpoint.Restore(ctx, co)
	var nr *unpack.NotReproducedError
	if co.SourceCopyDir != "" && errors.As(err, &nr) {
		// It changed nothing: the sources, as without that copy.
		r.CopyFailed = fmt.Errorf("the source copy of %s cannot bring back the files the build left alone: %w", co.SourceCopyDir, err)
		co.SourceCopyDir = ""
		start = time.Now()
		res, err = checkpoint.Restore(ctx, co)
	}
	if err != nil {
		return r, err
	}
	r.Checkpoint, r.Took = res, time.Since(start)
	if u := res.Unpacked; u != nil {
		r.Took -= u.Elapsed
	}

	if err := sameSource(opts, res.Rewrite); err != nil {
		return r, err
	}
	before, err := shellstate.Read(filepath.Join(opts.From, FreshState))
	if err != nil {
		return r, err
	}
	after, err := shellstate.Read(filepath.Join(opts.From, EndState))
	if err != nil {
		return r, err
	}
	fresh, err := shellstate.Read(opts.Fresh)
	if err != nil {
		return r, err
	}
	late := setLate(opts.Stage, opts.Attrs)
	merged, err := shellstate.Merge(before, after, fresh, shellstate.MergeOptions{
		Owned:     Owned(fresh),
		Late:      late,
		Rewrite:   res.Rewrite,
		CreateDir: opts.Stage == Final && !opts.Tree,
	})
	if err != nil {
		return r, err
	}
	script := merged.Script
	if opts.Stage == Final {
		script += lateInstallHooks(before, fresh)
	}
	if err := os.WriteFile(opts.Script, []byte(script), 0o644); err != nil {
		return r, fmt.Errorf("restore shell state: %w", err)
	}
	r.Shell = merged
	if after.Dir != "" {
		r.Dir = res.Rewrite(after.Dir)
	}
	for _, name := range merged.Conflicts {
		r.Conflicts = append(r.Conflicts, Conflict{Name: name, Late: late(name)})
	}
	if opts.Restored != "" {
		if err := WriteRestored(opts.Restored, res.TreeFiles); err != nil {
			return r, err
		}
	}
	return r, nil
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

// buildVars are variables that Nix, setup.sh or the hook set for each
// build afresh and that no phase is expected to change. Others that Nix
// sets (HOME, TMPDIR, NIX_BUILD_TOP) are not owned: a phase that changed
// them (export HOME=$TMPDIR in preConfigure) changed them for the phases
// after it too.
var buildVars = []string{
	"NIX_LOG_FD", "NIX_BUILD_CORES", "NIX_ATTRS_SH_FILE", "NIX_ATTRS_JSON_FILE",
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
// classification gives to it or to a later stage, those the package
// declares with vanillaLateAttrs and vanillaInstallAttrs, and the bodies
// of the custom phases that run there (a docPhase in preInstallPhases),
// less those the split kept early (vanillaEarlyAttrs). attrs are the
// stage's derivation attributes.
func Late(stage Name, attrs drvattrs.Attrs) func(string) bool {
	s := classify.Final
	if stage == Unwrapped {
		s = classify.Unwrapped
	}
	return classify.Default().Later(s, func(n string) []string { return drvattrs.Words(attrs[n]) })
}

// setLate is Late for the attributes the stage's derivation sets: a late
// attribute the package left unset (installPhase, which meson's hook sets
// during configure) keeps what the early phases chose.
func setLate(stage Name, attrs drvattrs.Attrs) func(string) bool {
	late := Late(stage, attrs)
	return func(name string) bool {
		_, set := attrs[name]
		return set && late(name)
	}
}

// stageAttrs are the attributes the split gives each stage a value of its
// own: its name, its checkpoint, its outputs and its inputs (late inputs
// are left out of earlier stages), and whether the final stage has the
// build tree (vanillaFinalTree, which the unwrapped stage sees as
// vanillaSaveTree).
var stageAttrs = []string{
	"vanillaStage", "vanillaFrom", "outputs", "checkpoint", "vanillaFinalTree", "vanillaSaveTree",
	"vanillaPackage", "vanillaLateInputs", "vanillaEarlyInputs",
	"nativeBuildInputs", "buildInputs", "propagatedBuildInputs", "propagatedNativeBuildInputs",
	"depsBuildBuild", "depsBuildBuildPropagated", "depsBuildTarget", "depsBuildTargetPropagated",
	"depsHostHost", "depsHostHostPropagated", "depsTargetTarget", "depsTargetTargetPropagated",
}

// storeDir is the store of the build: from its outputs' paths, which Nix
// always sets, or /nix/store.
func storeDir(attrs drvattrs.Attrs) string {
	if out := attrs["out"]; strings.HasPrefix(out, "/") {
		return filepath.Dir(out)
	}
	return "/nix/store"
}

// sameSource checks that this stage was made from the package the
// earlier stage was built from: lib.overrideDerivation changes the final
// derivation alone, and its change would be lost.
func sameSource(opts RestoreOptions, rewrite func(string) string) error {
	earlier, err := drvattrs.ReadFile(filepath.Join(opts.From, AttrsFile))
	if err != nil {
		return &checkpoint.CorruptError{Dir: opts.From, Err: err}
	}
	outputs := drvattrs.Words(opts.Attrs["outputs"])
	if strings.HasPrefix(opts.Attrs["outputs"], "{") {
		var m map[string]string
		if json.Unmarshal([]byte(opts.Attrs["outputs"]), &m) == nil {
			outputs = slices.Collect(maps.Keys(m))
		}
	}
	outputs = append(outputs, drvattrs.Words(earlier["outputs"])...)
	changes := drvattrs.Compare(earlier, opts.Attrs, drvattrs.CompareOptions{
		Ignore:  func(n string) bool { return slices.Contains(stageAttrs, n) || slices.Contains(outputs, n) },
		Own:     Late(opts.Stage, opts.Attrs),
		Rewrite: rewrite,
		// Late inputs are left out of the earlier stages' lists.
		Allow: func(_, was, now string) bool { return drvattrs.OnlyAddsStorePaths(storeDir(opts.Attrs), was, now) },
	})
	if len(changes) > 0 {
		earlierName := "checkpoint"
		if opts.Stage == Final {
			earlierName = string(Unwrapped)
		}
		return &drvattrs.MismatchError{Stage: string(opts.Stage), Earlier: earlierName, Changes: changes}
	}
	return nil
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
