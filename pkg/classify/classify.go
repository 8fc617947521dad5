package classify

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"sort"
)

//go:embed classification.json
var tableJSON []byte

// Stage names the stage of a split build that first needs an attribute.
type Stage int

const (
	// Early attributes are needed by the vanilla stage, the first (unpack
	// to buildPhase); changing one rebuilds every stage.
	Early Stage = iota
	// Unwrapped attributes are first needed from postBuild to installPhase.
	Unwrapped
	// Final attributes are first needed from fixupPhase on, or only by Nix.
	Final
)

// String returns the stage's name as the documentation uses it.
func (s Stage) String() string {
	switch s {
	case Early:
		return "early"
	case Unwrapped:
		return "unwrapped"
	case Final:
		return "final"
	}
	return fmt.Sprintf("Stage(%d)", int(s))
}

// LateInput is a setup hook that is only needed from installPhase on.
type LateInput struct {
	// Name is the hook derivation's name, e.g. "make-shell-wrapper-hook".
	Name string `json:"name"`
	// Functions are the shell functions it defines; the unwrapped stage
	// gets the hook only when an attribute it runs mentions one of them.
	Functions []string `json:"functions"`
}

// Table is the whole classification.
type Table struct {
	// Stages maps each attribute that is not early to its stage.
	Stages map[string]Stage
	// LateInputs lists the setup hooks left out of the vanilla stage.
	LateInputs []LateInput
	// EarlyNotes explains attributes that look late but are early.
	EarlyNotes map[string]string
}

type file struct {
	Unwrapped struct {
		Attributes []string `json:"attributes"`
	} `json:"unwrapped"`
	Final struct {
		Attributes []string `json:"attributes"`
	} `json:"final"`
	LateInputs struct {
		Hooks []LateInput `json:"hooks"`
	} `json:"lateInputs"`
	Early struct {
		Attributes map[string]string `json:"attributes"`
	} `json:"early"`
}

var table = mustParse(tableJSON)

func mustParse(data []byte) *Table {
	t, err := parse(data)
	if err != nil {
		panic(err)
	}
	return t
}

func parse(data []byte) (*Table, error) {
	var f file
	if err := json.Unmarshal(data, &f); err != nil {
		return nil, fmt.Errorf("classification.json: %w", err)
	}
	t := &Table{Stages: map[string]Stage{}, LateInputs: f.LateInputs.Hooks, EarlyNotes: f.Early.Attributes}
	for stage, names := range map[Stage][]string{Unwrapped: f.Unwrapped.Attributes, Final: f.Final.Attributes} {
		for _, name := range names {
			if prev, ok := t.Stages[name]; ok {
				return nil, fmt.Errorf("classification.json: %s is listed as both %s and %s", name, prev, stage)
			}
			if _, ok := t.EarlyNotes[name]; ok {
				return nil, fmt.Errorf("classification.json: %s is listed as early and as %s", name, stage)
			}
			t.Stages[name] = stage
		}
	}
	return t, nil
}

// Default returns the table shipped with nix-vanilla.
func Default() *Table { return table }

// Of returns the stage that first needs the attribute name.
func (t *Table) Of(name string) Stage { return t.Stages[name] }

// Attributes returns the attributes of the given stage, sorted. For Early
// it returns the attributes with a note saying why they are early.
func (t *Table) Attributes(s Stage) []string {
	var names []string
	if s == Early {
		for name := range t.EarlyNotes {
			names = append(names, name)
		}
	} else {
		for name, st := range t.Stages {
			if st == s {
				names = append(names, name)
			}
		}
	}
	sort.Strings(names)
	return names
}

// Later returns the predicate for the attributes that a build running the
// phases of stage s (and its resume, in hook mode) treats as its own or a
// later stage's: those whose class is later than Early, counting Unwrapped
// only when s is Unwrapped (after the vanilla stage, an unwrapped
// attribute is the next stage's own; after the unwrapped stage it is
// settled), plus what the package declares — vanillaLateAttrs and the
// custom phases of preFixupPhases, preDistPhases and postPhases as final,
// vanillaInstallAttrs and preInstallPhases as unwrapped — less
// vanillaEarlyAttrs. words returns an attribute's words.
func (t *Table) Later(s Stage, words func(name string) []string) func(string) bool {
	var final, unwrapped []string
	for _, n := range []string{"vanillaLateAttrs", "preFixupPhases", "preDistPhases", "postPhases"} {
		final = append(final, words(n)...)
	}
	for _, n := range []string{"vanillaInstallAttrs", "preInstallPhases"} {
		unwrapped = append(unwrapped, words(n)...)
	}
	early := words("vanillaEarlyAttrs")
	has := func(l []string, n string) bool {
		for _, e := range l {
			if e == n {
				return true
			}
		}
		return false
	}
	return func(name string) bool {
		switch {
		case has(early, name):
			return false
		case t.Of(name) == Final || has(final, name):
			return true
		case t.Of(name) == Unwrapped || has(unwrapped, name):
			return s == Unwrapped
		}
		return false
	}
}
