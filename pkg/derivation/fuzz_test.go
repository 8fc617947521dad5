package derivation

import (
	"bytes"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

// FuzzParse checks that whatever Parse accepts, Write writes back as text
// that parses to the same derivation and is written back byte for byte
// the same; and that input Nix could have written (no escapes Nix does not
// write) is reproduced exactly.
func FuzzParse(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.drv")
	for _, name := range files {
		data, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte(`Derive([],[],[],"","",[],[])`))
	f.Add([]byte(`Derive([("out","/s/o","","")],[("/s/a.drv",["out"])],["/s/b"],"s","/b",["-e"],[("a","x\ny\\\"")])`))
	f.Fuzz(func(t *testing.T, data []byte) {
		d, err := Parse("fuzz.drv", data)
		if err != nil {
			if !IsSyntaxError(err) {
				t.Fatalf("error %v is not a SyntaxError", err)
			}
			return
		}
		out := d.Bytes()
		d2, err := Parse("written.drv", out)
		if err != nil {
			t.Fatalf("written back does not parse: %v\n%q", err, out)
		}
		if !reflect.DeepEqual(normal(d), normal(d2)) {
			t.Fatalf("written back parses differently:\n%+v\n%+v", d, d2)
		}
		if out2 := d2.Bytes(); !bytes.Equal(out, out2) {
			t.Fatalf("second write differs:\n%q\n%q", out, out2)
		}
		if canonical(data) && !bytes.Equal(out, data) {
			t.Fatalf("written back differs from the input:\n%q\n%q", data, out)
		}
	})
}

// normal makes nil and empty lists equal.
func normal(d *Derivation) *Derivation {
	c := *d
	for _, l := range []*[]string{&c.InputSrcs, &c.Args} {
		if len(*l) == 0 {
			*l = nil
		}
	}
	if len(c.Outputs) == 0 {
		c.Outputs = nil
	}
	if len(c.Env) == 0 {
		c.Env = nil
	}
	c.InputDrvs = nil
	for _, in := range d.InputDrvs {
		if len(in.Outputs) == 0 {
			in.Outputs = nil
		}
		c.InputDrvs = append(c.InputDrvs, in)
	}
	return &c
}

// canonical reports whether data uses only the escapes Nix writes, and
// no raw control characters it would escape.
func canonical(data []byte) bool {
	if len(data) > 0 && data[len(data)-1] != ')' {
		return false // white space after the derivation
	}
	for i := 0; i < len(data); i++ {
		switch data[i] {
		case '\\':
			if i+1 >= len(data) || bytes.IndexByte([]byte(`"\nrt`), data[i+1]) < 0 {
				return false
			}
			i++
		case '\n', '\r', '\t':
			return false
		}
	}
	return true
}
