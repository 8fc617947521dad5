package ninjalog

import (
	"fmt"
	"strings"
)

// A port of ninja 1.11.1's variable scopes and evaluated strings
// (src/eval_env.cc), the edge environment with $in, $in_newline and $out
// (EdgeEnv in src/graph.cc), and CanonicalizePath and
// GetShellEscapedString (src/util.cc).

// evalPiece is a literal text or, when isVar, a variable reference.
type evalPiece struct {
	s     string
	isVar bool
}

// evalString is an unevaluated manifest string (ninja's EvalString).
type evalString []evalPiece

// env looks variables up while evaluating an evalString.
type env interface {
	lookup(name string) (string, error)
}

// maxEvalLen bounds the length of an evaluated string. Ninja has no such
// bound, but a manifest can double a variable's length on every line.
var maxEvalLen = 1 << 30

func (e evalString) evaluate(en env) (string, error) {
	var b strings.Builder
	for _, p := range e {
		v := p.s
		if p.isVar {
			var err error
			if v, err = en.lookup(p.s); err != nil {
				return "", err
			}
		}
		if b.Len()+len(v) > maxEvalLen {
			return "", fmt.Errorf("value longer than %d bytes", maxEvalLen)
		}
		b.WriteString(v)
	}
	return b.String(), nil
}

// scope is ninja's BindingEnv: variables and rules of a file scope (the
// top level, or a subninja), or the bindings of one edge.
type scope struct {
	parent *scope
	vars   map[string]string
	rules  map[string]*rule
}

func newScope(parent *scope) *scope {
	return &scope{parent: parent, vars: make(map[string]string), rules: make(map[string]*rule)}
}

func (s *scope) lookupVar(name string) string {
	for ; s != nil; s = s.parent {
		if v, ok := s.vars[name]; ok {
			return v
		}
	}
	return ""
}

func (s *scope) lookup(name string) (string, error) { return s.lookupVar(name), nil }

func (s *scope) lookupRule(name string) *rule {
	for ; s != nil; s = s.parent {
		if r, ok := s.rules[name]; ok {
			return r
		}
	}
	return nil
}

// rule is a ninja rule. Its bindings stay unevaluated until an edge
// evaluates them.
type rule struct {
	name     string
	bindings map[string]*evalString
	phony    bool
}

// reservedBindings are the variables a rule may set (Rule::IsReservedBinding).
var reservedBindings = map[string]bool{
	"command": true, "depfile": true, "dyndep": true, "description": true,
	"deps": true, "generator": true, "pool": true, "restat": true,
	"rspfile": true, "rspfile_content": true, "msvc_deps_prefix": true,
}

// edge is a build statement after path evaluation.
type edge struct {
	rule *rule
	// env is the edge's own scope when it has bindings, otherwise the
	// scope of the file that declares it (as in ninja).
	env          *scope
	outs         []string
	implicitOuts int
	ins          []string
	implicitIns  int
	orderOnly    int
}

// edgeEnv is ninja's EdgeEnv with shell escaping: it provides $in,
// $in_newline and $out and evaluates rule bindings for one edge.
type edgeEnv struct {
	e     *edge
	stack []string
}

func (ev *edgeEnv) lookup(name string) (string, error) {
	e := ev.e
	switch name {
	case "in", "in_newline":
		sep := " "
		if name == "in_newline" {
			sep = "\n"
		}
		return pathList(e.ins[:len(e.ins)-e.implicitIns-e.orderOnly], sep), nil
	case "out":
		return pathList(e.outs[:len(e.outs)-e.implicitOuts], " "), nil
	}
	for i, s := range ev.stack {
		if s == name {
			return "", fmt.Errorf("cycle in rule variables: %s -> %s",
				strings.Join(ev.stack[i:], " -> "), name)
		}
	}
	// BindingEnv::LookupWithFallback on the edge's scope: its own
	// variables, then the rule's binding, then the enclosing scopes.
	if v, ok := e.env.vars[name]; ok {
		return v, nil
	}
	if eval := e.rule.bindings[name]; eval != nil {
		ev.stack = append(ev.stack, name)
		v, err := eval.evaluate(ev)
		ev.stack = ev.stack[:len(ev.stack)-1]
		return v, err
	}
	return e.env.parent.lookupVar(name), nil
}

// binding evaluates variable name for e as Edge::GetBinding does.
func (e *edge) binding(name string) (string, error) {
	return (&edgeEnv{e: e}).lookup(name)
}

// command returns the edge's command as ninja -t compdb shows it
// (Edge::EvaluateCommand(false)) and the string ninja hashes into the
// build log (Edge::EvaluateCommand(true)).
func (e *edge) command() (plain, logged string, err error) {
	plain, err = e.binding("command")
	if err != nil {
		return "", "", err
	}
	rsp, err := e.binding("rspfile_content")
	if err != nil {
		return "", "", err
	}
	if rsp == "" {
		return plain, plain, nil
	}
	return plain, plain + ";rspfile=" + rsp, nil
}

func pathList(paths []string, sep string) string {
	var b strings.Builder
	for _, p := range paths {
		if b.Len() > 0 {
			b.WriteString(sep)
		}
		b.WriteString(shellEscape(p))
	}
	return b.String()
}

// shellEscape is ninja's GetShellEscapedString.
func shellEscape(s string) string {
	safe := true
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' ||
			c == '_' || c == '+' || c == '-' || c == '.' || c == '/') {
			safe = false
			break
		}
	}
	if safe {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// canonicalizePath is ninja's CanonicalizePath on POSIX: it drops "."
// components and repeated slashes and folds "dir/.." pairs, keeping
// leading ".." components and a leading slash.
func canonicalizePath(path string) string {
	if path == "" {
		return path
	}
	// A copy with a NUL terminator, which the algorithm copies like a
	// separator, and slack for the reads past it.
	buf := make([]byte, len(path)+4)
	copy(buf, path)
	end := len(path)
	src, dst := 0, 0
	var components []int
	if buf[src] == '/' {
		src++
		dst++
	}
	for src < end {
		if buf[src] == '.' {
			if src+1 == end || buf[src+1] == '/' {
				src += 2 // "." component
				continue
			}
			if buf[src+1] == '.' && (src+2 == end || buf[src+2] == '/') {
				if n := len(components); n > 0 {
					dst = components[n-1]
					components = components[:n-1]
					src += 3
				} else {
					buf[dst], buf[dst+1], buf[dst+2] = buf[src], buf[src+1], buf[src+2]
					dst += 3
					src += 3
				}
				continue
			}
		}
		if buf[src] == '/' {
			src++
			continue
		}
		components = append(components, dst)
		for src != end && buf[src] != '/' {
			buf[dst] = buf[src]
			dst++
			src++
		}
		buf[dst] = buf[src] // the '/' or the terminating NUL
		dst++
		src++
	}
	if dst == 0 {
		return "."
	}
	return string(buf[:dst-1])
}
