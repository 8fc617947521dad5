package shellstate

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"mvdan.cc/sh/v3/expand"
	"mvdan.cc/sh/v3/syntax"
)

// Kind is the kind of value a variable holds.
type Kind int

const (
	// Scalar is a plain string variable.
	Scalar Kind = iota
	// Indexed is an indexed array (declare -a).
	Indexed
	// Associative is an associative array (declare -A).
	Associative
)

// String returns the kind's name as in this package ("Scalar",
// "Indexed", "Associative"), or "Kind(N)" for another value.
func (k Kind) String() string {
	switch k {
	case Scalar:
		return "Scalar"
	case Indexed:
		return "Indexed"
	case Associative:
		return "Associative"
	}
	return "Kind(" + strconv.Itoa(int(k)) + ")"
}

// Var is one variable as `declare -p` prints it.
type Var struct {
	Name string
	// Flags are declare's attribute letters without the dash, e.g. "x" for
	// exported, "ax" for an exported indexed array; "" for `declare --`.
	Flags string
	Kind  Kind
	// Set is false for a variable that is declared but has no value.
	Set bool
	// Value holds a scalar's value.
	Value string
	// Elems holds an array's elements in the order bash printed them; for
	// indexed arrays Key is the decimal index.
	Elems []Elem
	// Pending marks an associative array whose elements could not be read
	// from `declare -p` output and must come from the quoted dump.
	Pending bool
}

// Elem is one element of an array.
type Elem struct {
	Key, Value string
}

// Equal reports whether v and o have the same flags, kind and value.
func (v *Var) Equal(o *Var) bool {
	if v == nil || o == nil {
		return v == o
	}
	if v.Flags != o.Flags || v.Kind != o.Kind || v.Set != o.Set || v.Value != o.Value || len(v.Elems) != len(o.Elems) {
		return false
	}
	for i := range v.Elems {
		if v.Elems[i] != o.Elems[i] {
			return false
		}
	}
	return true
}

// State is a bash state: variables, functions, options and directory.
type State struct {
	Vars map[string]*Var
	// Funcs maps function names to their definitions as `declare -f`
	// prints them.
	Funcs map[string]string
	// Options maps an option to the command that sets it as it was, e.g.
	// "shopt nullglob" → "shopt -s nullglob", "set errexit" → "set -o errexit",
	// "umask" → "umask 0022".
	Options map[string]string
	// Dir is the working directory.
	Dir string
}

// The files a state directory holds; hooks/vanilla-hook.sh writes them.
const (
	VarsFile    = "vars.sh"  // declare -p
	AssocFile   = "assoc.sh" // associative arrays, as vanillaAssoc lines
	FuncsFile   = "funcs.sh" // declare -f
	OptionsFile = "opts.sh"  // shopt -p; set +o; umask -p
	DirFile     = "cwd"      // pwd
)

// Read reads a state directory written by the setup hook.
func Read(dir string) (*State, error) {
	read := func(name string) ([]byte, error) {
		data, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			return nil, fmt.Errorf("read shell state: %w", err)
		}
		return data, nil
	}
	s := &State{}
	data, err := read(VarsFile)
	if err != nil {
		return nil, err
	}
	if s.Vars, err = ParseVars(data, filepath.Join(dir, VarsFile)); err != nil {
		return nil, err
	}
	if data, err = read(AssocFile); err != nil {
		return nil, err
	}
	if err := addAssoc(s.Vars, data, filepath.Join(dir, AssocFile)); err != nil {
		return nil, err
	}
	if data, err = read(FuncsFile); err != nil {
		return nil, err
	}
	if s.Funcs, err = ParseFuncs(data, filepath.Join(dir, FuncsFile)); err != nil {
		return nil, err
	}
	if data, err = read(OptionsFile); err != nil {
		return nil, err
	}
	if s.Options, err = ParseOptions(data, filepath.Join(dir, OptionsFile)); err != nil {
		return nil, err
	}
	if data, err = read(DirFile); err != nil {
		return nil, err
	}
	s.Dir = strings.TrimSuffix(string(data), "\n")
	return s, nil
}

func parse(data []byte, name string) (*syntax.File, error) {
	f, err := syntax.NewParser(syntax.Variant(syntax.LangBash)).Parse(bytes.NewReader(data), name)
	if err != nil {
		return nil, fmt.Errorf("parse shell state: %w", err)
	}
	return f, nil
}

