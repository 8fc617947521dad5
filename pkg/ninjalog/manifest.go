package ninjalog

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// This file is a port of the parts of ninja 1.11.1 that turn a manifest
// into evaluated edges: the lexer (src/lexer.in.cc), the manifest parser
// (src/manifest_parser.cc), variable scopes (src/eval_env.cc), the edge
// environment with $in, $in_newline and $out (EdgeEnv in src/graph.cc),
// CanonicalizePath and GetShellEscapedString (src/util.cc). It only
// evaluates what the build log hash depends on; pools, defaults, dyndep
// and validations are parsed and otherwise ignored.

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

// manifest is a loaded build.ninja with everything it includes.
type manifest struct {
	// readFile reads a manifest file named as in the manifest; it is
	// os.ReadFile relative to the build directory except in tests.
	readFile func(name string) ([]byte, error)
	root     *scope
	edges    []*edge
	outputs  map[string]*edge
}

// loadManifest parses dir/build.ninja; include and subninja paths are
// relative to dir, as for ninja -C dir.
func loadManifest(dir, name string) (*manifest, error) {
	return parseManifest(name, func(name string) ([]byte, error) {
		if !filepath.IsAbs(name) {
			name = filepath.Join(dir, name)
		}
		return os.ReadFile(name)
	})
}

// parseManifest parses the manifest file name, reading it and the files
// it includes with readFile.
func parseManifest(name string, readFile func(string) ([]byte, error)) (*manifest, error) {
	m := &manifest{readFile: readFile, root: newScope(nil), outputs: make(map[string]*edge)}
	m.root.rules["phony"] = &rule{name: "phony", phony: true}
	if err := m.load(name, m.root, nil, 0); err != nil {
		return nil, err
	}
	return m, nil
}

// maxIncludeDepth bounds include and subninja nesting, which ninja does
// not (a file including itself overflows its stack).
const maxIncludeDepth = 100

func (m *manifest) load(name string, sc *scope, from *lexer, depth int) error {
	if depth > maxIncludeDepth {
		return from.errorf("include/subninja nested more than %d deep", maxIncludeDepth)
	}
	data, err := m.readFile(name)
	if err != nil {
		err = fmt.Errorf("loading '%s': %w", name, err)
		if from != nil {
			return from.errorf("%v", err)
		}
		return err
	}
	p := &parser{m: m, sc: sc, lx: newLexer(name, data), depth: depth}
	return p.parse()
}

// Lexer tokens.
type token int

const (
	tError token = iota
	tBuild
	tColon
	tDefault
	tEquals
	tIdent
	tInclude
	tIndent
	tNewline
	tPipe
	tPipe2
	tPipeAt
	tPool
	tRule
	tSubninja
	tEOF
)

var tokenNames = map[token]string{
	tError: "lexing error", tBuild: "'build'", tColon: "':'", tDefault: "'default'",
	tEquals: "'='", tIdent: "identifier", tInclude: "'include'", tIndent: "indent",
	tNewline: "newline", tPipe: "'|'", tPipe2: "'||'", tPipeAt: "'|@'", tPool: "'pool'",
	tRule: "'rule'", tSubninja: "'subninja'", tEOF: "eof",
}

var keywords = map[string]token{
	"build": tBuild, "pool": tPool, "rule": tRule, "default": tDefault,
	"include": tInclude, "subninja": tSubninja,
}

// lexer is ninja's Lexer. in ends with a NUL byte, which (as in ninja)
// ends the input wherever it appears.
type lexer struct {
	name      string
	in        []byte
	ofs       int
	lastToken int
}

func newLexer(name string, data []byte) *lexer {
	in := make([]byte, len(data)+1)
	copy(in, data)
	return &lexer{name: name, in: in}
}

func (lx *lexer) errorf(format string, args ...any) error {
	line := 1 + bytes.Count(lx.in[:lx.lastToken], []byte{'\n'})
	return fmt.Errorf("%s:%d: %s", lx.name, line, fmt.Sprintf(format, args...))
}

func isVarChar(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
		c == '_' || c == '-' || c == '.'
}

func isSimpleVarChar(c byte) bool { return c != '.' && isVarChar(c) }

