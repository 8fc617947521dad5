package ninjalog

import (
	"bytes"
	"fmt"
)

// A port of ninja 1.11.1's lexer (src/lexer.in.cc).

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