// ParseVars parses the output of `declare -p`; name is used in errors.
//
// Bash prints one declaration a line (values with newlines in $'…'
// quotes), and prints associative array keys such as `%` bare, which a
// shell parser reads as arithmetic and rejects. Such an array comes back
// declared but with Pending set: its elements are read from the hook's
// separate dump of associative arrays (see Read).
func ParseVars(data []byte, name string) (map[string]*Var, error) {
	vars := map[string]*Var{}
	for i, line := range bytes.Split(data, []byte("\n")) {
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		where := fmt.Sprintf("%s:%d", name, i+1)
		v, err := parseLine(line, where)
		if err != nil {
			head, _, found := bytes.Cut(line, []byte("="))
			h, herr := parseLine(head, where)
			if !found || herr != nil || h.Kind != Associative {
				return nil, err
			}
			h.Set, h.Pending = true, true
			v = h
		}
		vars[v.Name] = v
	}
	return vars, nil
}

// ParseAssoc parses the hook's dump of associative arrays: one
// `vanillaAssoc FLAGS NAME KEY VALUE…` command a line, keys and values
// quoted as bash's ${v@Q} quotes them, where FLAGS are declare's
// attribute letters (with the A). It returns the arrays by name, their
// elements in the order of the dump (an array dumped twice keeps the
// last line); name is used in errors. A line that is not such
// a command, or a word that is not a literal, is an error: the dump is
// data, never run.
func ParseAssoc(data []byte, name string) (map[string]*Var, error) {
	f, err := parse(data, name)
	if err != nil {
		return nil, err
	}
	arrays := map[string]*Var{}
	for _, stmt := range f.Stmts {
		call, ok := stmt.Cmd.(*syntax.CallExpr)
		if !ok || len(call.Args) < 3 || len(call.Args)%2 == 0 {
			return nil, fmt.Errorf("%s: %s: not a vanillaAssoc line", name, stmt.Pos())
		}
		words := make([]string, len(call.Args))
		for i, a := range call.Args {
			if words[i], err = literal(a); err != nil {
				return nil, fmt.Errorf("%s: %w", name, err)
			}
		}
		if words[0] != "vanillaAssoc" {
			return nil, fmt.Errorf("%s: %s: not a vanillaAssoc line", name, stmt.Pos())
		}
		v := &Var{Name: words[2], Flags: words[1], Kind: Associative, Set: true}
		for i := 3; i < len(words); i += 2 {
			v.Elems = append(v.Elems, Elem{Key: words[i], Value: words[i+1]})
		}
		arrays[v.Name] = v
	}
	return arrays, nil
}

// addAssoc reads the hook's dump of associative arrays (see ParseAssoc)
// into vars, completing the arrays ParseVars left pending.
func addAssoc(vars map[string]*Var, data []byte, name string) error {
	arrays, err := ParseAssoc(data, name)
	if err != nil {
		return err
	}
	for n, v := range arrays {
		vars[n] = v
	}
	for n, v := range vars {
		if v.Pending {
			return fmt.Errorf("%s: associative array %s is missing", name, n)
		}
	}
	return nil
}

func parseLine(line []byte, name string) (*Var, error) {
	f, err := parse(line, name)
	if err != nil {
		return nil, err
	}
	if len(f.Stmts) != 1 {
		return nil, fmt.Errorf("%s: not one declare command", name)
	}
	decl, ok := f.Stmts[0].Cmd.(*syntax.DeclClause)
	if !ok || decl.Variant.Value != "declare" {
		return nil, fmt.Errorf("%s: not a declare command", name)
	}
	v, err := parseDecl(decl)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return v, nil
}

