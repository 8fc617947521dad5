package derivation

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
)

// SyntaxError is a .drv file that is not a derivation in ATerm form.
type SyntaxError struct {
	File   string // the file's name, as given to Parse
	Offset int    // the byte offset of the problem, from 0
	Line   int    // its line, from 1
	Col    int    // its column in bytes, from 1
	Msg    string // what is wrong, e.g. `expected '(' or ']', found 'x'`
}

// Error prints the error as file:line:col: message.
func (e *SyntaxError) Error() string {
	return fmt.Sprintf("%s:%d:%d: %s", e.File, e.Line, e.Col, e.Msg)
}

// IsSyntaxError reports whether err is or wraps a *SyntaxError: the file
// was read but is not a derivation.
func IsSyntaxError(err error) bool {
	var s *SyntaxError
	return errors.As(err, &s)
}

// Parse parses data, the content of the .drv file name (used in errors).
func Parse(name string, data []byte) (*Derivation, error) {
	p := &parser{name: name, data: data}
	d, err := p.derivation()
	if err != nil {
		return nil, err
	}
	return d, nil
}

type parser struct {
	name string
	data []byte
	pos  int
}

// errorf returns a *SyntaxError at the parser's position.
func (p *parser) errorf(format string, args ...any) error {
	line := 1 + bytes.Count(p.data[:p.pos], []byte{'\n'})
	col := p.pos + 1
	if i := bytes.LastIndexByte(p.data[:p.pos], '\n'); i >= 0 {
		col = p.pos - i
	}
	return &SyntaxError{File: p.name, Offset: p.pos, Line: line, Col: col, Msg: fmt.Sprintf(format, args...)}
}

// found describes the byte at the parser's position for an error.
func (p *parser) found() string {
	if p.pos >= len(p.data) {
		return "end of file"
	}
	return fmt.Sprintf("%q", p.data[p.pos])
}

func (p *parser) expect(c byte) error {
	if p.pos < len(p.data) && p.data[p.pos] == c {
		p.pos++
		return nil
	}
	return p.errorf("expected %q, found %s", c, p.found())
}

func (p *parser) derivation() (*Derivation, error) {
	switch {
	case bytes.HasPrefix(p.data, []byte("DrvWithVersion(")):
		return nil, p.errorf("DrvWithVersion: a derivation of Nix's experimental dynamic-derivations feature, which this reader does not support")
	case !bytes.HasPrefix(p.data, []byte("Derive(")):
		return nil, p.errorf("not a derivation: expected \"Derive(\"")
	}
	p.pos = len("Derive(")
	d := &Derivation{}
	err := p.list(func() error {
		var o Output
		err := p.tuple(&o.Name, &o.Path, &o.HashAlgo, &o.Hash)
		d.Outputs = append(d.Outputs, o)
		return err
	})
	if err == nil {
		err = p.sep(func() error {
			return p.list(func() error {
				in, err := p.inputDrv()
				d.InputDrvs = append(d.InputDrvs, in)
				return err
			})
		})
	}
	if err == nil {
		err = p.sep(func() error { return p.strings(&d.InputSrcs) })
	}
	if err == nil {
		err = p.sep(func() error { return p.str(&d.System) })
	}
	if err == nil {
		err = p.sep(func() error { return p.str(&d.Builder) })
	}
	if err == nil {
		err = p.sep(func() error { return p.strings(&d.Args) })
	}
	if err == nil {
		err = p.sep(func() error {
			return p.list(func() error {
				var e EnvVar
				err := p.tuple(&e.Name, &e.Value)
				d.Env = append(d.Env, e)
				return err
			})
		})
	}
	if err == nil {
		err = p.expect(')')
	}
	// Nix writes no newline at the end; a file saved by an editor has one.
	for err == nil && p.pos < len(p.data) && bytes.IndexByte([]byte(" \t\r\n"), p.data[p.pos]) >= 0 {
		p.pos++
	}
	if err == nil && p.pos < len(p.data) {
		err = p.errorf("unexpected %s after the derivation", p.found())
	}
	if err != nil {
		return nil, err
	}
	return d, nil
}

// sep reads a comma, then f.
func (p *parser) sep(f func() error) error {
	if err := p.expect(','); err != nil {
		return err
	}
	return f()
}

// list reads [item,item,…], calling item for each.
func (p *parser) list(item func() error) error {
	if err := p.expect('['); err != nil {
		return err
	}
	if p.pos < len(p.data) && p.data[p.pos] == ']' {
		p.pos++
		return nil
	}
	for {
		if err := item(); err != nil {
			return err
		}
		if p.pos < len(p.data) && p.data[p.pos] == ']' {
			p.pos++
			return nil
		}
		if p.pos >= len(p.data) || p.data[p.pos] != ',' {
			return p.errorf("expected ',' or ']', found %s", p.found())
		}
		p.pos++
	}
}

// tuple reads ("a","b",…) into fields.
func (p *parser) tuple(fields ...*string) error {
	if err := p.expect('('); err != nil {
		return err
	}
	for i, f := range fields {
		if i > 0 {
			if err := p.expect(','); err != nil {
				return err
			}
		}
		if err := p.str(f); err != nil {
			return err
		}
	}
	return p.expect(')')
}

func (p *parser) inputDrv() (InputDrv, error) {
	var in InputDrv
	if err := p.expect('('); err != nil {
		return in, err
	}
	if err := p.str(&in.Path); err != nil {
		return in, err
	}
	if err := p.expect(','); err != nil {
		return in, err
	}
	if p.pos < len(p.data) && p.data[p.pos] == '(' {
		return in, p.errorf("input derivation with nested outputs (Nix's experimental dynamic derivations), which this reader does not support")
	}
	if err := p.strings(&in.Outputs); err != nil {
		return in, err
	}
	return in, p.expect(')')
}

// strings reads ["a","b",…].
func (p *parser) strings(out *[]string) error {
	return p.list(func() error {
		var s string
		err := p.str(&s)
		*out = append(*out, s)
		return err
	})
}

// str reads a quoted string, undoing the escapes as Nix's parseString
// does: \n, \r and \t are control characters, a backslash before any
// other byte stands for that byte.
func (p *parser) str(out *string) error {
	if err := p.expect('"'); err != nil {
		return err
	}
	start := p.pos
	end := bytes.IndexByte(p.data[start:], '"')
	// The common case: no escapes before the closing quote.
	if end >= 0 && bytes.IndexByte(p.data[start:start+end], '\\') < 0 {
		*out = string(p.data[start : start+end])
		p.pos = start + end + 1
		return nil
	}
	var b strings.Builder
	for p.pos < len(p.data) {
		c := p.data[p.pos]
		switch c {
		case '"':
			p.pos++
			*out = b.String()
			return nil
		case '\\':
			p.pos++
			if p.pos >= len(p.data) {
				break
			}
			switch e := p.data[p.pos]; e {
			case 'n':
				b.WriteByte('\n')
			case 'r':
				b.WriteByte('\r')
			case 't':
				b.WriteByte('\t')
			default:
				b.WriteByte(e)
			}
		default:
			b.WriteByte(c)
		}
		p.pos++
	}
	p.pos = start - 1
	return p.errorf("string not closed")
}
