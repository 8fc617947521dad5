package phases

import (
	"fmt"
	"strings"

	"mvdan.cc/sh/v3/syntax"
)

// Tail is a command that follows a hook's call in a phase.
type Tail struct {
	// Line is its line in the phase's code, and Command its text.
	Line    uint
	Command string
}

// AfterHook returns the commands of code that follow its last
// `runHook HOOK`, or nil when it has none (or does not call the hook).
// name names code in errors.
func AfterHook(code, hook, name string) ([]Tail, error) {
	f, err := syntax.NewParser(syntax.Variant(syntax.LangBash)).Parse(strings.NewReader(code), name)
	if err != nil {
		return nil, fmt.Errorf("parse %s: %w", name, err)
	}
	var at *syntax.Stmt
	syntax.Walk(f, func(n syntax.Node) bool {
		if st, ok := n.(*syntax.Stmt); ok && calls(st, hook) {
			if at == nil || st.Pos().After(at.Pos()) {
				at = st
			}
		}
		return true
	})
	if at == nil {
		return nil, nil
	}
	var tails []Tail
	syntax.Walk(f, func(n syntax.Node) bool {
		st, ok := n.(*syntax.Stmt)
		if !ok || !st.Pos().After(at.End()) {
			return true
		}
		var b strings.Builder
		syntax.NewPrinter().Print(&b, st)
		tails = append(tails, Tail{Line: st.Pos().Line(), Command: b.String()})
		return false
	})
	return tails, nil
}

// calls reports whether st is the simple command `runHook hook`.
func calls(st *syntax.Stmt, hook string) bool {
	call, ok := st.Cmd.(*syntax.CallExpr)
	if !ok || len(call.Args) != 2 {
		return false
	}
	return call.Args[0].Lit() == "runHook" && call.Args[1].Lit() == hook
}

// TailError reports that a phase runs commands after a hook that the split
// runs in a later stage, so that the split would run them before it.
type TailError struct {
	Phase, Hook string
	Tails       []Tail
}

func (e *TailError) Error() string {
	t := e.Tails[0]
	return fmt.Sprintf("%s runs commands after `runHook %s` (line %d: %s)", e.Phase, e.Hook, t.Line, t.Command)
}