func (lx *lexer) readToken() token {
	in := lx.in
	p := lx.ofs
	var start int
	var tok token
	for {
		start = p
		sp := p
		for in[sp] == ' ' {
			sp++
		}
		if in[sp] == '#' {
			q := sp
			for in[q] != 0 && in[q] != '\n' {
				q++
			}
			if in[q] == '\n' {
				p = q + 1
				continue // comment line
			}
		}
		if in[sp] == '\r' && in[sp+1] == '\n' {
			tok, p = tNewline, sp+2
			break
		}
		if in[sp] == '\n' {
			tok, p = tNewline, sp+1
			break
		}
		if sp > p {
			tok, p = tIndent, sp
			break
		}
		c := in[p]
		switch {
		case isVarChar(c):
			q := p
			for isVarChar(in[q]) {
				q++
			}
			tok = tIdent
			if kw, ok := keywords[string(in[p:q])]; ok {
				tok = kw
			}
			p = q
		case c == '=':
			tok, p = tEquals, p+1
		case c == ':':
			tok, p = tColon, p+1
		case c == '|' && in[p+1] == '@':
			tok, p = tPipeAt, p+2
		case c == '|' && in[p+1] == '|':
			tok, p = tPipe2, p+2
		case c == '|':
			tok, p = tPipe, p+1
		case c == 0:
			tok = tEOF
		default:
			tok, p = tError, p+1
		}
		break
	}
	lx.lastToken = start
	lx.ofs = p
	if tok != tNewline && tok != tEOF {
		lx.eatWhitespace()
	}
	return tok
}

func (lx *lexer) peekToken(t token) bool {
	if lx.readToken() == t {
		return true
	}
	lx.ofs = lx.lastToken // UnreadToken
	return false
}

func (lx *lexer) eatWhitespace() {
	in := lx.in
	for {
		switch {
		case in[lx.ofs] == ' ':
			lx.ofs++
		case in[lx.ofs] == '$' && in[lx.ofs+1] == '\n':
			lx.ofs += 2
		case in[lx.ofs] == '$' && in[lx.ofs+1] == '\r' && in[lx.ofs+2] == '\n':
			lx.ofs += 3
		default:
			return
		}
	}
}

func (lx *lexer) readIdent() (string, bool) {
	p := lx.ofs
	for isVarChar(lx.in[p]) {
		p++
	}
	lx.lastToken = lx.ofs
	if p == lx.ofs {
		return "", false
	}
	id := string(lx.in[lx.ofs:p])
	lx.ofs = p
	lx.eatWhitespace()
	return id, true
}

func (lx *lexer) describeLastError() string {
	if lx.in[lx.lastToken] == '\t' {
		return "tabs are not allowed, use spaces"
	}
	return "lexing error"
}

// readEvalString is Lexer::ReadEvalString: a path (ending before a space,
// ':', '|' or newline) when path is set, else a variable value (ending
// at, and consuming, the newline).
func (lx *lexer) readEvalString(path bool) (evalString, error) {
	in := lx.in
	p := lx.ofs
	var e evalString
	var text []byte // literal text not yet added to e
	addVar := func(name string) {
		if len(text) > 0 {
			e = append(e, evalPiece{s: string(text)})
			text = text[:0]
		}
		e = append(e, evalPiece{s: name, isVar: true})
	}
	// plain reports whether c is literal text. A path also ends at a
	// space, ':' or '|'.
	plain := func(c byte) bool {
		switch c {
		case '$', '\r', '\n', 0:
			return false
		case ' ', ':', '|':
			return !path
		}
		return true
	}
	for {
		start := p
		c := in[p]
		if plain(c) {
			for plain(in[p]) {
				p++
			}
			text = append(text, in[start:p]...)
			continue
		}
		if c == '\r' && in[p+1] == '\n' {
			if !path {
				p += 2
			}
			break
		}
		if c == ' ' || c == ':' || c == '|' { // the end of a path
			break
		}
		if c == '\n' {
			if !path {
				p++
			}
			break
		}
		if c == '$' {
			d := in[p+1]
			switch {
			case d == '$' || d == ' ' || d == ':':
				text = append(text, d)
				p += 2
				continue
			case d == '\n' || d == '\r' && in[p+2] == '\n':
				p += 2
				if d == '\r' {
					p++
				}
				for in[p] == ' ' {
					p++
				}
				continue
			case d == '{':
				q := p + 2
				for isVarChar(in[q]) {
					q++
				}
				if q > p+2 && in[q] == '}' {
					addVar(string(in[p+2 : q]))
					p = q + 1
					continue
				}
			case isSimpleVarChar(d):
				q := p + 1
				for isSimpleVarChar(in[q]) {
					q++
				}
				addVar(string(in[p+1 : q]))
				p = q
				continue
			}
			lx.lastToken = start
			return nil, lx.errorf("bad $-escape (literal $ must be written as $$)")
		}
		lx.lastToken = start
		if c == 0 {
			return nil, lx.errorf("unexpected EOF")
		}
		return nil, lx.errorf("%s", lx.describeLastError())
	}
	if len(text) > 0 {
		e = append(e, evalPiece{s: string(text)})
	}
	lx.ofs = p
	if path {
		lx.eatWhitespace()
	}
	return e, nil
}

