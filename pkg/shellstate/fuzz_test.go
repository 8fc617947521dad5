package shellstate

import (
	"os/exec"
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzDeclareRoundTrip checks, against a real bash, that a value rendered
// by Declare, read back by bash and printed with declare -p, parses to the
// same value.
func FuzzDeclareRoundTrip(f *testing.F) {
	bash := requireBash(f)
	for _, s := range []string{"", "plain", "two words", "it's", `a"b`, "$HOME `x` \\", "l1\nl2\t", "\x01\x7f", "héllo", "[0]=x"} {
		f.Add(s, "key")
	}
	f.Fuzz(func(t *testing.T, value, key string) {
		if strings.ContainsRune(value, 0) || strings.ContainsRune(key, 0) || key == "" || !utf8.ValidString(value+key) {
			t.Skip("bash strings hold no NUL; invalid UTF-8 is quoted byte-wise by bash")
		}
		vars := []*Var{
			{Name: "s", Kind: Scalar, Set: true, Value: value},
			{Name: "a", Flags: "a", Kind: Indexed, Set: true, Elems: []Elem{{"0", value}, {"3", key}}},
			{Name: "m", Flags: "A", Kind: Associative, Set: true, Elems: []Elem{{key, value}}},
		}
		var script strings.Builder
		script.WriteString("source ../../hooks/vanilla-hook.sh\nf() {\n")
		for _, v := range vars {
			decl, err := v.Declare()
			if err != nil {
				t.Skip(err)
			}
			script.WriteString(decl + "\n")
		}
		script.WriteString("}\nf\ndeclare -p s a m\necho '# associative arrays'\n_vanillaDeclareAssoc\n")
		out, err := exec.Command(bash, "-c", script.String()).Output()
		if err != nil {
			t.Fatalf("bash rejected %q: %v", script.String(), err)
		}
		plain, assoc, _ := strings.Cut(string(out), "# associative arrays\n")
		got, err := ParseVars([]byte(plain), "declare -p")
		if err != nil {
			t.Fatalf("parse %q: %v", out, err)
		}
		if err := addAssoc(got, []byte(assoc), "assoc"); err != nil {
			t.Fatalf("parse %q: %v", out, err)
		}
		for _, want := range vars {
			if !got[want.Name].Equal(want) {
				t.Errorf("%s: got %+v, want %+v", want.Name, got[want.Name], want)
			}
		}
	})
}

// FuzzParse checks that the parsers never panic on arbitrary input.
func FuzzParse(f *testing.F) {
	f.Add([]byte("declare -ax a=([0]=\"x\")\ndeclare -- b\n"), []byte("f () \n{ \n    :\n}\n"))
	f.Fuzz(func(t *testing.T, vars, funcs []byte) {
		ParseVars(vars, "vars")
		ParseFuncs(funcs, "funcs")
		ParseOptions(vars, "opts")
	})
}
