package derivation

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"strings"
)

// Derivation is a parsed .drv file. Its lists keep the file's order.
type Derivation struct {
	Outputs   []Output
	InputDrvs []InputDrv
	InputSrcs []string
	System    string
	Builder   string
	Args      []string
	Env       []EnvVar
}

// Output is one output of a derivation. HashAlgo and Hash are empty but
// for fixed-output derivations ("sha256", "r:sha256", …); Path is empty
// for content-addressed and deferred outputs.
type Output struct {
	Name, Path, HashAlgo, Hash string
}

// InputDrv is a derivation the derivation depends on, with the outputs of
// it that it uses.
type InputDrv struct {
	Path    string
	Outputs []string
}

// EnvVar is one attribute of the builder's environment.
type EnvVar struct {
	Name, Value string
}

// Getenv returns the value of the environment variable name, and whether
// the derivation sets it.
func (d *Derivation) Getenv(name string) (string, bool) {
	for _, e := range d.Env {
		if e.Name == name {
			return e.Value, true
		}
	}
	return "", false
}

// EnvMap returns the environment as a map; of a name set twice (which Nix
// never writes), the last value.
func (d *Derivation) EnvMap() map[string]string {
	m := make(map[string]string, len(d.Env))
	for _, e := range d.Env {
		m[e.Name] = e.Value
	}
	return m
}

// Output returns the output called name, and whether there is one.
func (d *Derivation) Output(name string) (Output, bool) {
	for _, o := range d.Outputs {
		if o.Name == name {
			return o, true
		}
	}
	return Output{}, false
}

// MaxSize bounds the size of a file ReadFile reads: 64 MiB, far more than
// the largest derivations of nixpkgs (a few MB of environment).
const MaxSize = 64 << 20

// ReadFile reads and parses the .drv file name.
func ReadFile(name string) (*Derivation, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxSize+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", name, err)
	}
	if len(data) > MaxSize {
		return nil, fmt.Errorf("read %s: larger than %d bytes, not a derivation", name, MaxSize)
	}
	return Parse(name, data)
}

// Bytes returns the derivation in ATerm form.
func (d *Derivation) Bytes() []byte {
	var b bytes.Buffer
	d.Write(&b)
	return b.Bytes()
}

// String returns the derivation in ATerm form.
func (d *Derivation) String() string { return string(d.Bytes()) }

// Write writes the derivation in ATerm form, as Nix writes it (without a
// trailing newline).
func (d *Derivation) Write(w io.Writer) (int64, error) {
	var b strings.Builder
	b.WriteString("Derive([")
	for i, o := range d.Outputs {
		comma(&b, i)
		b.WriteByte('(')
		quoteAll(&b, o.Name, o.Path, o.HashAlgo, o.Hash)
		b.WriteByte(')')
	}
	b.WriteString("],[")
	for i, in := range d.InputDrvs {
		comma(&b, i)
		b.WriteByte('(')
		quote(&b, in.Path)
		b.WriteString(",[")
		quoteAll(&b, in.Outputs...)
		b.WriteString("])")
	}
	b.WriteString("],[")
	quoteAll(&b, d.InputSrcs...)
	b.WriteString("],")
	quoteAll(&b, d.System, d.Builder)
	b.WriteString(",[")
	quoteAll(&b, d.Args...)
	b.WriteString("],[")
	for i, e := range d.Env {
		comma(&b, i)
		b.WriteByte('(')
		quoteAll(&b, e.Name, e.Value)
		b.WriteByte(')')
	}
	b.WriteString("])")
	n, err := io.WriteString(w, b.String())
	return int64(n), err
}

func comma(b *strings.Builder, i int) {
	if i > 0 {
		b.WriteByte(',')
	}
}

func quoteAll(b *strings.Builder, ss ...string) {
	for i, s := range ss {
		comma(b, i)
		quote(b, s)
	}
}

// quote writes s as Nix's printString does.
func quote(b *strings.Builder, s string) {
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '"', '\\':
			b.WriteByte('\\')
			b.WriteByte(c)
		case '\n':
			b.WriteString(`\n`)
		case '\r':
			b.WriteString(`\r`)
		case '\t':
			b.WriteString(`\t`)
		default:
			b.WriteByte(c)
		}
	}
	b.WriteByte('"')
}