// parser is ninja's ManifestParser for one file.
type parser struct {
	m     *manifest
	sc    *scope
	lx    *lexer
	depth int
}

func (p *parser) expect(t token) error {
	if got := p.lx.readToken(); got != t {
		return p.lx.errorf("expected %s, got %s", tokenNames[t], tokenNames[got])
	}
	return nil
}

func (p *parser) parse() error {
	for {
		switch t := p.lx.readToken(); t {
		case tPool:
			if err := p.parsePool(); err != nil {
				return err
			}
		case tBuild:
			if err := p.parseEdge(); err != nil {
				return err
			}
		case tRule:
			if err := p.parseRule(); err != nil {
				return err
			}
		case tDefault:
			if err := p.parseDefault(); err != nil {
				return err
			}
		case tIdent:
			p.lx.ofs = p.lx.lastToken // UnreadToken
			name, val, err := p.parseLet()
			if err != nil {
				return err
			}
			v, err := val.evaluate(p.sc)
			if err != nil {
				return p.lx.errorf("%v", err)
			}
			p.sc.vars[name] = v
		case tInclude, tSubninja:
			if err := p.parseInclude(t == tSubninja); err != nil {
				return err
			}
		case tNewline:
		case tEOF:
			return nil
		case tError:
			return p.lx.errorf("%s", p.lx.describeLastError())
		default:
			return p.lx.errorf("unexpected %s", tokenNames[t])
		}
	}
}

func (p *parser) parseLet() (string, evalString, error) {
	name, ok := p.lx.readIdent()
	if !ok {
		return "", nil, p.lx.errorf("expected variable name")
	}
	if err := p.expect(tEquals); err != nil {
		return "", nil, err
	}
	val, err := p.lx.readEvalString(false)
	return name, val, err
}

func (p *parser) parsePool() error {
	if _, ok := p.lx.readIdent(); !ok {
		return p.lx.errorf("expected pool name")
	}
	if err := p.expect(tNewline); err != nil {
		return err
	}
	for p.lx.peekToken(tIndent) {
		key, _, err := p.parseLet()
		if err != nil {
			return err
		}
		if key != "depth" {
			return p.lx.errorf("unexpected variable '%s'", key)
		}
	}
	return nil
}

func (p *parser) parseRule() error {
	name, ok := p.lx.readIdent()
	if !ok {
		return p.lx.errorf("expected rule name")
	}
	if err := p.expect(tNewline); err != nil {
		return err
	}
	if _, dup := p.sc.rules[name]; dup {
		return p.lx.errorf("duplicate rule '%s'", name)
	}
	r := &rule{name: name, bindings: make(map[string]*evalString)}
	for p.lx.peekToken(tIndent) {
		key, val, err := p.parseLet()
		if err != nil {
			return err
		}
		if !reservedBindings[key] {
			return p.lx.errorf("unexpected variable '%s'", key)
		}
		r.bindings[key] = &val
	}
	// Ninja checks these three with std::map::operator[], which leaves
	// an empty binding behind when there was none. An empty rule binding
	// still stops the lookup from reaching enclosing scopes (see
	// edgeEnv.lookup), so do the same.
	for _, k := range []string{"rspfile", "rspfile_content", "command"} {
		if r.bindings[k] == nil {
			r.bindings[k] = &evalString{}
		}
	}
	if (len(*r.bindings["rspfile"]) == 0) != (len(*r.bindings["rspfile_content"]) == 0) {
		return p.lx.errorf("rspfile and rspfile_content need to be both specified")
	}
	if len(*r.bindings["command"]) == 0 {
		return p.lx.errorf("expected 'command =' line")
	}
	p.sc.rules[name] = r
	return nil
}

func (p *parser) parseDefault() error {
	e, err := p.lx.readEvalString(true)
	if err != nil {
		return err
	}
	if len(e) == 0 {
		return p.lx.errorf("expected target name")
	}
	for len(e) > 0 {
		if e, err = p.lx.readEvalString(true); err != nil {
			return err
		}
	}
	return p.expect(tNewline)
}

