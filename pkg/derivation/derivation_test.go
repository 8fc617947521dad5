package derivation

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// The files in testdata are derivations nix-instantiate (Nix 2.8) wrote
// for the test bed's fixtures: single-file and structured-attrs, split.
func TestRoundTripNixFiles(t *testing.T) {
	files, err := filepath.Glob("testdata/*.drv")
	if err != nil || len(files) == 0 {
		t.Fatalf("no testdata: %v", err)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			d, err := ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			if got := d.Bytes(); !bytes.Equal(got, data) {
				t.Errorf("written back differs:\n got %q\nwant %q", got, data)
			}
			// Structured attributes are one variable, __json.
			v, ok := d.Getenv("vanillaStage")
			if j, structured := d.Getenv("__json"); structured {
				v, ok = "final", strings.Contains(j, `"vanillaStage":"final"`)
			}
			if !ok || v != "final" {
				t.Errorf("vanillaStage = %q, %v; want final", v, ok)
			}
			if len(d.Outputs) != 1 || d.Outputs[0].Name != "out" || !strings.HasPrefix(d.Outputs[0].Path, "/nix/store/") {
				t.Errorf("outputs = %+v", d.Outputs)
			}
			if d.System != "x86_64-linux" || d.Builder != "/bin/bash" || len(d.Args) != 2 {
				t.Errorf("system %q builder %q args %q", d.System, d.Builder, d.Args)
			}
		})
	}
}

func TestParseValues(t *testing.T) {
	src := `Derive([("dev","/s/d","",""),("out","/s/o","r:sha256","ab")],[("/s/x.drv",["lib","out"])],["/s/src"],"sys","/b",["-e","a\"b"],[("k","line1\nline2\t\\ \r"),("e","")])`
	d, err := Parse("t.drv", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	want := &Derivation{
		Outputs:   []Output{{"dev", "/s/d", "", ""}, {"out", "/s/o", "r:sha256", "ab"}},
		InputDrvs: []InputDrv{{"/s/x.drv", []string{"lib", "out"}}},
		InputSrcs: []string{"/s/src"},
		System:    "sys", Builder: "/b",
		Args: []string{"-e", `a"b`},
		Env:  []EnvVar{{"k", "line1\nline2\t\\ \r"}, {"e", ""}},
	}
	if !reflect.DeepEqual(d, want) {
		t.Errorf("got %+v\nwant %+v", d, want)
	}
	if got := d.String(); got != src {
		t.Errorf("written back:\n got %s\nwant %s", got, src)
	}
	if o, ok := d.Output("out"); !ok || o.Hash != "ab" {
		t.Errorf("Output(out) = %+v, %v", o, ok)
	}
	if m := d.EnvMap(); m["e"] != "" || len(m) != 2 {
		t.Errorf("EnvMap = %q", m)
	}
}

func TestParseEmpty(t *testing.T) {
	src := `Derive([],[],[],"","",[],[])`
	d, err := Parse("e.drv", []byte(src+"\n"))
	if err != nil {
		t.Fatal(err)
	}
	if d.String() != src {
		t.Errorf("written back %s", d)
	}
}

// An escape Nix does not write (\a) reads as the byte; writing it back
// gives the form Nix writes.
func TestParseOtherEscape(t *testing.T) {
	d, err := Parse("x.drv", []byte(`Derive([],[],[],"\a\$","",[],[])`))
	if err != nil {
		t.Fatal(err)
	}
	if d.System != "a$" {
		t.Errorf("system %q", d.System)
	}
}

func TestSyntaxErrors(t *testing.T) {
	for _, tc := range []struct {
		name, src string
		line, col int
		msg       string
	}{
		{"empty", ``, 1, 1, `not a derivation`},
		{"other", `{"x":1}`, 1, 1, `not a derivation`},
		{"dynamic", `DrvWithVersion("xp-dyn-drv",[])`, 1, 1, `DrvWithVersion`},
		{"truncated", `Derive([("out","/s/o"`, 1, 22, `expected ',', found end of file`},
		{"unclosed string", `Derive([("out","/s/o`, 1, 16, `string not closed`},
		{"bad separator", `Derive([("out","/s/o","","");("dev","","","")],`, 1, 29, `expected ',' or ']', found ';'`},
		{"second line", "Derive([],[],[],\"a\nb\",\"\",[],[])\n,", 3, 1, `unexpected ',' after the derivation`},
		{"nested outputs", `Derive([],[("/s/x.drv",(["out"],[]))],[],"","",[],[])`, 1, 24, `nested outputs`},
		{"missing field", `Derive([],[],[],"","",[])`, 1, 25, `expected ','`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse("bad.drv", []byte(tc.src))
			var se *SyntaxError
			if !errors.As(err, &se) {
				t.Fatalf("error %v (%T), want a *SyntaxError", err, err)
			}
			if se.File != "bad.drv" || se.Line != tc.line || se.Col != tc.col || !strings.Contains(se.Msg, tc.msg) {
				t.Errorf("got %s (offset %d), want bad.drv:%d:%d: …%s…", se, se.Offset, tc.line, tc.col, tc.msg)
			}
			if !IsSyntaxError(err) || !strings.HasPrefix(err.Error(), "bad.drv:") {
				t.Errorf("error %q", err)
			}
		})
	}
}

func TestReadFileErrors(t *testing.T) {
	dir := t.TempDir()
	if _, err := ReadFile(filepath.Join(dir, "missing.drv")); !errors.Is(err, os.ErrNotExist) || !strings.Contains(err.Error(), "missing.drv") {
		t.Errorf("missing file: %v", err)
	}
	bad := filepath.Join(dir, "bad.drv")
	if err := os.WriteFile(bad, []byte("Derive(["), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadFile(bad); err == nil || !strings.HasPrefix(err.Error(), bad+":1:9: ") {
		t.Errorf("bad file: %v", err)
	}
}
