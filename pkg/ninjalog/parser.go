package ninjalog

// A port of ninja 1.11.1's manifest parser (src/manifest_parser.cc).

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