// readPaths reads paths until an empty one.
func (p *parser) readPaths() ([]evalString, error) {
	var ps []evalString
	for {
		e, err := p.lx.readEvalString(true)
		if err != nil {
			return nil, err
		}
		if len(e) == 0 {
			return ps, nil
		}
		ps = append(ps, e)
	}
}

func (p *parser) parseEdge() error {
	outs, err := p.readPaths()
	if err != nil {
		return err
	}
	implicitOuts := 0
	if p.lx.peekToken(tPipe) {
		imp, err := p.readPaths()
		if err != nil {
			return err
		}
		outs = append(outs, imp...)
		implicitOuts = len(imp)
	}
	if len(outs) == 0 {
		return p.lx.errorf("expected path")
	}
	if err := p.expect(tColon); err != nil {
		return err
	}
	ruleName, ok := p.lx.readIdent()
	if !ok {
		return p.lx.errorf("expected build command name")
	}
	r := p.sc.lookupRule(ruleName)
	if r == nil {
		return p.lx.errorf("unknown build rule '%s'", ruleName)
	}
	ins, err := p.readPaths()
	if err != nil {
		return err
	}
	implicit, orderOnly := 0, 0
	if p.lx.peekToken(tPipe) {
		imp, err := p.readPaths()
		if err != nil {
			return err
		}
		ins = append(ins, imp...)
		implicit = len(imp)
	}
	if p.lx.peekToken(tPipe2) {
		oo, err := p.readPaths()
		if err != nil {
			return err
		}
		ins = append(ins, oo...)
		orderOnly = len(oo)
	}
	if p.lx.peekToken(tPipeAt) {
		if _, err := p.readPaths(); err != nil { // validations
			return err
		}
	}
	if err := p.expect(tNewline); err != nil {
		return err
	}

	ed := &edge{rule: r, env: p.sc}
	if p.lx.peekToken(tIndent) {
		ed.env = newScope(p.sc)
		for {
			key, val, err := p.parseLet()
			if err != nil {
				return err
			}
			v, err := val.evaluate(p.sc) // in the enclosing scope, as ninja does
			if err != nil {
				return p.lx.errorf("%v", err)
			}
			ed.env.vars[key] = v
			if !p.lx.peekToken(tIndent) {
				break
			}
		}
	}

	for _, o := range outs {
		path, err := o.evaluate(ed.env)
		if err != nil {
			return p.lx.errorf("%v", err)
		}
		if path == "" {
			return p.lx.errorf("empty path")
		}
		path = canonicalizePath(path)
		// As ninja's default -w dupbuild=err (the only behaviour since
		// ninja 1.12).
		if _, dup := p.m.outputs[path]; dup {
			return p.lx.errorf("multiple rules generate %s", path)
		}
		ed.outs = append(ed.outs, path)
		p.m.outputs[path] = ed
	}
	ed.implicitOuts = implicitOuts
	for _, in := range ins {
		path, err := in.evaluate(ed.env)
		if err != nil {
			return p.lx.errorf("%v", err)
		}
		if path == "" {
			return p.lx.errorf("empty path")
		}
		ed.ins = append(ed.ins, canonicalizePath(path))
	}
	ed.implicitIns, ed.orderOnly = implicit, orderOnly
	if r.phony && len(ed.outs) == 1 && ed.implicitOuts == 0 && ed.implicitIns == 0 {
		// Ninja's default -w phonycycle=warn drops a phony edge's
		// references to its own output, which old CMake versions wrote.
		ins := ed.ins[:0]
		for i, in := range ed.ins {
			switch {
			case in != ed.outs[0]:
				ins = append(ins, in)
			case i >= len(ed.ins)-ed.orderOnly:
				ed.orderOnly--
			}
		}
		ed.ins = ins
	}
	p.m.edges = append(p.m.edges, ed)
	return nil
}

func (p *parser) parseInclude(subninja bool) error {
	e, err := p.lx.readEvalString(true)
	if err != nil {
		return err
	}
	path, err := e.evaluate(p.sc)
	if err != nil {
		return p.lx.errorf("%v", err)
	}
	sc := p.sc
	if subninja {
		sc = newScope(p.sc)
	}
	if err := p.m.load(path, sc, p.lx, p.depth+1); err != nil {
		return err
	}
	return p.expect(tNewline)
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