func parseDecl(decl *syntax.DeclClause) (*Var, error) {
	v := &Var{}
	for _, a := range decl.Args {
		if a.Naked && a.Name == nil {
			flag, err := literal(a.Value)
			if err != nil {
				return nil, err
			}
			if !strings.HasPrefix(flag, "-") {
				return nil, fmt.Errorf("unexpected argument %q", flag)
			}
			v.Flags += strings.TrimLeft(flag, "-")
			continue
		}
		if v.Name != "" {
			return nil, fmt.Errorf("more than one variable in one declare")
		}
		if a.Name == nil {
			return nil, fmt.Errorf("declare without a name")
		}
		v.Name = a.Name.Value
		switch {
		case strings.ContainsRune(v.Flags, 'A'):
			v.Kind = Associative
		case strings.ContainsRune(v.Flags, 'a'):
			v.Kind = Indexed
		}
		if a.Naked {
			continue
		}
		v.Set = true
		if a.Array != nil {
			for _, e := range a.Array.Elems {
				key, err := arrayKey(e.Index)
				if err != nil {
					return nil, err
				}
				val, err := literal(e.Value)
				if err != nil {
					return nil, err
				}
				v.Elems = append(v.Elems, Elem{Key: key, Value: val})
			}
			continue
		}
		val, err := literal(a.Value)
		if err != nil {
			return nil, err
		}
		v.Value = val
	}
	if v.Name == "" {
		return nil, fmt.Errorf("declare without a name")
	}
	return v, nil
}

func arrayKey(index syntax.ArithmExpr) (string, error) {
	w, ok := index.(*syntax.Word)
	if !ok {
		return "", fmt.Errorf("array index is not a word")
	}
	return literal(w)
}

// literal decodes a word without expansions: quotes and escapes only, as
// bash's quote removal does (expand.Literal would keep the backslash of an
// unquoted \', which `${x@Q}` output has).
func literal(w *syntax.Word) (string, error) {
	if w == nil {
		return "", nil
	}
	fields, err := expand.Fields(nil, w)
	if err != nil {
		return "", fmt.Errorf("decode %s: %w", w.Pos(), err)
	}
	if len(fields) != 1 {
		return "", fmt.Errorf("decode %s: not a single word", w.Pos())
	}
	return fields[0], nil
}

// ParseFuncs parses the output of `declare -f`; name is used in errors.
func ParseFuncs(data []byte, name string) (map[string]string, error) {
	f, err := parse(data, name)
	if err != nil {
		return nil, err
	}
	funcs := map[string]string{}
	for _, stmt := range f.Stmts {
		if fname, export, ok := funcFlags(stmt); ok {
			// `declare -fx f` after f's definition: `export -f f` in a
			// phase, for the bash processes it starts (xargs, parallel).
			// -r (readonly -f) is dropped, as for variables, and -t
			// (declare -ft, for DEBUG traps) too.
			if def, defined := funcs[fname]; defined && export {
				funcs[fname] = def + "\ndeclare -fx " + fname
			} else if !defined {
				return nil, fmt.Errorf("%s: %s: flags of %s, which is not defined", name, stmt.Pos(), fname)
			}
			continue
		}
		fn, ok := stmt.Cmd.(*syntax.FuncDecl)
		if !ok || fn.Name == nil || stmt.Negated || stmt.Background || stmt.Coprocess || len(stmt.Redirs) > 0 || !validName(fn.Name.Value) {
			return nil, fmt.Errorf("%s: %s: not a function definition", name, stmt.Pos())
		}
		// The definition is replayed as printed from its syntax tree, not
		// as the text read: a checkpoint is untrusted, and only what
		// parsed as one function definition is kept.
		var b strings.Builder
		if err := syntax.NewPrinter().Print(&b, stmt); err != nil {
			return nil, fmt.Errorf("%s: %s: %w", name, stmt.Pos(), err)
		}
		funcs[fn.Name.Value] = b.String()
	}
	return funcs, nil
}

// funcFlags reports whether stmt is `declare -fFLAGS NAME` as `declare -f`
// prints it after an exported, readonly or traced function (FLAGS of x, r
// and t), and whether the function is exported.
func funcFlags(stmt *syntax.Stmt) (name string, export, ok bool) {
	d, isDecl := stmt.Cmd.(*syntax.DeclClause)
	if !isDecl || d.Variant == nil || d.Variant.Value != "declare" || len(d.Args) != 2 || stmt.Negated || stmt.Background || stmt.Coprocess || len(stmt.Redirs) > 0 {
		return "", false, false
	}
	flag, fn := d.Args[0], d.Args[1]
	if !flag.Naked || flag.Name != nil || flag.Value == nil || !fn.Naked || fn.Name == nil || fn.Value != nil || fn.Array != nil || fn.Index != nil || !validName(fn.Name.Value) {
		return "", false, false
	}
	flags, err := literal(flag.Value)
	if err != nil || len(flags) < 3 || !strings.HasPrefix(flags, "-f") || strings.Trim(flags[2:], "xrt") != "" {
		return "", false, false
	}
	return fn.Name.Value, strings.Contains(flags[2:], "x"), true
}

