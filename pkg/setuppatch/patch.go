package setuppatch

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"strings"

	"mvdan.cc/sh/v3/syntax"
)

// The names the patched loop gives its hook points. A setup hook
// registers for them as for any hook (`beforePhaseHooks+=(myFunction)`),
// and a package may set either as an attribute; a before-phase hook that
// sets skipPhase to a non-empty value skips the phase.
const (
	BeforePhase = "beforePhase"
	AfterPhase  = "afterPhase"
	SkipPhase   = "skipPhase"
)

// stockBody is the loop body of genericBuild in nixpkgs since runPhase
// exists (NixOS/nixpkgs#230874, 2023).
var stockBody = []string{`runPhase "$curPhase"`}

// patchedBody is the loop body Patch writes, one tab per level of
// indentation (replaced by the file's own), and patchedComment the comment
// above it.
var (
	patchedBody = []string{
		`runHook ` + BeforePhase + ` "$curPhase"`,
		`if [ -z "${` + SkipPhase + `:-}" ]; then`,
		"\t" + `runPhase "$curPhase"`,
		"\t" + `runHook ` + AfterPhase + ` "$curPhase"`,
		`fi`,
		`unset -v ` + SkipPhase,
	}
	patchedComment = []string{
		`# Setup hooks can act between the phases, to save a checkpoint of the`,
		`# build or to resume one: runHook passes them the phase's name`,
		`# (beforePhaseHooks+=(f), afterPhaseHooks+=(f)), and a beforePhase`,
		`# hook that sets skipPhase=1 skips the phase; afterPhase follows only`,
		`# a phase that ran.`,
	}
)

// ShapeError reports a setup script whose genericBuild Patch does not
// recognise: it names what was expected and, when it can, where and what
// was found instead.
type ShapeError struct {
	// Name is the script's name; Line and Col locate what was found
	// (both 0 for the whole file).
	Name      string
	Line, Col uint
	// Expected says what Patch looks for, Found what is there instead
	// ("" when nothing is).
	Expected, Found string
}

func (e *ShapeError) Error() string {
	var b strings.Builder
	b.WriteString(e.Name)
	if e.Line > 0 {
		fmt.Fprintf(&b, ":%d:%d", e.Line, e.Col)
	}
	fmt.Fprintf(&b, ": not a setup.sh this patch knows: expected %s", e.Expected)
	if e.Found != "" {
		fmt.Fprintf(&b, ", found %s", e.Found)
	}
	return b.String()
}

// IsShapeError reports whether err is, or wraps, a *ShapeError.
func IsShapeError(err error) bool {
	var s *ShapeError
	return errors.As(err, &s)
}

// Patch returns the script src (named name in errors) with the hook
// points added to genericBuild's loop over the phases, and src itself
// when they are there already. The edit replaces the loop's body alone:
// every other byte is src's. It fails with a *ShapeError when
// genericBuild's shape is not the one it knows, and with the parser's
// error when src is not shell.
func Patch(name string, src []byte) ([]byte, error) {
	s, err := locate(name, src)
	if err != nil {
		return nil, err
	}
	if s.patched {
		return src, nil
	}
	first, last := s.body[0], s.body[len(s.body)-1]
	start, end := int(first.Pos().Offset()), int(last.End().Offset())
	indent, err := lineIndent(name, src, first, "the loop body on a line of its own")
	if err != nil {
		return nil, err
	}
	loopIndent, err := lineIndent(name, src, s.loop, "the loop on a line of its own")
	if err != nil {
		return nil, err
	}
	unit := "    "
	if len(indent) > len(loopIndent) && strings.HasPrefix(indent, loopIndent) {
		unit = indent[len(loopIndent):]
	}
	var text strings.Builder
	for i, l := range append(append([]string(nil), patchedComment...), patchedBody...) {
		if i > 0 {
			text.WriteString("\n" + indent)
		}
		depth := len(l) - len(strings.TrimLeft(l, "\t"))
		text.WriteString(strings.Repeat(unit, depth) + l[depth:])
	}
	out := make([]byte, 0, len(src)+text.Len())
	out = append(out, src[:start]...)
	out = append(out, text.String()...)
	out = append(out, src[end:]...)
	// What Patch writes, it must recognise as patched: that is what makes
	// it idempotent.
	if again, err := locate(name, out); err != nil || !again.patched {
		return nil, fmt.Errorf("%s: internal error: the patched script is not recognised as patched (%v)", name, err)
	}
	return out, nil
}