// ParseOptions parses the output of `shopt -p`, `set +o` and `umask -p`.
func ParseOptions(data []byte, name string) (map[string]string, error) {
	f, err := parse(data, name)
	if err != nil {
		return nil, err
	}
	opts := map[string]string{}
	for _, stmt := range f.Stmts {
		call, ok := stmt.Cmd.(*syntax.CallExpr)
		if ok && len(call.Args) == 2 {
			// umask -p: the file-creation mask, which a phase may set
			// (umask 0027 in preConfigure) for the phases after it.
			cmd, err := literal(call.Args[0])
			if err != nil {
				return nil, err
			}
			mask, err := literal(call.Args[1])
			if err != nil {
				return nil, err
			}
			if cmd != "umask" || !octalMask(mask) {
				return nil, fmt.Errorf("%s: %s: not an option command", name, stmt.Pos())
			}
			opts["umask"] = "umask " + mask
			continue
		}
		if !ok || len(call.Args) != 3 {
			return nil, fmt.Errorf("%s: %s: not an option command", name, stmt.Pos())
		}
		var words [3]string
		for i, a := range call.Args {
			if words[i], err = literal(a); err != nil {
				return nil, err
			}
		}
		switch {
		case !optionName(words[2]):
			return nil, fmt.Errorf("%s: %s: %q is not an option name", name, stmt.Pos(), words[2])
		case words[0] == "shopt" && (words[1] == "-s" || words[1] == "-u"),
			words[0] == "set" && (words[1] == "-o" || words[1] == "+o"):
			opts[words[0]+" "+words[2]] = strings.Join(words[:], " ")
		default:
			return nil, fmt.Errorf("%s: %s: not an option command", name, stmt.Pos())
		}
	}
	return opts, nil
}

// Declare returns a bash command that gives v its value at global scope.
func (v *Var) Declare() (string, error) {
	flags := strings.ReplaceAll(v.Flags, "r", "")
	var b strings.Builder
	b.WriteString("declare -g")
	if flags != "" {
		b.WriteString(" -" + flags)
	}
	b.WriteString(" " + v.Name)
	if !v.Set {
		return b.String(), nil
	}
	b.WriteString("=")
	if v.Kind == Scalar {
		q, err := quote(v.Value)
		if err != nil {
			return "", fmt.Errorf("variable %s: %w", v.Name, err)
		}
		b.WriteString(q)
		return b.String(), nil
	}
	b.WriteString("(")
	for i, e := range v.Elems {
		if i > 0 {
			b.WriteString(" ")
		}
		key := e.Key
		if v.Kind == Associative {
			q, err := quote(e.Key)
			if err != nil {
				return "", fmt.Errorf("variable %s: %w", v.Name, err)
			}
			if q == e.Key {
				// A word that needs no quotes elsewhere may inside [ ]: `]`.
				q = "'" + q + "'"
			}
			key = q
		} else if _, err := strconv.Atoi(key); err != nil {
			return "", fmt.Errorf("variable %s: index %q is not a number", v.Name, key)
		}
		val, err := quote(e.Value)
		if err != nil {
			return "", fmt.Errorf("variable %s: %w", v.Name, err)
		}
		fmt.Fprintf(&b, "[%s]=%s", key, val)
	}
	b.WriteString(")")
	return b.String(), nil
}

func quote(s string) (string, error) {
	if s == "" {
		return "''", nil
	}
	return syntax.Quote(s, syntax.LangBash)
}

// names returns the keys of m, sorted.
func names[T any](m map[string]T) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// octalMask reports whether s is a umask as `umask -p` prints it: one to
// four octal digits.
func octalMask(s string) bool {
	if len(s) == 0 || len(s) > 4 {
		return false
	}
	for _, c := range s {
		if c < '0' || c > '7' {
			return false
		}
	}
	return true
}

// optionName reports whether s can name a shopt or set -o option: the
// replay script joins it into a command.
func optionName(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// validName reports whether s can name a function that the replay script
// defines: bash allows more, but the hook and setup.sh use these.
func validName(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.ContainsRune("_-.:+@", c)) {
			return false
		}
	}
	return true
}