// IsPatched reports whether src's genericBuild has the hook points; it
// fails as Patch does on a script of another shape.
func IsPatched(name string, src []byte) (bool, error) {
	s, err := locate(name, src)
	if err != nil {
		return false, err
	}
	return s.patched, nil
}

// site is genericBuild's loop over the phases.
type site struct {
	loop    *syntax.Stmt
	body    []*syntax.Stmt
	patched bool
}

// locate finds the one loop `for curPhase in …` of the one top-level
// genericBuild and tells whether its body is stock or patched.
func locate(name string, src []byte) (*site, error) {
	f, err := syntax.NewParser(syntax.KeepComments(true), syntax.Variant(syntax.LangBash)).Parse(bytes.NewReader(src), name)
	if err != nil {
		return nil, err
	}
	shape := func(n syntax.Node, expected, found string) error {
		e := &ShapeError{Name: name, Expected: expected, Found: found}
		if n != nil {
			e.Line, e.Col = n.Pos().Line(), n.Pos().Col()
		}
		return e
	}
	var fn *syntax.FuncDecl
	for _, st := range f.Stmts {
		d, ok := st.Cmd.(*syntax.FuncDecl)
		if !ok || d.Name == nil || d.Name.Value != "genericBuild" {
			continue
		}
		if fn != nil {
			return nil, shape(st, "genericBuild defined once", "a second definition")
		}
		fn = d
	}
	if fn == nil {
		return nil, shape(nil, "a function genericBuild defined at the top level", "")
	}
	block, ok := fn.Body.Cmd.(*syntax.Block)
	if !ok {
		return nil, shape(fn.Body, "genericBuild's body in braces { … }", "another compound command")
	}
	s := &site{}
	for _, st := range block.Stmts {
		fc, ok := st.Cmd.(*syntax.ForClause)
		if !ok {
			continue
		}
		if it, ok := fc.Loop.(*syntax.WordIter); !ok || it.Name == nil || it.Name.Value != "curPhase" {
			continue
		}
		if s.loop != nil {
			return nil, shape(st, "one loop `for curPhase in ${phases[*]}` in genericBuild", "a second one")
		}
		s.loop, s.body = st, fc.Do
	}
	if s.loop == nil {
		return nil, shape(fn.Body, "a loop `for curPhase in ${phases[*]}; do …; done` in genericBuild's body", "")
	}
	switch got := printed(s.body); {
	case slices.Equal(got, printedText(stockBody)):
	case slices.Equal(got, printedText(patchedBody)):
		s.patched = true
	default:
		var at syntax.Node = s.loop
		if len(s.body) > 0 {
			at = s.body[0]
		}
		return nil, shape(at, "the loop body `runPhase \"$curPhase\"` (or this patch's hook points around it)",
			"`"+strings.Join(got, "; ")+"`")
	}
	return s, nil
}

// printed returns each statement as the printer writes it, without the
// comments above it: comments and layout do not change a statement's
// shape.
func printed(stmts []*syntax.Stmt) []string {
	p := syntax.NewPrinter()
	var texts []string
	for _, st := range stmts {
		c := *st
		c.Comments = nil
		var b bytes.Buffer
		if err := p.Print(&b, &c); err != nil {
			return nil
		}
		texts = append(texts, strings.TrimSpace(b.String()))
	}
	return texts
}

// printedText parses lines of shell and returns printed's form of them.
func printedText(lines []string) []string {
	f, err := syntax.NewParser(syntax.Variant(syntax.LangBash)).Parse(strings.NewReader(strings.Join(lines, "\n")), "")
	if err != nil {
		panic("setuppatch: the patch's own text does not parse: " + err.Error())
	}
	return printed(f.Stmts)
}

// lineIndent returns the blanks that precede n on its line; anything else
// there is a shape the patch does not know (what says what it needs).
func lineIndent(name string, src []byte, n syntax.Node, what string) (string, error) {
	off := int(n.Pos().Offset())
	ls := bytes.LastIndexByte(src[:off], '\n') + 1
	prefix := string(src[ls:off])
	if strings.Trim(prefix, " \t") != "" {
		return "", &ShapeError{Name: name, Line: n.Pos().Line(), Col: n.Pos().Col(), Expected: what,
			Found: fmt.Sprintf("%q before it", strings.TrimSpace(prefix))}
	}
	return prefix, nil
}
